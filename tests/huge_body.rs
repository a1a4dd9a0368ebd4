//! A 200 MB request body never reaches a guest: the product answers 413 as
//! soon as the declared size is over the limit, having read none of it, and
//! goes on serving.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

#[test]
fn a_200_mb_body_is_refused_unread() {
    let p = Product::start(World::default());
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(&p.host.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /api/v1/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {BOOTSTRAP_KEY}\r\nIdempotency-Key: huge\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        200 * 1024 * 1024
    )
    .unwrap();
    // Start sending; the host may close before much of it is written.
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..64 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("max_body_bytes"),
        "the answer names the setting: {answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Nothing was made, and the product still serves.
    let (status, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["servers"], serde_json::json!([]));
}
