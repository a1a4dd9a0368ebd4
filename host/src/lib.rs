//! Skyport's host: a wasmtime runtime that serves Spin applications (`spin.toml`,
//! manifest v2) with Spin's meaning, plus limits, a compile cache and metrics.
//!
//! `manifest`, `runtime_config`, `routes`, `allowed_hosts` and `variables` read
//! and check configuration; `app` turns it into pre-instantiated components
//! (`dependencies` checks their names as Spin does, `compose` and `deny`
//! wire them, `engine` compiles and caches);
//! `server` serves requests with `state`, `outbound` and `spin_api` supplying
//! what a guest may reach.

pub mod allowed_hosts;
pub mod app;
pub mod blocked_networks;
pub mod build;
pub mod compose;
pub mod cpu;
pub mod cron;
pub mod deny;
pub mod dependencies;
pub mod engine;
pub mod error;
pub mod files;
pub mod instance;
pub mod manifest;
pub mod metrics;
pub mod outbound;
pub mod routes;
pub mod runtime_config;
pub mod server;
pub mod spin_api;
pub mod state;
pub mod variables;
