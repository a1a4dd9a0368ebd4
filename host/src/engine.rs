//! The wasmtime engine skyport runs every component on, and the on-disk cache
//! of compiled components.
//!
//! Epoch interruption is always on (it enforces CPU-time limits); the pooling
//! allocator is used when the machine can reserve its address space, as Spin
//! does, and can be forced either way with `SKYPORT_POOLING=0|1`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: how often a running guest is checked against its CPU budget.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and whether it pools instances.
pub struct Runtime {
    pub engine: Engine,
    pub pooling: bool,
}

fn base_config() -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    c
}

fn pooling_config(max_memory: usize) -> PoolingAllocationConfig {
    let mut p = PoolingAllocationConfig::default();
    // Sized like Spin's defaults: a thousand concurrent instances. A request
    // that calls its dependencies holds one component instance per entry it
    // calls (each made on its first call, `linking.rs`) and a second fiber
    // stack for those calls, where a composition is one of each: instances
    // and stacks are counted for that, memories as before.
    p.total_component_instances(4000);
    p.total_memories(1000);
    p.total_tables(2000);
    p.total_stacks(2000);
    p.total_core_instances(4000);
    p.max_core_instances_per_component(200);
    p.max_memories_per_component(32);
    p.max_tables_per_component(64);
    p.max_memories_per_module(2);
    p.max_tables_per_module(2);
    p.max_component_instance_size(4 << 20);
    p.max_core_instance_size(4 << 20);
    p.max_memory_size(max_memory);
    // What stays mapped after an instance ends (the rest is given back to
    // the kernel): reset by hand, dirty pages only, for the next instance.
    // Spin's environment knobs, under Spin's names.
    p.linear_memory_keep_resident(knob(
        "SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT",
        LINEAR_MEMORY_KEEP_RESIDENT,
    ));
    p.table_keep_resident(knob("SPIN_WASMTIME_TABLE_KEEP_RESIDENT", 64 << 10));
    // Where the kernel can say which pages an instance wrote (PAGEMAP_SCAN,
    // Linux 6.7+), only those are reset; elsewhere the whole kept region is.
    p.pagemap_scan(match std::env::var("SKYPORT_PAGEMAP_SCAN").as_deref() {
        Ok("0") => wasmtime::Enabled::No,
        _ => wasmtime::Enabled::Auto,
    });
    p
}

/// Spin's 2 MiB. Measured (bench/app.sh's loads, one run each): without
/// PAGEMAP_SCAN, zeroing the whole kept region was a quarter of the host's
/// CPU on `GET /api/v1/accounts` (about 3,400 req/s; 5,000–5,700 at 256 KiB);
/// with it, 6,500–6,800 req/s at 2–4 MiB, and the hello component went from
/// about 14,000 to 26,000–29,000.
const LINEAR_MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// A byte count from the environment, or `default` when unset or not a number.
fn knob(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            tracing::warn!("{name}={v} is not a byte count; using {default}");
            default
        }),
        Err(_) => default,
    }
}

impl Runtime {
    /// Builds the engine; `max_memory` is the largest memory limit any
    /// component has, which sizes the pool's slots.
    pub fn new(max_memory: usize) -> anyhow::Result<Runtime> {
        let want_pooling = match std::env::var("SKYPORT_POOLING").as_deref() {
            Ok("0") => false,
            Ok("1") => true,
            _ => true,
        };
        if want_pooling {
            let mut c = base_config();
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
                max_memory,
            )));
            match Engine::new(&c) {
                Ok(engine) => {
                    return Ok(Runtime {
                        engine,
                        pooling: true,
                    })
                }
                Err(e) if std::env::var("SKYPORT_POOLING").as_deref() == Ok("1") => {
                    return Err(anyhow::Error::from(e)
                        .context("SKYPORT_POOLING=1 but the pooling allocator is unavailable"))
                }
                Err(e) => {
                    tracing::info!("pooling allocator unavailable ({e:#}); instantiating on demand")
                }
            }
        }
        Ok(Runtime {
            engine: Engine::new(&base_config())?,
            pooling: false,
        })
    }

    /// Advances the epoch every [`EPOCH_TICK`] for as long as the engine lives.
    pub fn start_epoch_ticker(&self) {
        let weak = self.engine.weak();
        std::thread::Builder::new()
            .name("skyport-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            })
            .expect("spawning the epoch thread");
    }
}

/// Compiled components on disk, keyed by content hash and engine config.
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// How a component was obtained, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    FromCache,
    Fresh,
}

impl CompileCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        CompileCache { dir }
    }

    /// The default location: `$XDG_CACHE_HOME/skyport` or `~/.cache/skyport`.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
            .map(|d| d.join("skyport"))
    }

    fn key(engine: &Engine, bytes: &[u8]) -> String {
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let mut h = Sha256::new();
        h.update(bytes);
        h.update(engine_hash.finish().to_le_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Loads `bytes` as a component, from the cache when it holds a compatible
    /// compilation, otherwise compiling and storing it.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, Compiled)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, bytes)?, Compiled::Fresh));
        };
        let path = dir.join(format!("{}.cwasm", Self::key(engine, bytes)));
        if path.exists() {
            // SAFETY: the file was written by `precompile_component` for an
            // engine with this compatibility hash (it is in the key), and the
            // cache directory belongs to this user.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, Compiled::FromCache)),
                Err(e) => {
                    tracing::warn!("ignoring unreadable cache entry {}: {e:#}", path.display())
                }
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        match write_atomically(dir, &path, &compiled) {
            // Mapped from the file, as a later start will: the code is then
            // file-backed, and `perf` names guest functions from it.
            // SAFETY: written just above from this engine's compilation.
            Ok(()) => {
                if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
                    return Ok((c, Compiled::Fresh));
                }
            }
            Err(e) => {
                tracing::warn!("cannot write the compile cache at {}: {e:#}", dir.display())
            }
        }
        // SAFETY: produced just above by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, Compiled::Fresh))
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Shared handle to the runtime.
pub type SharedRuntime = Arc<Runtime>;
