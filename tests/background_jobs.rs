//! Nothing waits on a browser: the jobs component, on the host's cron
//! trigger, finishes operations nobody polls, re-checks account health so a
//! revoked grant turns Expired without a click, and uses refresh tokens
//! before they die of inactivity. The tests only wait and read. The work and
//! the health checks run for both providers; the refresh tokens are
//! Azure's (a DigitalOcean token signed in by API has none).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::Command;
use support::clouds::{for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    work_nobody_polls_is_finished_in_the_background,
    a_revoked_grant_turns_expired_without_a_click
);

fn work_nobody_polls_is_finished_in_the_background(cloud: &Cloud) {
    let p = Product::with_example_and_jobs_every_second(&[]);
    let (account, scope) = (cloud.connect)(&p);
    let (status, op) = p.create_server(&cloud.server_spec(&account, &scope, "unwatched"), "bg-1");
    assert_eq!(status, 202, "{op}");
    let server = op["server"]["id"].as_str().unwrap().to_string();
    (cloud.slow_storage)(&p, "skyportbg1");
    let setup = cloud.start_storage(&p, &account, &scope, "skyportbg1");
    assert_eq!(setup["status"], "running", "{setup}");

    // Only reads from here on: the server list and the targets list.
    let s = p.wait_for(&format!("/api/v1/servers/{server}"), 90, |v| {
        v["status"] != "provisioning"
    });
    assert_eq!(s["status"], "running", "{s}");
    assert!(s["public_ip"].is_string(), "{s}");
    let t = p.wait_for("/api/v1/storage/targets", 60, |v| {
        !v["targets"].as_array().unwrap().is_empty()
    });
    assert_eq!(t["targets"][0]["storage_account"], "skyportbg1");
    (cloud.holds_only)(&p, &BTreeSet::from([server.as_str()]));
    let log = p.host.log();
    assert!(log.contains("cron component=jobs outcome=ok"), "{log}");
}

fn a_revoked_grant_turns_expired_without_a_click(cloud: &Cloud) {
    let p =
        Product::with_example_and_jobs_every_second(&[("SPIN_VARIABLE_HEALTH_CHECK_SECONDS", "3")]);
    let (account, _) = (cloud.connect)(&p);
    let path = format!("/api/v1/accounts/{account}");
    let (_, a) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active", "{a}");
    (cloud.lose_access)(&p);
    let a = p.wait_for(&path, 30, |v| v["status"] != "Active");
    assert_eq!(a["status"], "Expired", "{a}");
    let reason = a["status_reason"].as_str().unwrap_or_default();
    assert!(
        cloud.lost_because.iter().any(|w| reason.contains(w)),
        "the reason is {}'s: {a}",
        cloud.name
    );
}

/// Connects, then leaves the account alone for longer than the emulator
/// lets a refresh token go unused; returns the account after a refresh.
fn idle_account(keepalive: &str) -> Value {
    let p = Product::with_jobs_every_second(&[
        ("SPIN_VARIABLE_TOKEN_KEEPALIVE_SECONDS", keepalive),
        ("SPIN_VARIABLE_HEALTH_CHECK_SECONDS", "86400"),
    ]);
    // Refresh tokens die after 5 s unused ("90 days", sped up).
    p.sim
        .command(Command::Settings {
            lro_polls: None,
            registration_polls: None,
            retry_after_secs: None,
            access_token_lifetime_secs: None,
            page_size: None,
            azurite_url: None,
            refresh_token_idle_secs: Some(5),
        })
        .unwrap();
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    std::thread::sleep(Duration::from_secs(9));
    // Now the access token must be refreshed.
    p.sim.command(Command::ExpireAccessTokens).unwrap();
    let (_, a) = p.api(
        "POST",
        &format!("/api/v1/accounts/{account}/refresh"),
        BOOTSTRAP_KEY,
        "",
    );
    let (_, a2) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}"),
        BOOTSTRAP_KEY,
        "",
    );
    json!({ "refresh": a, "account": a2 })
}

#[test]
fn refresh_tokens_are_used_before_they_die_of_inactivity() {
    let kept = idle_account("2");
    assert_eq!(kept["account"]["status"], "Active", "{kept}");
}

#[test]
fn without_upkeep_an_idle_refresh_token_dies() {
    // The control: with the keep-alive far away, the same wait kills the grant.
    let lost = idle_account("100000");
    assert_eq!(lost["account"]["status"], "Expired", "{lost}");
    assert!(
        lost["account"]["status_reason"]
            .as_str()
            .unwrap()
            .contains("long time unused"),
        "the reason is the inactivity (AADSTS700082): {lost}"
    );
}

#[test]
fn only_the_app_and_its_scheduler_start_background_work() {
    let p =
        Product::with_jobs_every_second(&[("SPIN_VARIABLE_JOBS_TOKEN", "jobs-secret-0123456789")]);
    let post = |path: &str, headers: &[(&str, &str)]| {
        support::request("POST", &format!("{}{path}", p.host.url), headers, "")
    };
    // A function's share, asked for from outside: as if it did not exist.
    for share in ["servers", "storage", "dns", "accounts", "events"] {
        let (status, body) = post(&format!("/internal/jobs/{share}"), &[]);
        assert_eq!(status, 404, "{share}: {body}");
        let (status, body) = post(
            &format!("/internal/jobs/{share}"),
            &[("x-skyport-internal", "guess")],
        );
        assert_eq!(status, 404, "{share}: {body}");
    }
    // The scheduler's route wants the jobs token.
    let (status, body) = post("/internal/jobs/run", &[]);
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(
        "/internal/jobs/run",
        &[("authorization", "Bearer jobs-secret-0123456789")],
    );
    assert_eq!(status, 200, "{body}");
    let run: Value = serde_json::from_str(&body).unwrap();
    for share in ["servers", "storage", "dns", "accounts"] {
        assert!(
            run[share].is_object() && run[share].get("error").is_none(),
            "{run}"
        );
    }
    assert!(run["servers"]["operations"].is_number(), "{run}");
}
