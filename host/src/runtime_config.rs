//! The runtime-config file (`--runtime-config-file`): its schema, whose
//! tables each capability module checks (variables providers, key-value
//! stores, SQLite databases, outbound HTTP), plus skyport's limits, which
//! bound every run whatever triggers it.
//!
//! Paths in the file are relative to the file itself, as in Spin. Without a
//! file every label but `default` is refused and the limits take their defaults.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::capabilities::key_value::{KeyValue, Labels, RawStore};
use crate::capabilities::outbound_http::{
    self, OutboundHttp, RawOutboundHttp, RawOutboundNetworking,
};
use crate::capabilities::sqlite::Sqlite;
use crate::capabilities::variables::{self, RawProvider, Variables};
use crate::capabilities::{Capability, RuntimeContext};
use crate::error::{from_toml, ConfigError};

/// The file as written; each table's type belongs to the capability that
/// reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    /// `variables`.
    #[serde(default)]
    variables_provider: Vec<RawProvider>,
    /// `variables`, under Spin's older name.
    #[serde(default)]
    config_provider: Vec<RawProvider>,
    /// `key_value`.
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
    /// `sqlite`.
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawStore>,
    /// `outbound_http`.
    #[serde(default)]
    outbound_http: Option<RawOutboundHttp>,
    /// `outbound_http`.
    #[serde(default)]
    outbound_networking: Option<RawOutboundNetworking>,
    #[serde(default)]
    limits: Option<RawLimits>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimitValues {
    memory_mb: Option<u64>,
    cpu_time_ms: Option<u64>,
    timeout_ms: Option<u64>,
    max_body_bytes: Option<u64>,
    body_timeout_ms: Option<u64>,
    max_concurrency: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(flatten)]
    defaults: RawLimitValues,
    #[serde(default)]
    component: BTreeMap<String, RawLimitValues>,
}

/// Resource limits for one component's requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The most linear memory one instance may hold, in bytes.
    pub memory: usize,
    /// The most time the guest may spend running Wasm for one request.
    pub cpu_time: Duration,
    /// The most wall-clock time one request may take, I/O included.
    pub timeout: Duration,
    /// The largest request body the host accepts, in bytes; it is read in
    /// full before an instance exists.
    pub max_body: u64,
    /// The most time the client may take to send the whole request body.
    pub body_timeout: Duration,
    /// The most instances of the component running at once.
    pub max_concurrency: usize,
}

impl Default for Limits {
    /// In the spirit of edge platforms: 128 MiB of memory; CPU time is more
    /// generous than a pure edge function's since OAuth callbacks and ARM
    /// calls run crypto and JSON work, and wall time covers slow upstreams.
    /// Request bodies: 1 MiB within 10 s; 256 instances of a component at once.
    fn default() -> Self {
        Limits {
            memory: 128 << 20,
            cpu_time: Duration::from_millis(1000),
            timeout: Duration::from_secs(60),
            max_body: 1 << 20,
            body_timeout: Duration::from_secs(10),
            max_concurrency: 256,
        }
    }
}

impl Limits {
    fn with(self, raw: &RawLimitValues) -> Limits {
        Limits {
            memory: raw
                .memory_mb
                .map(|m| (m as usize) << 20)
                .unwrap_or(self.memory),
            cpu_time: raw
                .cpu_time_ms
                .map(Duration::from_millis)
                .unwrap_or(self.cpu_time),
            timeout: raw
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.timeout),
            max_body: raw.max_body_bytes.unwrap_or(self.max_body),
            body_timeout: raw
                .body_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.body_timeout),
            max_concurrency: raw.max_concurrency.unwrap_or(self.max_concurrency),
        }
    }

    /// Refuses limits no request could live under; `section` is `limits` or
    /// `limits.component.<id>`.
    fn check(&self, path: &Path, section: &str) -> Result<(), ConfigError> {
        let refuse = |key: &str, problem: &str, fix: &str| {
            Err(ConfigError::new(
                path,
                format!("{section}.{key}"),
                problem.to_string(),
                fix.to_string(),
            ))
        };
        if self.memory < 1 << 20 {
            return refuse(
                "memory_mb",
                "a component needs at least 1 MiB",
                "raise `memory_mb`",
            );
        }
        if self.body_timeout.is_zero() {
            return refuse(
                "body_timeout_ms",
                "a zero body timeout would refuse every request with a body",
                "give `body_timeout_ms` a positive number of milliseconds",
            );
        }
        if self.max_concurrency == 0 || self.max_concurrency > MAX_CONCURRENCY {
            return refuse(
                "max_concurrency",
                &format!("`max_concurrency` must be between 1 and {MAX_CONCURRENCY}"),
                "give `max_concurrency` a number in that range",
            );
        }
        Ok(())
    }
}

/// The largest `max_concurrency` accepted.
const MAX_CONCURRENCY: usize = 1 << 20;

/// The checked runtime config: each capability's part, and the limits.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub variables: variables::Config,
    pub key_value: Labels,
    pub sqlite: Labels,
    pub outbound_http: outbound_http::Config,
    default_limits: Limits,
    component_limits: BTreeMap<String, Limits>,
}

impl RuntimeConfig {
    /// The config used without a file: the env provider, `default` labels in
    /// `state_dir`, default limits.
    pub fn defaults(state_dir: &Path) -> Self {
        Self::from_raw(Path::new(""), RawRuntimeConfig::default(), state_dir)
            .expect("the empty runtime config is valid")
    }

    /// Reads `path`; `state_dir` holds the `default` labels unless the file maps them.
    pub fn load(path: &Path, state_dir: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                path,
                "",
                format!("cannot read the runtime config: {e}"),
                "check the path given to `--runtime-config-file`",
            )
        })?;
        Self::parse(path, &text, state_dir)
    }

    pub fn parse(path: &Path, text: &str, state_dir: &Path) -> Result<Self, ConfigError> {
        let raw: RawRuntimeConfig = toml::from_str(text).map_err(|e| from_toml(path, e, text))?;
        Self::from_raw(path, raw, state_dir)
    }

    /// Hands each capability its tables, then checks the limits.
    fn from_raw(path: &Path, raw: RawRuntimeConfig, state_dir: &Path) -> Result<Self, ConfigError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let ctx = RuntimeContext {
            file: path,
            dir,
            state_dir,
        };
        let providers = raw
            .variables_provider
            .into_iter()
            .chain(raw.config_provider)
            .collect();
        let mut rc = RuntimeConfig {
            variables: Variables::configure(providers, &ctx)?,
            key_value: KeyValue::configure(raw.key_value_store, &ctx)?,
            sqlite: Sqlite::configure(raw.sqlite_database, &ctx)?,
            outbound_http: OutboundHttp::configure(
                outbound_http::RuntimeSection {
                    outbound_http: raw.outbound_http,
                    outbound_networking: raw.outbound_networking,
                },
                &ctx,
            )?,
            default_limits: Limits::default(),
            component_limits: BTreeMap::new(),
        };
        if let Some(limits) = &raw.limits {
            rc.default_limits = Limits::default().with(&limits.defaults);
            for (id, l) in &limits.component {
                rc.component_limits
                    .insert(id.clone(), rc.default_limits.with(l));
            }
        }
        rc.default_limits.check(path, "limits")?;
        for (id, l) in rc.component_limits.iter() {
            l.check(path, &format!("limits.component.{id}"))?;
        }
        Ok(rc)
    }

    /// The limits for component `id`.
    pub fn limits(&self, id: &str) -> Limits {
        self.component_limits
            .get(id)
            .copied()
            .unwrap_or(self.default_limits)
    }

    /// Component ids that `[limits.component.*]` names.
    pub fn limited_components(&self) -> impl Iterator<Item = &str> {
        self.component_limits.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_default_labels() {
        let rc = RuntimeConfig::defaults(Path::new(".spin"));
        assert_eq!(
            rc.key_value["default"].path,
            Path::new(".spin/sqlite_key_value.db")
        );
        assert_eq!(rc.limits("x"), Limits::default());
    }

    #[test]
    fn stores_limits_and_providers() {
        let rc = RuntimeConfig::parse(
            Path::new("cfg/rc.toml"),
            "[[variables_provider]]\ntype = \"static\"\nvalues = { a = \"1\" }\n\
             [key_value_store.cache]\ntype = \"spin\"\npath = \"cache.db\"\n\
             [limits]\nmemory_mb = 64\n[limits.component.slow]\ncpu_time_ms = 20\n",
            Path::new(".spin"),
        )
        .unwrap();
        assert_eq!(rc.key_value["cache"].path, Path::new("cfg/cache.db"));
        assert!(rc.key_value.contains_key("default"));
        assert_eq!(rc.limits("other").memory, 64 << 20);
        assert_eq!(rc.limits("slow").cpu_time, Duration::from_millis(20));
        assert_eq!(rc.limits("slow").memory, 64 << 20);
        assert_eq!(rc.variables.providers.len(), 2);
    }

    #[test]
    fn request_bounds() {
        let rc = RuntimeConfig::parse(
            Path::new("rc.toml"),
            "[limits]\nmax_body_bytes = 2048\nbody_timeout_ms = 500\n\
             [limits.component.tight]\nmax_body_bytes = 16\nmax_concurrency = 1\n",
            Path::new(".spin"),
        )
        .unwrap();
        let other = rc.limits("other");
        assert_eq!(other.max_body, 2048);
        assert_eq!(other.body_timeout, Duration::from_millis(500));
        assert_eq!(other.max_concurrency, 256);
        let tight = rc.limits("tight");
        assert_eq!(tight.max_body, 16);
        assert_eq!(tight.body_timeout, Duration::from_millis(500));
        assert_eq!(tight.max_concurrency, 1);
        assert_eq!(Limits::default().max_body, 1 << 20);

        let e = RuntimeConfig::parse(
            Path::new("rc.toml"),
            "[limits.component.x]\nmax_concurrency = 0\n",
            Path::new(".spin"),
        )
        .unwrap_err();
        assert_eq!(e.field, "limits.component.x.max_concurrency");
        let e = RuntimeConfig::parse(
            Path::new("rc.toml"),
            "[limits]\nbody_timeout_ms = 0\n",
            Path::new(".spin"),
        )
        .unwrap_err();
        assert_eq!(e.field, "limits.body_timeout_ms");
    }

    #[test]
    fn unsupported_backend_is_named() {
        let e = RuntimeConfig::parse(
            Path::new("rc.toml"),
            "[key_value_store.x]\ntype = \"redis\"\n",
            Path::new(".spin"),
        )
        .unwrap_err();
        assert_eq!(e.field, "key_value_store.x.type");
    }
}
