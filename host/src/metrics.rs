//! Prometheus metrics: requests, durations, instantiation time (of components
//! and of their dependencies), denied outbound
//! calls, limit kills and requests refused before an instance existed,
//! rendered in the text exposition format.
//!
//! Counters are keyed by small label sets held in mutex-guarded maps; the lock
//! is taken once per event and never across an await.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += s;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                self.counts.get(i).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    durations: BTreeMap<String, Histogram>,
    instantiation: BTreeMap<String, Histogram>,
    dependencies: BTreeMap<(String, String), Histogram>,
    denied: BTreeMap<String, u64>,
    kills: BTreeMap<(String, &'static str), u64>,
    refusals: BTreeMap<(String, &'static str), u64>,
    cron_runs: BTreeMap<(String, &'static str), u64>,
    cron_durations: BTreeMap<String, Histogram>,
    cron_skipped: BTreeMap<String, u64>,
}

/// The host's metrics registry.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn request(&self, component: &str, status: u16, took: Duration) {
        self.with(|m| {
            *m.requests
                .entry((component.to_string(), status))
                .or_default() += 1;
            m.durations
                .entry(component.to_string())
                .or_default()
                .observe(took);
        });
    }

    pub fn instantiated(&self, component: &str, took: Duration) {
        self.with(|m| {
            m.instantiation
                .entry(component.to_string())
                .or_default()
                .observe(took)
        });
    }

    /// A dependency was instantiated on its first call in a request.
    pub fn dependency_instantiated(&self, component: &str, dependency: &str, took: Duration) {
        self.with(|m| {
            m.dependencies
                .entry((component.to_string(), dependency.to_string()))
                .or_default()
                .observe(took)
        });
    }

    pub fn outbound_denied(&self, component: &str) {
        self.with(|m| *m.denied.entry(component.to_string()).or_default() += 1);
    }

    pub fn limit_kill(&self, component: &str, limit: &'static str) {
        self.with(|m| *m.kills.entry((component.to_string(), limit)).or_default() += 1);
    }

    /// A request refused before an instance existed (body too large or too
    /// slow, too many instances running, a request head too slow).
    pub fn refused(&self, component: &str, reason: &'static str) {
        self.with(|m| {
            *m.refusals
                .entry((component.to_string(), reason))
                .or_default() += 1
        });
    }

    /// A cron run ended (`ok`, `error`, or the limit that stopped it).
    pub fn cron_run(&self, component: &str, outcome: &'static str, took: Duration) {
        self.with(|m| {
            *m.cron_runs
                .entry((component.to_string(), outcome))
                .or_default() += 1;
            m.cron_durations
                .entry(component.to_string())
                .or_default()
                .observe(took);
        });
    }

    /// Fire times skipped because the previous run was still going.
    pub fn cron_skipped(&self, component: &str, n: u64) {
        self.with(|m| *m.cron_skipped.entry(component.to_string()).or_default() += n);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str("# HELP skyport_requests_total HTTP requests served, by component and status.\n# TYPE skyport_requests_total counter\n");
            for ((c, s), n) in &m.requests {
                let _ = writeln!(out, "skyport_requests_total{{component=\"{}\",status=\"{s}\"}} {n}", escape(c));
            }
            out.push_str("# HELP skyport_request_duration_seconds Time from request to response head.\n# TYPE skyport_request_duration_seconds histogram\n");
            for (c, h) in &m.durations {
                h.render(&mut out, "skyport_request_duration_seconds", &format!("component=\"{}\"", escape(c)));
            }
            out.push_str("# HELP skyport_instantiation_seconds Time to instantiate a component for one request.\n# TYPE skyport_instantiation_seconds histogram\n");
            for (c, h) in &m.instantiation {
                h.render(&mut out, "skyport_instantiation_seconds", &format!("component=\"{}\"", escape(c)));
            }
            out.push_str("# HELP skyport_dependency_instantiation_seconds Time to instantiate a component's dependency, on the first call to it in a request.\n# TYPE skyport_dependency_instantiation_seconds histogram\n");
            for ((c, d), h) in &m.dependencies {
                h.render(&mut out, "skyport_dependency_instantiation_seconds", &format!("component=\"{}\",dependency=\"{}\"", escape(c), escape(d)));
            }
            out.push_str("# HELP skyport_outbound_denied_total Outbound requests refused by allowed_outbound_hosts.\n# TYPE skyport_outbound_denied_total counter\n");
            for (c, n) in &m.denied {
                let _ = writeln!(out, "skyport_outbound_denied_total{{component=\"{}\"}} {n}", escape(c));
            }
            out.push_str("# HELP skyport_limit_kills_total Requests ended by a resource limit.\n# TYPE skyport_limit_kills_total counter\n");
            for ((c, l), n) in &m.kills {
                let _ = writeln!(out, "skyport_limit_kills_total{{component=\"{}\",limit=\"{l}\"}} {n}", escape(c));
            }
            out.push_str("# HELP skyport_refusals_total Requests refused before an instance existed, by reason.\n# TYPE skyport_refusals_total counter\n");
            for ((c, r), n) in &m.refusals {
                let _ = writeln!(out, "skyport_refusals_total{{component=\"{}\",reason=\"{r}\"}} {n}", escape(c));
            }
            out.push_str("# HELP skyport_cron_runs_total Cron runs, by component and outcome.\n# TYPE skyport_cron_runs_total counter\n");
            for ((c, o), n) in &m.cron_runs {
                let _ = writeln!(out, "skyport_cron_runs_total{{component=\"{}\",outcome=\"{o}\"}} {n}", escape(c));
            }
            out.push_str("# HELP skyport_cron_run_duration_seconds Time a cron run took.\n# TYPE skyport_cron_run_duration_seconds histogram\n");
            for (c, h) in &m.cron_durations {
                h.render(&mut out, "skyport_cron_run_duration_seconds", &format!("component=\"{}\"", escape(c)));
            }
            out.push_str("# HELP skyport_cron_skipped_total Cron fire times skipped because the previous run had not ended.\n# TYPE skyport_cron_skipped_total counter\n");
            for (c, n) in &m.cron_skipped {
                let _ = writeln!(out, "skyport_cron_skipped_total{{component=\"{}\"}} {n}", escape(c));
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("a", 200, Duration::from_millis(3));
        m.request("a", 200, Duration::from_millis(30));
        m.outbound_denied("a");
        m.dependency_instantiated("a", "x:y/z@1.0.0", Duration::from_micros(20));
        m.limit_kill("b", "memory");
        m.refused("b", "concurrency");
        let text = m.render();
        assert!(text.contains("skyport_requests_total{component=\"a\",status=\"200\"} 2"));
        assert!(text
            .contains("skyport_request_duration_seconds_bucket{component=\"a\",le=\"0.005\"} 1"));
        assert!(text.contains("skyport_request_duration_seconds_count{component=\"a\"} 2"));
        assert!(text.contains("skyport_outbound_denied_total{component=\"a\"} 1"));
        assert!(text.contains(
            "skyport_dependency_instantiation_seconds_count{component=\"a\",dependency=\"x:y/z@1.0.0\"} 1"
        ));
        assert!(text.contains("skyport_limit_kills_total{component=\"b\",limit=\"memory\"} 1"));
        assert!(text.contains("skyport_refusals_total{component=\"b\",reason=\"concurrency\"} 1"));
    }
}
