//! The cron trigger, as Spin's cron trigger plugin (fermyon/spin-trigger-cron)
//! defines it: `[[trigger.cron]]` with `component` and a `cron_expression`
//! whose first field is seconds, and components exporting `handle-cron-event`
//! of `fermyon:spin-cron/spin-cron@2.0.0` (`wit/deps/spin-cron`).
//!
//! Its parts, as every capability's: the manifest section
//! ([`RawCronTrigger`], checked into [`CronTrigger`]); no runtime-config
//! section of its own (`[limits]` bounds every run); the binding of the
//! export ([`SpinCron`], [`bind`]); and the per-instance state — none beyond
//! the `Store` every run gets — with the runtime ([`start`]): one task per
//! trigger that runs its component in a fresh instance, with the same
//! grants, limits, logs and metrics as an HTTP request, and never starts a
//! run before the previous one ended.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use std::path::Path;

use wasmtime::component::InstancePre;

use crate::app::{App, Prepared};
use crate::error::ConfigError;
use crate::state::{HostState, Kill};

wasmtime::component::bindgen!({
    path: "../wit/deps/spin-cron",
    world: "spin-cron",
    exports: { default: async },
});

/// `[[trigger.cron]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCronTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub component: crate::manifest::RawComponentRef,
    pub cron_expression: String,
}

/// The fields `[[trigger.cron]]` takes, for error messages.
const FIELDS: &str = "the fields are `component` and `cron_expression`";

/// A checked `[[trigger.cron]]`.
#[derive(Debug, Clone)]
pub struct CronTrigger {
    pub id: Option<String>,
    pub component: String,
    pub expression: String,
    pub schedule: cron::Schedule,
}

/// Parses a cron expression the way the plugin does: six or seven fields,
/// `sec min hour day-of-month month day-of-week [year]`.
pub fn schedule(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(format!(
            "`{expression}` has {fields} fields; a cron expression here has 6 or 7, starting with seconds"
        ));
    }
    cron::Schedule::from_str(expression)
        .map_err(|e| format!("`{expression}` is not a valid cron expression: {e}"))
}

/// The fix shown with a refused expression.
pub const EXPRESSION_FIX: &str =
    "write `sec min hour day month weekday [year]`, e.g. `*/10 * * * * *` for every 10 seconds or `0 0 * * * *` for every hour";

/// Checks the `[[trigger.cron]]` tables.
pub(crate) fn check(
    file: &Path,
    tables: Vec<toml::Table>,
    resolve: &mut crate::capabilities::http_trigger::Resolve<'_>,
) -> Result<Vec<CronTrigger>, ConfigError> {
    let mut cron = Vec::new();
    for (index, table) in tables.into_iter().enumerate() {
        let field = format!("trigger.cron[{index}]");
        let rt: RawCronTrigger = table.try_into().map_err(|e: toml::de::Error| {
            ConfigError::new(file, &field, e.message().trim(), FIELDS)
        })?;
        let schedule = schedule(&rt.cron_expression).map_err(|problem| {
            ConfigError::new(
                file,
                format!("{field}.cron_expression"),
                problem,
                EXPRESSION_FIX,
            )
        })?;
        let component = resolve(&field, rt.component, index)?;
        cron.push(CronTrigger {
            id: rt.id,
            component,
            expression: rt.cron_expression,
            schedule,
        });
    }
    Ok(cron)
}

/// The component's `handle-cron-event`; an error when `required` (a cron
/// trigger runs it) and it has none.
pub(crate) fn bind(
    pre: InstancePre<HostState>,
    required: bool,
) -> Result<Option<SpinCronPre<HostState>>, (String, String)> {
    match SpinCronPre::new(pre) {
        Ok(p) => Ok(Some(p)),
        Err(_) if !required => Ok(None),
        Err(_) => Err((
            "a cron trigger runs this component, but it does not export `handle-cron-event` (world `fermyon:spin-cron/spin-cron@2.0.0`)".into(),
            "build it as a cron component (spin-cron-sdk's `#[cron_component]`, or export that function yourself)".into(),
        )),
    }
}

/// Starts every cron trigger of the app; each runs until the process ends.
pub fn start(app: &Arc<App>) {
    for (index, t) in app.manifest.cron.iter().enumerate() {
        let Some(prepared) = app.components.get(&t.component).cloned() else {
            continue;
        };
        tracing::info!(component = %t.component, "cron trigger {index} scheduled: {}", t.expression);
        tokio::spawn(run_schedule(app.clone(), prepared, t.clone()));
    }
}

/// Waits for each fire time and runs the component then; fire times that
/// pass while a run is still going are skipped, so runs never overlap.
async fn run_schedule(app: Arc<App>, prepared: Arc<Prepared>, t: CronTrigger) {
    loop {
        let now = chrono::Utc::now();
        let Some(next) = t.schedule.after(&now).next() else {
            tracing::info!(component = %t.component, "cron schedule `{}` has no more fire times", t.expression);
            return;
        };
        let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        let started = chrono::Utc::now();
        run_once(&app, &prepared, next.timestamp().max(0) as u64).await;
        let skipped = t
            .schedule
            .after(&next)
            .take_while(|at| *at <= started.max(chrono::Utc::now()))
            .count();
        if skipped > 0 {
            app.metrics.cron_skipped(&t.component, skipped as u64);
            tracing::warn!(component = %t.component, "cron run outlasted {skipped} fire time(s) of `{}`; they were skipped", t.expression);
        }
    }
}

/// One run: a fresh instance, `handle-cron-event`, one log line, counted.
pub async fn run_once(app: &Arc<App>, prepared: &Arc<Prepared>, timestamp: u64) {
    let id = prepared.id.clone();
    let t0 = Instant::now();
    let outcome = match prepared.running.clone().try_acquire_owned() {
        Err(_) => Err(("the component is at its max_concurrency".to_string(), None)),
        Ok(permit) => {
            let app2 = app.clone();
            let p = prepared.clone();
            // The guest runs in its own task, as an HTTP request's does, so a
            // trap or a limit ends this run only.
            let task = tokio::spawn(async move {
                let _slot = permit;
                call(&app2, &p, timestamp).await
            });
            match task.await {
                Ok(r) => r,
                Err(e) => Err((format!("the run's task failed: {e}"), None)),
            }
        }
    };
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(()) => {
            app.metrics.cron_run(&id, "ok", t0.elapsed());
            tracing::info!(target: "skyport::cron", "cron component={id} outcome=ok duration={ms:.3}ms");
        }
        Err((why, kill)) => {
            let label = match kill {
                Some(k) => {
                    app.metrics.limit_kill(&id, k.label());
                    k.label()
                }
                None => "error",
            };
            app.metrics.cron_run(&id, label, t0.elapsed());
            tracing::warn!(target: "skyport::cron", "cron component={id} outcome={label} duration={ms:.3}ms: {why}");
        }
    }
}

async fn call(
    app: &Arc<App>,
    prepared: &Arc<Prepared>,
    timestamp: u64,
) -> Result<(), (String, Option<Kill>)> {
    let Some(pre) = prepared.cron.clone() else {
        return Err((
            "the component does not export `handle-cron-event`".into(),
            None,
        ));
    };
    let mut store =
        crate::instance::new_store(app, prepared, false).map_err(|e| (format!("{e:#}"), None))?;
    let timeout = prepared.grants.limits.timeout;
    let run = async {
        let t0 = Instant::now();
        let guest = pre.instantiate_async(&mut store).await?;
        app.metrics.instantiated(&prepared.id, t0.elapsed());
        guest
            .call_handle_cron_event(
                &mut store,
                fermyon::spin_cron::cron_types::Metadata { timestamp },
            )
            .await
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(fermyon::spin_cron::cron_types::Error::Other(e)))) => {
            Err((format!("the component failed: {e}"), None))
        }
        Ok(Err(e)) => {
            let s = store.data();
            let kill = s.killed.or(s.memory.exceeded.then_some(Kill::Memory));
            Err((format!("{:#}", e), kill))
        }
        Err(_) => Err((
            format!(
                "timeout of {} ms exceeded (raise `timeout_ms` under [limits] in the runtime config)",
                timeout.as_millis()
            ),
            Some(Kill::Timeout),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_have_seconds() {
        assert!(schedule("*/2 * * * * *").is_ok());
        assert!(schedule("1/4 * * * * *").is_ok());
        assert!(schedule("0 0 */6 * * * *").is_ok());
        let e = schedule("*/5 * * * *").unwrap_err();
        assert!(e.contains("5 fields"), "{e}");
        let e = schedule("61 * * * * *").unwrap_err();
        assert!(e.contains("not a valid cron expression"), "{e}");
        assert!(schedule("every minute").is_err());
    }

    #[test]
    fn fire_times_follow_the_seconds_field() {
        let s = schedule("*/2 * * * * *").unwrap();
        let from = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:01Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let times: Vec<u32> = s
            .after(&from)
            .take(3)
            .map(|t| chrono::Timelike::second(&t))
            .collect();
        assert_eq!(times, vec![2, 4, 6]);
    }
}
