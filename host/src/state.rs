//! What one run's `Store` holds: the WASI and wasi:http contexts, each
//! capability's per-instance state, the component's grants, and the limits
//! it runs under.
//!
//! A fresh [`HostState`] is made per run from the component's shared
//! [`Grants`], so nothing leaks from one request to the next.

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::{key_value, outbound_http, sqlite, variables};
use crate::runtime_config::Limits;

/// Everything a component was granted by its manifest, resolved at start-up:
/// one grant per capability, and what WASI gives it.
#[derive(Debug)]
pub struct Grants {
    pub component: Arc<str>,
    pub variables: Arc<variables::Grant>,
    /// Granted key-value labels and the database file behind each.
    pub key_value: Arc<key_value::Labels>,
    /// Granted SQLite labels and their database files.
    pub sqlite: Arc<key_value::Labels>,
    pub outbound_http: Arc<outbound_http::Grant>,
    pub environment: Vec<(String, String)>,
    /// Host directory → guest path, read-only.
    pub mounts: Vec<(PathBuf, String)>,
    pub limits: Limits,
}

/// Which limit ended a request, if one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    Memory,
    CpuTime,
    Timeout,
}

impl Kill {
    pub fn label(self) -> &'static str {
        match self {
            Kill::Memory => "memory",
            Kill::CpuTime => "cpu_time",
            Kill::Timeout => "timeout",
        }
    }
}

/// Why a request was answered before an instance existed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The body is larger than `max_body_bytes` (413).
    BodySize,
    /// The body did not arrive within `body_timeout_ms` (408).
    BodyTimeout,
    /// The body could not be read: the client went away or sent a malformed one (400).
    BodyError,
    /// `max_concurrency` instances of the component are running (503).
    Concurrency,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Refusal::BodySize => "body_size",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::BodyError => "body_error",
            Refusal::Concurrency => "concurrency",
        }
    }
}

/// The `T` of every `Store<T>`.
pub struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    /// WASI's and wasi:http's resources; each capability keeps its own.
    pub table: ResourceTable,
    /// Outbound HTTP's per-instance state (the hooks wasi:http calls).
    pub hooks: outbound_http::OutboundHooks,
    pub variables: variables::Instance,
    pub key_value: key_value::Instance,
    pub sqlite: sqlite::Instance,
    pub grants: Arc<Grants>,
    pub memory: MemoryLimiter,
    /// CPU time the guest has spent running Wasm.
    pub cpu_used: std::time::Duration,
    /// The thread and its CPU clock at the last epoch check.
    pub cpu_mark: Option<(std::thread::ThreadId, std::time::Duration)>,
    pub killed: Option<Kill>,
    /// The dependencies instantiated so far in this run, by index: each is
    /// made on its first call (`linking.rs`).
    pub dependencies: Vec<Option<wasmtime::component::Instance>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Caps linear memory; a refused growth traps with a message naming the limit.
pub struct MemoryLimiter {
    pub max: usize,
    pub exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.exceeded = true;
            wasmtime::bail!(
                "memory limit exceeded: the guest asked for {} MiB, its limit is {} MiB (raise `memory_mb` under [limits] in the runtime config)",
                desired >> 20,
                self.max >> 20
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
