//! The jobs component: nothing waits on a browser. On the cron trigger's
//! schedule (`[[trigger.cron]]`, Spin's cron plugin or skyport), or when an
//! outside scheduler posts to `/internal/jobs/run` with the `jobs_token`, it
//! asks each function for its share of background work — operations
//! finished, tokens kept alive, health re-checked, webhooks delivered — and
//! logs what was done.
//!
//! The shares are asked for over HTTP at the app's own `public_url`: on
//! Spin a cron-triggered run has no service chaining, and the work itself
//! belongs to the functions that own it (one copy of the logic).

wit_bindgen::generate!({
    path: "../../wit/deps/spin-cron",
    world: "spin-cron",
});

use serde_json::{json, Value};
use skyport_functions::api::{json_response, ApiError};
use skyport_functions::crypto::Keys;
use skyport_functions::internal;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// The functions with background work, in the order they are asked.
const SHARES: [&str; 5] = ["servers", "storage", "dns", "accounts", "events"];

/// Asks every function for its share; one failing share does not stop the
/// others.
async fn run_all() -> Value {
    let mut out = json!({});
    for share in SHARES {
        out[share] = match internal::call(&format!("/internal/jobs/{share}")).await {
            Ok((200, v)) => v,
            Ok((status, v)) => json!({ "status": status, "answer": v }),
            Err(e) => {
                json!({ "error": { "code": e.code, "message": e.message, "remedy": e.remedy } })
            }
        };
    }
    out
}

struct Jobs;

impl Guest for Jobs {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let done = spin_sdk::http::run(run_all());
        println!("jobs run at {}: {done}", metadata.timestamp);
        let failed: Vec<&str> = SHARES
            .into_iter()
            .filter(|s| done[*s].get("error").is_some() || done[*s].get("status").is_some())
            .collect();
        if failed.len() == SHARES.len() {
            return Err(Error::Other(format!("every share failed: {done}")));
        }
        Ok(())
    }
}

export!(Jobs);

/// `POST /internal/jobs/run` with `Authorization: Bearer <jobs_token>`: one
/// run, for deployments whose scheduler is not the cron trigger (a
/// Kubernetes CronJob). Without a `jobs_token` the route does not exist.
#[http_component]
async fn handle(req: Request) -> Response {
    match authorized(&req) {
        Ok(()) => json_response(200, &run_all().await),
        Err(e) => e.response(),
    }
}

fn authorized(req: &Request) -> Result<(), ApiError> {
    let token = spin_sdk::variables::get("jobs_token").unwrap_or_default();
    if token.is_empty() || req.path().trim_end_matches('/') != "/internal/jobs/run" {
        return Err(ApiError::no_such_endpoint(None));
    }
    if *req.method() != Method::Post {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            "A jobs run is started with POST.",
            "Send `POST /internal/jobs/run` with `Authorization: Bearer <jobs_token>`.",
        ));
    }
    let given = req
        .header("authorization")
        .and_then(|h| h.as_str())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    // The token key must load too: a run needs it to call the shares.
    Keys::load()?;
    if skyport_functions::orgs::constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "unauthenticated",
            "This jobs run carries no valid `jobs_token`.",
            "Send `Authorization: Bearer <jobs_token>` (the app variable).",
        ))
    }
}
