//! Hostile callers are bounded before a guest instance exists: a body over the
//! limit gets 413 unread, a slow body 408 and a slow head a closed connection,
//! none of them costing an instance, and a component running its
//! `max_concurrency` instances answers 503 with `Retry-After` at once.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::{Host, Opts, TempDir, Upstream};

/// Sends `request` as is on a fresh connection and reads the answer until the
/// host closes the connection (send `Connection: close`); returns the status
/// and the whole response text.
fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    (status_of(&text), text)
}

fn status_of(response: &str) -> u16 {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn chunked(path: &str, chunks: &[usize]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for &n in chunks {
        r.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        r.extend(std::iter::repeat_n(b'x', n));
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

fn metrics(host: &Host) -> String {
    host.get("/metrics").1
}

fn start(dir: &TempDir, rc: &str) -> Host {
    let rc = dir.write("rc.toml", rc);
    Host::start(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            args: vec!["--metrics".into(), "/metrics".into()],
            ..Opts::default()
        },
    )
}

/// How many sockets a test may hold open: the soft RLIMIT_NOFILE is raised
/// toward the hard limit first (the host started afterwards inherits it), and
/// what stays out of reach is left for the rest of the test run.
fn socket_budget(want: usize) -> usize {
    const SPARE: u64 = 300;
    let soft = raise_nofile(want as u64 * 2 + SPARE);
    let budget = (soft.saturating_sub(SPARE) as usize).min(want);
    if budget < want {
        eprintln!("RLIMIT_NOFILE is {soft}: holding {budget} connections instead of {want}");
    }
    budget
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn raise_nofile(want: u64) -> u64 {
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    const RLIMIT_NOFILE: i32 = 7;
    let mut l = Rlimit { cur: 0, max: 0 };
    // SAFETY: `l` matches `struct rlimit` on 64-bit Linux and outlives the calls.
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut l) != 0 {
            return 1024;
        }
        if l.cur < want {
            let raised = Rlimit {
                cur: want.min(l.max),
                max: l.max,
            };
            if setrlimit(RLIMIT_NOFILE, &raised) == 0 {
                l.cur = raised.cur;
            }
        }
    }
    l.cur
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn raise_nofile(_want: u64) -> u64 {
    1024
}

#[test]
fn a_body_over_the_limit_is_refused_unread() {
    let dir = TempDir::new("bounds-size");
    dir.write("spin.toml", &support::one_component("{probe}", ""));
    let host = start(&dir, "");

    // Two megabytes declared, none sent: the answer comes without the body.
    let started = Instant::now();
    let (status, response) = raw(
        &host.addr,
        b"POST /?op=echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 413, "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        response.contains("limit of 1048576 bytes") && response.contains("`max_body_bytes`"),
        "{response}"
    );
    let m = metrics(&host);
    assert!(
        m.contains("skyport_refusals_total{component=\"a\",reason=\"body_size\"} 1"),
        "{m}"
    );
    assert!(
        !m.contains("skyport_instantiation_seconds_count{component=\"a\"}"),
        "the guest ran: {m}"
    );
    let log = host.wait_log("refused=body_size");
    assert!(log.contains("status=413"), "{log}");

    // Exactly the limit reaches the guest whole.
    let body = "x".repeat(1 << 20);
    let (status, echo) = support::request("POST", &format!("{}/?op=echo", host.url), &[], &body);
    assert_eq!(status, 200, "{echo}");
    assert!(echo.contains("\"body_len\":1048576"), "{echo}");
    let m = metrics(&host);
    assert!(
        m.contains("skyport_instantiation_seconds_count{component=\"a\"} 1"),
        "{m}"
    );
}

#[test]
fn a_component_limit_is_honoured_for_declared_and_chunked_bodies() {
    let dir = TempDir::new("bounds-component");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "bounds"
[[trigger.http]]
route = "/small/..."
component = "small"
[[trigger.http]]
route = "/big/..."
component = "big"
[component.small]
source = "{probe}"
[component.big]
source = "{probe}"
"#,
        ),
    );
    let host = start(&dir, "[limits.component.small]\nmax_body_bytes = 100\n");

    let (status, response) = raw(&host.addr, &post("/small?op=echo", &[b'x'; 101]));
    assert_eq!(status, 413, "{response}");
    assert!(
        response.contains("limit of 100 bytes")
            && response.contains("[limits.component.small]")
            && response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    let (status, response) = raw(&host.addr, &post("/small?op=echo", &[b'x'; 100]));
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("\"body_len\":100"), "{response}");
    let (status, response) = raw(&host.addr, &post("/big?op=echo", &[b'x'; 101]));
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("\"body_len\":101"), "{response}");

    // No length declared: cut off once it grows past the limit.
    let (status, response) = raw(&host.addr, &chunked("/small?op=echo", &[50, 50, 50]));
    assert_eq!(status, 413, "{response}");
    let (status, response) = raw(&host.addr, &chunked("/small?op=echo", &[40, 40]));
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("\"body_len\":80"), "{response}");

    let m = metrics(&host);
    assert!(
        m.contains("skyport_refusals_total{component=\"small\",reason=\"body_size\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("skyport_instantiation_seconds_count{component=\"small\"} 2"),
        "{m}"
    );
}

#[test]
fn slow_bodies_hold_no_instance() {
    let n = socket_budget(600);
    let dir = TempDir::new("bounds-slow");
    dir.write("spin.toml", &support::one_component("{probe}", ""));
    // Two slots only: if a slow body held one, the normal requests would get 503.
    let host = start(
        &dir,
        "[limits]\nbody_timeout_ms = 3000\nmax_concurrency = 2\n",
    );

    let head =
        b"POST /?op=echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789";
    let mut slow = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(&host.addr).unwrap();
        s.write_all(head).unwrap();
        slow.push(s);
    }
    let opened = Instant::now();

    // While they hold on (and dribble), the app answers promptly.
    for round in 0..3 {
        let t = Instant::now();
        assert_eq!(host.get("/?op=hello"), (200, "Hello, Skyport!".into()));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "round {round}: {:?}",
            t.elapsed()
        );
        for s in &mut slow {
            let _ = s.write_all(b"x");
        }
        thread::sleep(Duration::from_millis(300));
    }

    // Each gets 408 once its body deadline (3 s from its head) passes.
    let deadline = opened + Duration::from_secs(12);
    let mut timed_out = 0;
    for s in &mut slow {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(50))))
            .unwrap();
        let mut buf = [0u8; 512];
        if let Ok(k) = s.read(&mut buf) {
            if status_of(&String::from_utf8_lossy(&buf[..k])) == 408 {
                timed_out += 1;
            }
        }
    }
    drop(slow);
    assert_eq!(timed_out, n, "not every slow body was answered 408");

    let m = metrics(&host);
    assert!(
        m.contains(&format!(
            "skyport_refusals_total{{component=\"a\",reason=\"body_timeout\"}} {n}"
        )),
        "{m}"
    );
    assert!(
        m.contains("skyport_instantiation_seconds_count{component=\"a\"} 3"),
        "slow bodies created instances: {m}"
    );
    assert!(!m.contains("reason=\"concurrency\""), "{m}");
    let log = host.wait_log("refused=body_timeout");
    assert!(log.contains("status=408"), "{log}");
    assert_eq!(host.get("/?op=hello"), (200, "Hello, Skyport!".into()));
}

#[test]
fn slow_heads_are_cut_off() {
    let n = socket_budget(50);
    let dir = TempDir::new("bounds-head");
    dir.write("spin.toml", &support::one_component("{probe}", ""));
    let host = start(&dir, "");

    let mut slow = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(&host.addr).unwrap();
        s.write_all(b"GET /?op=hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .unwrap();
        slow.push(s);
    }
    let opened = Instant::now();
    assert_eq!(host.get("/?op=hello"), (200, "Hello, Skyport!".into()));

    // The host closes each within its 10 s header timeout (and answers nothing).
    let deadline = opened + Duration::from_secs(20);
    let mut closed = 0;
    for s in &mut slow {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(50))))
            .unwrap();
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            _ => {}
        }
    }
    let took = opened.elapsed();
    drop(slow);
    assert_eq!(closed, n, "not every slow head was cut off");
    assert!(took >= Duration::from_secs(9), "closed after {took:?}");

    let m = metrics(&host);
    assert!(
        m.contains(&format!(
            "skyport_refusals_total{{component=\"-\",reason=\"header_timeout\"}} {n}"
        )),
        "{m}"
    );
    let log = host.wait_log("refused=header_timeout");
    assert!(log.contains("no complete request head"), "{log}");
}

#[test]
fn a_full_component_answers_503_at_once() {
    let hanging = Upstream::hanging();
    let dir = TempDir::new("bounds-concurrency");
    dir.write(
        "spin.toml",
        &support::one_component(
            "{probe}",
            &format!(
                "allowed_outbound_hosts = [\"http://127.0.0.1:{}\"]\n",
                hanging.port
            ),
        ),
    );
    let host = start(
        &dir,
        "[outbound_http]\ntimeout_ms = 3000\n[limits.component.a]\nmax_concurrency = 1\n",
    );

    // The one slot is taken by a guest waiting on an upstream that never answers.
    let busy = thread::spawn({
        let url = format!(
            "{}/?op=fetch&url=http://127.0.0.1:{}/",
            host.url, hanging.port
        );
        move || support::get(&url)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while hanging.hits() == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        hanging.hits(),
        1,
        "the first request never reached the guest"
    );

    let started = Instant::now();
    let refused = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
        .get(&format!("{}/?op=hello", host.url))
        .call();
    let took = started.elapsed();
    let Err(ureq::Error::Status(503, response)) = refused else {
        panic!("expected 503, got {refused:?}");
    };
    assert_eq!(response.header("retry-after"), Some("1"));
    let body = response.into_string().unwrap();
    assert!(body.contains("`max_concurrency`"), "{body}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // The slot is free again once the guest is done.
    let (status, body) = busy.join().unwrap();
    assert_eq!(status, 502, "{body}");
    assert_eq!(host.get("/?op=hello"), (200, "Hello, Skyport!".into()));

    let m = metrics(&host);
    assert!(
        m.contains("skyport_refusals_total{component=\"a\",reason=\"concurrency\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("skyport_instantiation_seconds_count{component=\"a\"} 2"),
        "{m}"
    );
    let log = host.wait_log("refused=concurrency");
    assert!(log.contains("status=503"), "{log}");
}
