//! A poll that stalls inside a step past its lease is taken over, and when
//! it finally returns it writes nothing: the operation never goes back to an
//! older step, and nothing is made twice, at either provider (Azure's
//! writes are PUTs by name; DigitalOcean's are POSTs that make a new thing
//! each time they land).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use sim::state::Fault;
use sim::Command;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::BOOTSTRAP_KEY;

for_each_cloud!(a_stale_poll_cannot_write_back_an_older_step);

fn a_stale_poll_cannot_write_back_an_older_step(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    // A short lease, so the takeover happens within the stalled call.
    p.opts
        .env
        .push(("SPIN_VARIABLE_OPERATION_LEASE_SECONDS".into(), "2".into()));
    p.restart();
    let (account, scope) = (cloud.connect)(&p);
    let (status, op) = p.create_server(&cloud.server_spec(&account, &scope, "stale"), "stale-1");
    assert_eq!(status, 202, "{op}");
    let id = op["id"].as_str().unwrap().to_string();
    // The first such write hangs for 6 s before the provider sees it.
    let (path, method) = cloud.mid_provision;
    p.sim
        .command(Command::AddFault {
            fault: Fault {
                path: path.into(),
                method: Some(method.into()),
                status: None,
                count: Some(1),
                probability: None,
                latency_ms: Some(6000),
                drop_connection: false,
                retry_after: None,
            },
        })
        .unwrap();

    let url = format!("{}/api/v1/operations/{id}", p.host.url);
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let poll = || -> (Duration, Value) {
        let t = Instant::now();
        let (status, text) = support::request("GET", &url, &[("authorization", &auth)], "");
        assert_eq!(status, 200, "{text}");
        (t.elapsed(), serde_json::from_str(&text).unwrap())
    };
    // Two pollers; whichever meets the hanging PUT stalls, the other takes
    // the operation over once the lease runs out and finishes it.
    let (stalled, finished_first) = std::thread::scope(|scope| {
        let pollers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    let mut longest = Duration::ZERO;
                    let mut saw_succeeded_at = None;
                    loop {
                        let (took, v) = poll();
                        longest = longest.max(took);
                        if v["status"] == "succeeded" && saw_succeeded_at.is_none() {
                            saw_succeeded_at = Some(Instant::now());
                        }
                        if v["status"] == "failed" {
                            panic!("the operation failed: {v}");
                        }
                        if saw_succeeded_at.is_some() || Instant::now() > deadline {
                            return (longest, saw_succeeded_at, Instant::now());
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        let results: Vec<_> = pollers.into_iter().map(|h| h.join().unwrap()).collect();
        let stalled = results
            .iter()
            .max_by_key(|r| r.0)
            .cloned()
            .expect("two pollers");
        let first_success = results.iter().filter_map(|r| r.1).min();
        (stalled, first_success)
    });
    let (longest, _, stalled_returned) = stalled;
    assert!(
        longest >= Duration::from_secs(5),
        "one poll met the hanging call ({longest:?})"
    );
    let finished_first = finished_first.expect("the operation succeeded");
    assert!(
        finished_first < stalled_returned,
        "the other poller finished the operation while the stalled one still held its old step"
    );
    // The stalled poll has returned: its older step must not have come back.
    std::thread::sleep(Duration::from_millis(200));
    let (_, v) = poll();
    assert_eq!(v["status"], "succeeded", "{v}");
    assert_eq!(v["progress"]["step"], v["progress"]["of"], "{v}");
    assert_eq!(v["server"]["status"], "running", "{v}");
    let server = v["server_id"].as_str().unwrap();
    (cloud.holds_only)(&p, &BTreeSet::from([server]));
}
