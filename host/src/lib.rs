//! Skyport's host: a wasmtime runtime that serves Spin applications (`spin.toml`,
//! manifest v2) with Spin's meaning, plus limits, a compile cache and metrics.
//!
//! `capabilities` holds one module per capability — the HTTP and cron
//! triggers, variables, key-value, SQLite and outbound HTTP — each with its
//! manifest section, runtime-config section, linker setup and per-instance
//! state; `manifest` and `runtime_config` read the two files and hand each
//! capability its part; `app` turns them into pre-instantiated components
//! (`dependencies` and `ids` check names as Spin does, `compose` checks and
//! plans dependencies, `linking` instantiates them on their first call and
//! `deny` cuts off what they do not inherit, `engine` compiles and caches); `instance` makes one run's
//! `Store` (`state`) with every capability's state.

pub mod app;
pub mod build;
pub mod capabilities;
pub mod compose;
pub mod cpu;
pub mod deny;
pub mod dependencies;
pub mod engine;
pub mod error;
pub mod files;
pub mod ids;
pub mod instance;
pub mod linking;
pub mod manifest;
pub mod metrics;
pub mod plug;
pub mod runtime_config;
pub mod state;
