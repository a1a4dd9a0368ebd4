//! The in-memory blob store behind the front door answers as the Blob
//! service does: ranged reads (206 / 416 InvalidRange), the properties
//! headers of Get Blob and Get Blob Properties, conditional writes, and the
//! account-level container listing.

mod support;

use serde_json::json;
use support::*;

const ST: &str = "providers/Microsoft.Storage";

/// A storage account with containers `alpha` and `beta`; returns the blob
/// endpoint and a key.
fn account(sim: &sim::Sim, name: &str) -> (String, String) {
    let token = token(sim);
    arm(
        sim,
        &token,
        "PUT",
        &rg("b"),
        Some(&json!({ "location": "westeurope" })),
    );
    let path = format!("{}/{ST}/storageAccounts/{name}", rg("b"));
    let body =
        json!({ "location": "westeurope", "kind": "StorageV2", "sku": { "name": "Standard_LRS" } });
    let r = arm(sim, &token, "PUT", &path, Some(&body));
    let done = wait(sim, &token, &r).json();
    let endpoint = done["properties"]["primaryEndpoints"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    for c in ["beta", "alpha"] {
        let r = arm(
            sim,
            &token,
            "PUT",
            &format!("{path}/blobServices/default/containers/{c}"),
            Some(&json!({})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let keys = arm(sim, &token, "POST", &format!("{path}/listKeys"), None).json();
    (
        endpoint,
        keys["keys"][0]["value"].as_str().unwrap().to_string(),
    )
}

fn is_http_date(v: Option<&str>) -> bool {
    v.is_some_and(|d| chrono::DateTime::parse_from_rfc2822(d).is_ok() && d.ends_with(" GMT"))
}

const ACCT: &str = "skyportrange1";
const TEXT: &str = "0123456789abcdefghij";

#[test]
fn ranged_reads_answer_206_with_content_range_and_416_past_the_end() {
    let sim = start();
    let (endpoint, key) = account(&sim, ACCT);
    let url = format!("{endpoint}alpha/data.txt");
    let put = blob(
        "PUT",
        &url,
        ACCT,
        &key,
        TEXT,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-blob-content-type", "text/plain"),
        ],
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let etag = put.header("etag").unwrap().to_string();
    assert!(etag.starts_with("\"0x") && etag.ends_with('"'), "{etag}");
    assert!(is_http_date(put.header("last-modified")));

    // x-ms-range and Range both work; x-ms-range wins when both are sent.
    for (header, value) in [("x-ms-range", "bytes=2-5"), ("range", "bytes=2-5")] {
        let r = blob("GET", &url, ACCT, &key, "", &[(header, value)]);
        assert_eq!(r.status, 206, "{header}: {}", r.body);
        assert_eq!(r.body, "2345");
        assert_eq!(r.header("content-range"), Some("bytes 2-5/20"));
        assert_eq!(r.header("content-length"), Some("4"));
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_eq!(r.header("x-ms-blob-type"), Some("BlockBlob"));
    }
    let r = blob(
        "GET",
        &url,
        ACCT,
        &key,
        "",
        &[("x-ms-range", "bytes=0-0"), ("range", "bytes=5-9")],
    );
    assert_eq!((r.status, r.body.as_str()), (206, "0"));

    // Open-ended and over-long ranges end at the last byte.
    let r = blob("GET", &url, ACCT, &key, "", &[("x-ms-range", "bytes=15-")]);
    assert_eq!((r.status, r.body.as_str()), (206, "fghij"));
    assert_eq!(r.header("content-range"), Some("bytes 15-19/20"));
    let r = blob(
        "GET",
        &url,
        ACCT,
        &key,
        "",
        &[("x-ms-range", "bytes=18-4000")],
    );
    assert_eq!((r.status, r.body.as_str()), (206, "ij"));
    assert_eq!(r.header("content-range"), Some("bytes 18-19/20"));

    // A range starting past the end is refused with Azure's InvalidRange.
    let r = blob(
        "GET",
        &url,
        ACCT,
        &key,
        "",
        &[("x-ms-range", "bytes=20-30")],
    );
    assert_eq!(r.status, 416, "{}", r.body);
    assert_eq!(r.header("x-ms-error-code"), Some("InvalidRange"));
    assert!(
        r.body.contains("<Code>InvalidRange</Code>")
            && r.body
                .contains("The range specified is invalid for the current size of the resource."),
        "{}",
        r.body
    );
    assert_eq!(r.header("content-range"), Some("bytes */20"));

    // No range: the whole blob, 200.
    let r = blob("GET", &url, ACCT, &key, "", &[]);
    assert_eq!((r.status, r.body.as_str()), (200, TEXT));
    assert!(r.header("content-range").is_none());

    // An empty blob has no satisfiable range.
    let empty = format!("{endpoint}alpha/empty");
    assert_eq!(
        blob(
            "PUT",
            &empty,
            ACCT,
            &key,
            "",
            &[("x-ms-blob-type", "BlockBlob")]
        )
        .status,
        201
    );
    let r = blob("GET", &empty, ACCT, &key, "", &[("x-ms-range", "bytes=0-")]);
    assert_eq!(r.status, 416);
    let r = blob("GET", &empty, ACCT, &key, "", &[]);
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
}

#[test]
fn get_and_head_send_the_properties_headers() {
    let sim = start();
    let (endpoint, key) = account(&sim, ACCT);
    let url = format!("{endpoint}alpha/dir/report%20one.txt");
    let put = blob(
        "PUT",
        &url,
        ACCT,
        &key,
        TEXT,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-blob-content-type", "text/plain"),
        ],
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let etag = put.header("etag").unwrap().to_string();

    for method in ["GET", "HEAD"] {
        let r = blob(method, &url, ACCT, &key, "", &[]);
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        assert_eq!(r.header("content-length"), Some("20"), "{method}");
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{method}");
        assert!(is_http_date(r.header("last-modified")), "{method}");
        assert!(is_http_date(r.header("x-ms-creation-time")), "{method}");
        assert_eq!(r.header("x-ms-blob-type"), Some("BlockBlob"), "{method}");
        assert_eq!(r.header("content-type"), Some("text/plain"), "{method}");
        assert_eq!(r.header("accept-ranges"), Some("bytes"), "{method}");
    }
    assert_eq!(blob("HEAD", &url, ACCT, &key, "", &[]).body, "");

    // Conditional reads and writes.
    let r = blob("GET", &url, ACCT, &key, "", &[("if-none-match", &etag)]);
    assert_eq!(r.status, 304);
    let r = blob("GET", &url, ACCT, &key, "", &[("if-match", "\"0x0\"")]);
    assert_eq!(r.status, 412);
    assert_eq!(r.header("x-ms-error-code"), Some("ConditionNotMet"));
    let r = blob(
        "PUT",
        &url,
        ACCT,
        &key,
        "new",
        &[("x-ms-blob-type", "BlockBlob"), ("if-none-match", "*")],
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.header("x-ms-error-code"), Some("BlobAlreadyExists"));
    let r = blob(
        "PUT",
        &url,
        ACCT,
        &key,
        "new",
        &[("x-ms-blob-type", "BlockBlob"), ("if-match", &etag)],
    );
    assert_eq!(r.status, 201);
    assert_ne!(
        r.header("etag"),
        Some(etag.as_str()),
        "a write changes the ETag"
    );

    // The listing names the blob decoded, with its properties (a Put Blob
    // without a content type resets it) and its ETag unquoted.
    let list = blob(
        "GET",
        &format!("{endpoint}alpha?restype=container&comp=list&prefix=dir/"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("<Name>dir/report one.txt</Name>")
            && list.body.contains("<Content-Length>3</Content-Length>")
            && list
                .body
                .contains("<Content-Type>application/octet-stream</Content-Type>")
            && list.body.contains(&format!(
                "<Etag>{}</Etag>",
                r.header("etag").unwrap().trim_matches('"')
            ))
            && list.body.contains("<Prefix>dir/</Prefix>"),
        "{}",
        list.body
    );
    let none = blob(
        "GET",
        &format!("{endpoint}alpha?restype=container&comp=list&prefix=other"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert!(!none.body.contains("<Blob>"), "{}", none.body);

    let missing = blob(
        "HEAD",
        &format!("{endpoint}alpha/nope"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-ms-error-code"), Some("BlobNotFound"));
}

#[test]
fn the_account_root_lists_containers() {
    let sim = start();
    let (endpoint, key) = account(&sim, ACCT);
    // A container made through the data plane is listed too.
    let made = blob(
        "PUT",
        &format!("{endpoint}gamma?restype=container"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(made.status, 201, "{}", made.body);

    let list = blob("GET", &format!("{endpoint}?comp=list"), ACCT, &key, "", &[]);
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.header("content-type"), Some("application/xml"));
    let body = list.body.trim_start_matches('\u{feff}');
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains(&format!("ServiceEndpoint=\"{endpoint}\"")),
        "{body}"
    );
    let names: Vec<&str> = body
        .split("<Name>")
        .skip(1)
        .map(|s| s.split("</Name>").next().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"], "sorted: {body}");
    for part in [
        "<Containers><Container><Name>alpha</Name><Properties><Last-Modified>",
        "<Etag>0x8D",
        "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>",
        "</Containers><NextMarker />",
    ] {
        assert!(body.contains(part), "{part}: {body}");
    }
    let modified = body
        .split("<Last-Modified>")
        .nth(1)
        .and_then(|s| s.split("</Last-Modified>").next());
    assert!(is_http_date(modified), "{body}");

    // prefix, maxresults and marker page through them.
    let first = blob(
        "GET",
        &format!("{endpoint}?comp=list&maxresults=2"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert!(
        first.body.contains("<MaxResults>2</MaxResults>")
            && first.body.contains("<NextMarker>gamma</NextMarker>")
            && !first.body.contains("<Name>gamma</Name>"),
        "{}",
        first.body
    );
    let second = blob(
        "GET",
        &format!("{endpoint}?comp=list&maxresults=2&marker=gamma"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert!(
        second.body.contains("<Name>gamma</Name>") && second.body.contains("<NextMarker />"),
        "{}",
        second.body
    );
    let prefixed = blob(
        "GET",
        &format!("{endpoint}?comp=list&prefix=be"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert!(
        prefixed.body.contains("<Prefix>be</Prefix>")
            && prefixed.body.contains("<Name>beta</Name>")
            && !prefixed.body.contains("<Name>alpha</Name>"),
        "{}",
        prefixed.body
    );

    // Without the endpoint's trailing slash as well; a bad signature is still refused.
    let bare = blob(
        "GET",
        &format!("{}?comp=list", endpoint.trim_end_matches('/')),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(bare.status, 200, "{}", bare.body);
    let wrong = blob(
        "GET",
        &format!("{endpoint}?comp=list"),
        ACCT,
        "d3Jvbmcga2V5",
        "",
        &[],
    );
    assert_eq!(wrong.status, 403);

    // Account information.
    let info = blob(
        "GET",
        &format!("{endpoint}?restype=account&comp=properties"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(info.status, 200);
    assert_eq!(info.header("x-ms-account-kind"), Some("StorageV2"));
    assert_eq!(info.header("x-ms-sku-name"), Some("Standard_LRS"));
}

#[test]
fn byte_ranges_parse_as_the_service_reads_them() {
    use sim::blob::{byte_range, ByteRange::*};
    assert_eq!(byte_range(None, 10), Whole);
    assert_eq!(byte_range(Some("bytes=0-9"), 10), Part(0, 9));
    assert_eq!(byte_range(Some("bytes=3-"), 10), Part(3, 9));
    assert_eq!(byte_range(Some("bytes=3-100"), 10), Part(3, 9));
    assert_eq!(byte_range(Some("bytes=10-"), 10), Unsatisfiable);
    assert_eq!(byte_range(Some("bytes=0-"), 0), Unsatisfiable);
    assert_eq!(byte_range(Some("bytes=5-2"), 10), Whole);
    assert_eq!(byte_range(Some("items=0-1"), 10), Whole);
    assert_eq!(byte_range(Some("bytes=-5"), 10), Whole);
}

#[test]
fn faults_at_the_front_door_answer_in_the_blob_services_xml() {
    let sim = start();
    let (endpoint, key) = account(&sim, ACCT);
    let fault = |status| sim::state::Fault {
        path: format!("/{ACCT}/"),
        method: Some("GET".into()),
        status: Some(status),
        count: Some(1),
        probability: None,
        latency_ms: None,
        drop_connection: false,
        retry_after: Some(3),
    };
    let url = format!("{endpoint}?comp=list");
    for (status, code, retry) in [(503, "ServerBusy", Some("3")), (500, "InternalError", None)] {
        sim.command(sim::Command::AddFault {
            fault: fault(status),
        })
        .unwrap();
        let r = blob("GET", &url, ACCT, &key, "", &[]);
        assert_eq!(r.status, status);
        assert_eq!(r.header("x-ms-error-code"), Some(code));
        assert!(
            r.body.contains(&format!("<Error><Code>{code}</Code>")),
            "{}",
            r.body
        );
        assert_eq!(r.header("retry-after"), retry, "{status}");
    }
    assert_eq!(blob("GET", &url, ACCT, &key, "", &[]).status, 200);
}

#[test]
fn the_endpoint_is_path_style_and_the_older_blob_prefix_still_serves() {
    let sim = start();
    let (endpoint, key) = account(&sim, ACCT);
    // Azurite's path style: the SDKs take the account name from the path of
    // a local endpoint, so it must be the first segment and nothing else.
    assert_eq!(endpoint, format!("{}/{ACCT}/", sim.url));
    let listed = blob("GET", &format!("{endpoint}?comp=list"), ACCT, &key, "", &[]);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        listed
            .body
            .contains(&format!("ServiceEndpoint=\"{endpoint}\"")),
        "{}",
        listed.body
    );
    // Accounts made by earlier releases keep `/_blob/{account}/` endpoints.
    let older = format!("{}/_blob/{ACCT}/", sim.url);
    let r = blob("GET", &format!("{older}?comp=list"), ACCT, &key, "", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("ServiceEndpoint=\"{older}\"")),
        "{}",
        r.body
    );
    // A container named like an identity path segment is still a container.
    let oauth = blob(
        "PUT",
        &format!("{endpoint}oauth2?restype=container"),
        ACCT,
        &key,
        "",
        &[],
    );
    assert_eq!(oauth.status, 201, "{}", oauth.body);
    // With ARM's api-version, a path under the account's name is ARM's
    // (it answers in ARM's JSON, not the blob service's XML).
    let token = token(&sim);
    let r = arm(&sim, &token, "GET", &format!("/{ACCT}/alpha"), None);
    assert!(r.body.trim_start().starts_with('{'), "{}", r.body);
}
