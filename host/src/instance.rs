//! One fresh `Store` per run, whatever triggered it (an HTTP request, a
//! chained request, a cron tick): the component's grants as WASI context and
//! host state, its memory limiter, and CPU time charged against its budget.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::app::{App, Prepared};
use crate::capabilities::key_value::KeyValue;
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::sqlite::Sqlite;
use crate::capabilities::variables::Variables;
use crate::capabilities::{Capability, InstanceContext};
use crate::state::{HostState, Kill, MemoryLimiter};

/// A store for one run of `prepared`; `chaining` gives it service chaining
/// (HTTP-triggered runs only, as on Spin).
pub fn new_store(
    app: &Arc<App>,
    prepared: &Prepared,
    chaining: bool,
) -> anyhow::Result<Store<HostState>> {
    let grants = prepared.grants.clone();
    let mut wasi = WasiCtxBuilder::new();
    wasi.envs(&grants.environment)
        .inherit_stdout()
        .inherit_stderr();
    // Network access goes through wasi:http and its allow-list only.
    wasi.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    for (host_dir, guest) in &grants.mounts {
        wasi.preopened_dir(host_dir, guest, FsPerms::ReadOnly)?;
    }
    let limits = grants.limits;
    let ctx = InstanceContext {
        app,
        component: &grants.component,
        chaining,
    };
    let state = HostState {
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: OutboundHttp::instance(&grants.outbound_http, &ctx),
        variables: Variables::instance(&grants.variables, &ctx),
        key_value: KeyValue::instance(&grants.key_value, &ctx),
        sqlite: Sqlite::instance(&grants.sqlite, &ctx),
        grants: grants.clone(),
        memory: MemoryLimiter {
            max: limits.memory,
            exceeded: false,
        },
        cpu_used: std::time::Duration::ZERO,
        cpu_mark: None,
        killed: None,
        dependencies: Vec::new(),
    };
    let mut store = Store::new(&app.runtime.engine, state);
    store.limiter(|s| &mut s.memory);
    // The callback runs only while Wasm executes. Each call adds the thread's
    // CPU time spent since the previous call on the same thread, so time spent
    // waiting on I/O or descheduled on a busy machine is not charged.
    let budget = limits.cpu_time;
    let cpu_ms = budget.as_millis();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        let s = ctx.data_mut();
        let now = (std::thread::current().id(), crate::cpu::thread_time());
        if let Some((thread, at)) = s.cpu_mark {
            if thread == now.0 {
                s.cpu_used += now.1.saturating_sub(at);
            }
        }
        s.cpu_mark = Some(now);
        if s.cpu_used > budget {
            s.killed = Some(Kill::CpuTime);
            wasmtime::bail!("CPU time limit of {cpu_ms} ms exceeded (raise `cpu_time_ms` under [limits] in the runtime config)");
        }
        Ok(UpdateDeadline::Yield(1))
    });
    Ok(store)
}
