//! A host killed between recording an Idempotency-Key and creating its
//! operation leaves the key usable: a replay after the restart takes the key
//! over and makes exactly one server under it; a key whose first request is
//! still within its lease answers 503 `in_progress` until it can be taken.
//! The same at either provider.

mod support;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::Product;

/// Records `key` as a request that died before its operation existed,
/// `age` seconds ago, directly in the app's database (the host is stopped).
fn dead_request(p: &mut Product, key: &str, body: &str, age: i64) -> String {
    let _ = p.host.child.kill();
    let _ = p.host.child.wait();
    let db = rusqlite::Connection::open(p.dir.path().join(".spin").join("sqlite_db.db")).unwrap();
    let org: String = db
        .query_row("SELECT org_id FROM accounts LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let fingerprint: String = Sha256::digest(
        serde_json::from_str::<Value>(body)
            .unwrap()
            .to_string()
            .as_bytes(),
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let op = format!("0000dead-0000-4000-8000-{:012}", age);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    db.execute(
        "INSERT INTO idempotency (org_id, key, request, operation_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![org, key, fingerprint, op, now - age],
    )
    .unwrap();
    drop(db);
    p.restart();
    op
}

for_each_cloud!(a_key_left_by_a_killed_request_is_taken_over);

fn a_key_left_by_a_killed_request_is_taken_over(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);

    // Killed long enough ago: the replay takes over at once.
    let body = cloud.server_spec(&account, &scope, "crash1");
    let op = dead_request(&mut p, "crash-key-1", &body, 120);
    let (status, v) = p.create_server(&body, "crash-key-1");
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["id"], op.as_str(), "the key's own operation id");
    assert_eq!(p.wait_operation(&op)["status"], "succeeded");
    let (status, again) = p.create_server(&body, "crash-key-1");
    assert_eq!((status, again["id"].as_str()), (202, Some(op.as_str())));
    assert_eq!((cloud.servers)(&p), 1);

    // Killed a moment ago: in progress for a while, then taken over.
    let body = cloud.server_spec(&account, &scope, "crash2");
    let op = dead_request(&mut p, "crash-key-2", &body, 0);
    let (status, v) = p.create_server(&body, "crash-key-2");
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "in_progress");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, v) = p.create_server(&body, "crash-key-2");
        if status == 202 {
            assert_eq!(v["id"], op.as_str());
            break;
        }
        assert_eq!(status, 503, "{v}");
        assert!(
            std::time::Instant::now() < deadline,
            "the key was never taken over"
        );
    }
    assert_eq!(p.wait_operation(&op)["status"], "succeeded");
    assert_eq!((cloud.servers)(&p), 2);
}
