//! A request's head as Spin takes it: HTTP/2 with prior knowledge is served
//! as HTTP/1 is, and a routed request without a clear authority is left
//! unanswered. (The order of a client's own `spin-*` header and Spin's is
//! unit-tested beside `spin_headers`.)

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use support::{Host, Opts, TempDir};

/// Sends `request` on a fresh connection and reads until the host closes it.
fn raw(host: &Host, request: &[u8]) -> String {
    let mut s = TcpStream::connect(&host.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The probe on `/...`; the directory holds the host's log, so it lives as
/// long as the host.
fn start() -> (TempDir, Host) {
    let dir = TempDir::new("request-head");
    dir.write("spin.toml", &support::one_component("{probe}", ""));
    let host = Host::start(dir.path(), &Opts::default());
    (dir, host)
}

#[test]
fn requests_without_a_clear_authority_are_left_unanswered() {
    let (_dir, host) = start();
    // No Host and no authority in the request line.
    assert_eq!(raw(&host, b"GET /x HTTP/1.0\r\n\r\n"), "");
    // Two authorities that disagree.
    assert_eq!(
        raw(
            &host,
            b"GET http://a.test/x HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"
        ),
        ""
    );
    // A Host that is no authority.
    assert_eq!(
        raw(
            &host,
            b"GET /x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"
        ),
        ""
    );
    let log = host.wait_log("no 'Host' header present in request");
    assert!(log.contains("no 'Host' header present in request"), "{log}");
    assert!(
        log.contains("authority in 'Host' header does not match authority in URI"),
        "{log}"
    );
    // The health check needs no authority.
    let answer = raw(&host, b"GET /.well-known/spin/health HTTP/1.0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    // A plain request is answered.
    let answer = raw(
        &host,
        b"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn header_values_reach_the_guest_as_on_spin() {
    let (_dir, host) = start();
    // Spin's headers come with the request's own; a value that is not
    // UTF-8 still reaches the guest, which can say what is wrong with it.
    let answer = raw(
        &host,
        b"GET /x HTTP/1.1\r\nHost: a.test\r\nX-Odd: \xff\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (status, body) = support::get(&format!("{}/x", host.url));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let addr = v["headers"]["spin-client-addr"]
        .as_str()
        .unwrap_or_default();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    // The full URL names the Host the client sent.
    let url = v["headers"]["spin-full-url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/x"),
        "{url}"
    );
}

#[test]
fn http2_with_prior_knowledge_is_served_as_on_spin() {
    use http_body_util::BodyExt;
    let (_dir, host) = start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (version, status, body, refused) = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(&host.addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .expect("an HTTP/2 handshake");
        tokio::spawn(conn);
        let req = http::Request::get(format!("http://{}/h2?x=1", host.addr))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let res = send.send_request(req).await.expect("an answer");
        let (version, status) = (res.version(), res.status());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        // A body over the limit is refused on HTTP/2 too.
        let big = bytes::Bytes::from(vec![b'x'; 2 << 20]);
        let req = http::Request::post(format!("http://{}/h2", host.addr))
            .header("content-length", big.len())
            .body(http_body_util::Full::new(big))
            .unwrap();
        let refused = send.send_request(req).await.expect("a refusal").status();
        (
            version,
            status,
            String::from_utf8_lossy(&body).into_owned(),
            refused,
        )
    });
    assert_eq!(refused.as_u16(), 413);
    assert_eq!(
        (version, status.as_u16()),
        (http::Version::HTTP_2, 200),
        "{body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["path"], "/h2");
    assert_eq!(v["headers"]["spin-path-info"], "/h2");
}

#[test]
fn a_client_that_stalls_in_the_http2_preface_is_cut_off() {
    let (_dir, host) = start();
    let started = std::time::Instant::now();
    let mut s = TcpStream::connect(&host.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "held for {:?}",
        started.elapsed()
    );
    let log = host.wait_log("refused=header_timeout");
    assert!(log.contains("sent no complete request head"), "{log}");
}
