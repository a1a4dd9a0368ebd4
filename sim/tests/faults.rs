//! Throttling and faults on demand: 429 with Retry-After and rate-limit
//! headers, 5xx, latency and dropped connections, by path and count.

mod support;

use sim::state::Fault;
use sim::Command;
use support::*;

fn fault(path: &str, status: Option<u16>, count: Option<u32>) -> Fault {
    Fault {
        path: path.into(),
        method: None,
        status,
        count,
        probability: None,
        latency_ms: None,
        drop_connection: false,
        retry_after: Some(2),
    }
}

#[test]
fn throttling_then_recovery() {
    let sim = start();
    let token = token(&sim);
    let ok = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None);
    let remaining: u64 = ok
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .unwrap()
        .parse()
        .unwrap();
    let again = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None);
    assert!(
        again
            .header("x-ms-ratelimit-remaining-subscription-reads")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= remaining,
        "the read bucket drains"
    );

    sim.command(Command::AddFault {
        fault: fault("/locations", Some(429), Some(2)),
    })
    .unwrap();
    for _ in 0..2 {
        let r = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None);
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("2"));
        assert_eq!(
            r.header("x-ms-ratelimit-remaining-subscription-reads"),
            Some("0")
        );
        assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    }
    assert_eq!(
        arm(&sim, &token, "GET", &format!("{}/locations", sub()), None).status,
        200,
        "the fault's count ran out"
    );
}

#[test]
fn server_errors_latency_and_dropped_connections() {
    let sim = start();
    let token = token(&sim);
    sim.command(Command::AddFault {
        fault: fault("resourcegroups", Some(503), Some(1)),
    })
    .unwrap();
    let r = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/resourcegroups", sub()),
        None,
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "ServiceUnavailable");

    let mut slow = fault("/tenants", None, Some(1));
    slow.latency_ms = Some(300);
    sim.command(Command::AddFault { fault: slow }).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(arm(&sim, &token, "GET", "/tenants", None).status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));

    let mut drop = fault("/tenants", None, Some(1));
    drop.drop_connection = true;
    sim.command(Command::AddFault { fault: drop }).unwrap();
    let url = format!("{}/tenants?{API}", sim.url);
    let result = ureq::get(&url)
        .set("authorization", &format!("Bearer {token}"))
        .call();
    assert!(
        matches!(result, Err(ureq::Error::Transport(_))),
        "the connection is dropped without an answer"
    );

    // Probability 0 never fires; the token endpoint can fail transiently too.
    let mut never = fault("*", Some(500), None);
    never.probability = Some(0.0);
    sim.command(Command::AddFault { fault: never }).unwrap();
    assert_eq!(arm(&sim, &token, "GET", "/tenants", None).status, 200);
    sim.command(Command::ClearFaults).unwrap();
    sim.command(Command::AddFault {
        fault: fault("/oauth2/v2.0/token", Some(503), Some(1)),
    })
    .unwrap();
    let r = form(&sim.token_url("common"), &[("grant_type", "refresh_token")]);
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "temporarily_unavailable");
}
