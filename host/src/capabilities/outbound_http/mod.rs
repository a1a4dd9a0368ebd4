//! Outbound HTTP: `wasi:http/outgoing-handler` limited to the component's
//! `allowed_outbound_hosts`, with the runtime config's timeouts and blocked
//! networks. `allowed_hosts.rs` parses and matches the entries,
//! `blocked_networks.rs` the refused address ranges, and `send.rs` checks and
//! sends each request (or chains it to another component).

pub mod allowed_hosts;
pub mod blocked_networks;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use wasmtime::component::Linker;

pub use allowed_hosts::{AllowList, AllowedHost};
pub use blocked_networks::BlockedNetworks;
pub use send::{Chain, ChainFuture, OutboundHooks, OutboundTimeouts};

use super::variables::{check_template, Template};
use super::{Capability, GrantContext, InstanceContext, ManifestContext, RuntimeContext};
use crate::error::ConfigError;
use crate::manifest::Component;
use crate::state::HostState;

/// The outbound HTTP capability.
pub struct OutboundHttp;

// ---------------------------------------------------------------------------
// Manifest section: `allowed_outbound_hosts = ["https://…", "{{ var }}", …]`.
// ---------------------------------------------------------------------------

const ENTRY_FIX: &str = "write entries as `scheme://host[:port]`, such as `https://*.example.com` or `http://127.0.0.1:8080`";

// ---------------------------------------------------------------------------
// Runtime-config section: `[outbound_http]` (timeouts) and Spin's
// `[outbound_networking]` (`block_networks`).
// ---------------------------------------------------------------------------

/// `[outbound_http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutboundHttp {
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
    /// A PEM file of extra certificate authorities to trust beside the
    /// public ones (e.g. the emulator's with `skyport sim --tls`).
    ca_file: Option<String>,
}

/// Spin's `[outbound_networking]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutboundNetworking {
    #[serde(default)]
    block_networks: Vec<String>,
    /// Accepted as Spin does; skyport does not cap connections.
    #[serde(default)]
    max_socket_connections: Option<usize>,
    #[serde(default)]
    max_total_connections: Option<usize>,
}

/// Both tables, as written.
#[derive(Debug, Default)]
pub struct RuntimeSection {
    pub outbound_http: Option<RawOutboundHttp>,
    pub outbound_networking: Option<RawOutboundNetworking>,
}

/// What every component's requests share: timeouts, blocked networks, and
/// the authorities TLS trusts.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub timeouts: OutboundTimeouts,
    pub blocked: Arc<BlockedNetworks>,
    pub tls: Trust,
}

/// The authorities outbound TLS trusts: the public roots, plus any added by
/// `ca_file` or by the host itself (the sandbox's emulator). Built once, not
/// per request.
#[derive(Debug, Clone)]
pub struct Trust {
    extra: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub client: Arc<rustls::ClientConfig>,
}

impl Default for Trust {
    fn default() -> Self {
        Trust::with(Vec::new()).expect("the public roots are usable")
    }
}

impl Trust {
    fn with(extra: Vec<rustls::pki_types::CertificateDer<'static>>) -> Result<Trust, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        for cert in &extra {
            roots
                .add(cert.clone())
                .map_err(|e| format!("a certificate is not a usable authority: {e}"))?;
        }
        let client = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Trust {
            extra,
            client: Arc::new(client),
        })
    }

    /// Whether authorities beyond the public roots are trusted.
    pub fn has_extra(&self) -> bool {
        !self.extra.is_empty()
    }

    /// These roots plus every certificate in the PEM file `path`.
    pub fn adding(&self, path: &std::path::Path) -> Result<Trust, String> {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut extra = self.extra.clone();
        let before = extra.len();
        for cert in certs {
            extra.push(
                cert.map_err(|e| {
                    format!("`{}` is not a PEM certificate file: {e}", path.display())
                })?,
            );
        }
        if extra.len() == before {
            return Err(format!("`{}` holds no certificate", path.display()));
        }
        Trust::with(extra).map_err(|e| format!("in `{}`: {e}", path.display()))
    }
}

/// What one component may reach.
#[derive(Debug)]
pub struct Grant {
    pub allow: Arc<AllowList>,
    pub config: Config,
}

impl Capability for OutboundHttp {
    type RuntimeSection = RuntimeSection;
    type Config = Config;
    type Grant = Grant;
    type Instance = OutboundHooks;

    fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError> {
        for (i, entry) in component.allowed_outbound_hosts.iter().enumerate() {
            let field = format!("component.{}.allowed_outbound_hosts[{i}]", component.id);
            let t = check_template(ctx.file, &field, entry, ctx.app_variables)?;
            // Templated entries are parsed once the variables are resolved.
            if t.references().next().is_none() {
                AllowedHost::parse(entry)
                    .map_err(|p| ConfigError::new(ctx.file, &field, p, ENTRY_FIX))?;
            }
        }
        Ok(())
    }

    fn configure(section: RuntimeSection, ctx: &RuntimeContext<'_>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(n) = &section.outbound_networking {
            let blocked = BlockedNetworks::parse(&n.block_networks).map_err(|problem| {
                ConfigError::new(
                    ctx.file,
                    "outbound_networking.block_networks",
                    problem,
                    "list CIDR ranges such as `10.0.0.0/8`, and `private` for every non-public address",
                )
            })?;
            config.blocked = Arc::new(blocked);
            if n.max_socket_connections.is_some() || n.max_total_connections.is_some() {
                tracing::warn!("`max_socket_connections` and `max_total_connections` in [outbound_networking] are accepted but not enforced by skyport");
            }
        }
        if let Some(o) = &section.outbound_http {
            if let Some(ms) = o.connect_timeout_ms {
                config.timeouts.connect = Duration::from_millis(ms);
            }
            if let Some(ms) = o.timeout_ms {
                config.timeouts.total = Duration::from_millis(ms);
                config.timeouts.between_bytes = Duration::from_millis(ms);
            }
            if let Some(file) = &o.ca_file {
                config.tls = config.tls.adding(&ctx.dir.join(file)).map_err(|problem| {
                    ConfigError::new(
                        ctx.file,
                        "outbound_http.ca_file",
                        problem,
                        "name a PEM file of CA certificates, relative to the runtime config (e.g. the one `skyport sim --tls` writes)",
                    )
                })?;
            }
        }
        Ok(config)
    }

    fn grant(
        component: &Component,
        config: &Config,
        ctx: &GrantContext<'_>,
    ) -> Result<Grant, ConfigError> {
        let mut list = Vec::new();
        for (i, entry) in component.allowed_outbound_hosts.iter().enumerate() {
            let field = format!("component.{}.allowed_outbound_hosts[{i}]", component.id);
            let template = Template::parse(entry).map_err(|p| {
                ConfigError::new(
                    ctx.manifest,
                    &field,
                    p,
                    "write references as `{{ app_variable }}`",
                )
            })?;
            let rendered = template.render(ctx.values).map_err(|v| {
                ConfigError::new(
                    ctx.manifest,
                    &field,
                    format!("`{entry}` uses variable `{v}`, which has no value"),
                    format!("give `{v}` a value or a default"),
                )
            })?;
            // As on Spin: an entry that a variable leaves empty is an optional
            // endpoint left unset, and is skipped; an empty literal is an error.
            if template.references().next().is_some() && allowed_hosts::is_unset(&rendered.value) {
                continue;
            }
            // Messages quote the entry as written, so a secret never reaches a log.
            let host = AllowedHost::parse(&rendered.value).map_err(|p| {
                let p = if rendered.secret {
                    format!("`{entry}` does not render to a valid entry")
                } else {
                    p
                };
                ConfigError::new(
                    ctx.manifest,
                    &field,
                    p,
                    "write entries as `scheme://host[:port]`, such as `https://*.example.com`",
                )
            })?;
            list.push(host);
        }
        Ok(Grant {
            allow: Arc::new(AllowList::new(list)),
            config: config.clone(),
        })
    }

    fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
    }

    // ---------------------------------------------------------------------------
    // Per-instance state: the hooks wasi:http calls for every request.
    // ---------------------------------------------------------------------------

    fn instance(grant: &Arc<Grant>, ctx: &InstanceContext<'_>) -> OutboundHooks {
        OutboundHooks {
            component: ctx.component.clone(),
            allow: grant.allow.clone(),
            metrics: ctx.app.metrics.clone(),
            timeouts: grant.config.timeouts,
            blocked: grant.config.blocked.clone(),
            tls: grant.config.tls.clone(),
            chain: ctx
                .chaining
                .then(|| super::http_trigger::serve::chain(ctx.app)),
        }
    }
}
