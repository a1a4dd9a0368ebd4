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

#[test]
fn retry_after_only_where_arm_sends_it() {
    let sim = start();
    let token = token(&sim);
    for (status, code, retry) in [
        (429, "TooManyRequests", true),
        (503, "ServiceUnavailable", true),
        (400, "BadRequest", false),
        (404, "ResourceNotFound", false),
        (500, "InternalServerError", false),
        (502, "BadGateway", false),
    ] {
        sim.command(Command::AddFault {
            fault: fault("/locations", Some(status), Some(1)),
        })
        .unwrap();
        let r = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None);
        assert_eq!(r.status, status);
        assert_eq!(r.json()["error"]["code"], code, "{status}");
        assert_eq!(
            r.header("retry-after"),
            retry.then_some("2"),
            "Retry-After on a {status}"
        );
    }
    // A fault without its own retry_after still says when to come back.
    let mut bare = fault("/locations", Some(503), Some(1));
    bare.retry_after = None;
    sim.command(Command::AddFault { fault: bare }).unwrap();
    let r = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None);
    assert_eq!(r.header("retry-after"), Some("1"));

    // The token endpoint likewise: 503 carries it, 500 does not.
    for (status, retry) in [(503, true), (500, false)] {
        sim.command(Command::AddFault {
            fault: fault("/oauth2/v2.0/token", Some(status), Some(1)),
        })
        .unwrap();
        let r = form(&sim.token_url("common"), &[("grant_type", "refresh_token")]);
        assert_eq!(r.status, status);
        assert_eq!(r.header("retry-after").is_some(), retry, "{status}");
    }
}

#[test]
fn operation_polls_carry_retry_after_while_running() {
    let sim = start();
    let token = token(&sim);
    let g = arm(
        &sim,
        &token,
        "PUT",
        &rg("polls"),
        Some(&serde_json::json!({ "location": "westeurope" })),
    );
    assert!(g.status == 200 || g.status == 201, "{}", g.body);
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!(
            "{}/providers/Microsoft.Network/virtualNetworks/vnet?api-version=2024-05-01",
            rg("polls")
        ),
        Some(&serde_json::json!({
            "location": "westeurope",
            "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } }
        })),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
    let url = r.header("azure-asyncoperation").unwrap().to_string();
    let mut saw_running = false;
    for _ in 0..50 {
        let p = arm(&sim, &token, "GET", &url, None);
        assert_eq!(p.status, 200);
        if p.json()["status"] == "InProgress" {
            saw_running = true;
            assert!(p.header("retry-after").is_some(), "a running poll");
        } else {
            assert_eq!(p.json()["status"], "Succeeded");
            assert!(p.header("retry-after").is_none(), "a finished poll");
            break;
        }
    }
    assert!(saw_running, "the operation took polls");
}
