//! The emulator's DigitalOcean Spaces: the keys API driven by pydo, and the
//! S3 data plane driven by boto3 with those keys — in memory, and with a
//! real moto server behind it — and the refusals Spaces makes: a bad
//! signature, a deleted key, a key's grants, another team's bucket name, a
//! body that is not the one signed.

mod support;

use std::path::PathBuf;
use std::process::Command as Process;

use serde_json::{json, Value};
use sim::digitalocean::SEED_TOKEN;
use sim::{Sim, World};
use support::*;

/// The venv .ci/run makes for moto's server and boto3, with its pins.
const MOTO_MODULES: &str = "moto, boto3, flask";
const MOTO_PINS: &[&str] = &["moto[server]==5.2.5", "boto3==1.44.8"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `tests/python/<script>` in `python`; asserts it succeeded and
/// gives the JSON line it printed last.
fn python(python: PathBuf, script: &str, args: &[&str]) -> Value {
    let out = Process::new(python)
        .arg(root().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}

fn api(sim: &Sim, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let auth = format!("Bearer {token}");
    let body = body.map(Value::to_string);
    call(
        method,
        &format!("{}{path}", sim.url),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_deref(),
    )
}

/// A key made with the seed token: (access key, secret).
fn key(sim: &Sim, grants: Value) -> (String, String) {
    let r = api(
        sim,
        SEED_TOKEN,
        "POST",
        "/v2/spaces/keys",
        Some(&json!({ "name": "test-key", "grants": grants })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let k = r.json()["key"].clone();
    (
        k["access_key"].as_str().unwrap().to_string(),
        k["secret_key"].as_str().unwrap().to_string(),
    )
}

fn boto(
    sim: &Sim,
    region: &str,
    key: &(String, String),
    bucket: &str,
    moto: Option<&str>,
) -> Value {
    let endpoint = format!("{}/_spaces/{region}", sim.url);
    let mut args = vec![
        endpoint.as_str(),
        region,
        key.0.as_str(),
        key.1.as_str(),
        bucket,
    ];
    if let Some(m) = moto {
        args.push(m);
    }
    python(
        venv_python("py-moto", MOTO_MODULES, MOTO_PINS),
        "spaces_s3.py",
        &args,
    )
}

fn assert_boto_run(seen: &Value, bucket: &str, region: &str) {
    assert_eq!(seen["again"], "BucketAlreadyOwnedByYou", "{seen}");
    assert_eq!(seen["get"], "hello spaces", "{seen}");
    assert_eq!(seen["head_length"], 2048, "{seen}");
    assert_eq!(seen["missing"], "NoSuchKey", "{seen}");
    assert_eq!(seen["folders"], json!(["backups/", "notes/"]), "{seen}");
    assert_eq!(
        seen["all_keys"],
        json!(["backups/", "backups/site.tar.gz", "notes/read me.txt"]),
        "paged one key at a time: {seen}"
    );
    assert_eq!(seen["location"], region, "{seen}");
    assert_eq!(seen["buckets"], json!([bucket]), "{seen}");
    assert_eq!(seen["not_empty"], "BucketNotEmpty", "{seen}");
    assert_eq!(seen["wrong_secret"], "SignatureDoesNotMatch", "{seen}");
    assert_eq!(seen["unknown_key"], "InvalidAccessKeyId", "{seen}");
    assert_eq!(seen["after"], json!([]), "{seen}");
}

/// pydo makes, lists, reads and deletes a Spaces key; the secret is shown
/// only when the key is made.
#[test]
fn pydo_manages_spaces_keys() {
    // pydo sends its token only over https.
    let tls = sim::tls::Tls::generate().expect("a certificate authority");
    let sim = Sim::spawn_with(World::default(), "127.0.0.1:0", None, Some(tls)).unwrap();
    let ca = std::env::temp_dir().join(format!("spaces-keys-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, sim.ca_pem.as_deref().unwrap()).unwrap();
    let py = venv_python(
        "py-digitalocean",
        "pydo",
        &[
            "pydo==0.44.0",
            "requests-oauthlib==2.0.0",
            "oauthlib==4.0.1",
        ],
    );
    let script = r#"
import json, sys, pydo
c = pydo.Client(token=sys.argv[2], endpoint=sys.argv[1])
made = c.spaces_key.create(body={"name": "backups", "grants": [{"bucket": "", "permission": "fullaccess"}]})["key"]
listed = c.spaces_key.list()
got = c.spaces_key.get(access_key=made["access_key"])["key"]
c.spaces_key.delete(access_key=made["access_key"])
after = c.spaces_key.list()
print(json.dumps({"made": made, "listed": listed, "got": got, "after": after}))
"#;
    let dir = std::env::temp_dir().join(format!("spaces-keys-{}.py", std::process::id()));
    std::fs::write(&dir, script).unwrap();
    let out = Process::new(py)
        .arg(&dir)
        .args([sim.url.as_str(), SEED_TOKEN])
        .env("REQUESTS_CA_BUNDLE", &ca)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_file(&dir);
    let _ = std::fs::remove_file(&ca);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let made = &v["made"];
    assert!(
        made["access_key"].as_str().unwrap().starts_with("DO"),
        "{v}"
    );
    assert_eq!(made["secret_key"].as_str().unwrap().len(), 43, "{v}");
    assert_eq!(
        made["grants"],
        json!([{ "bucket": "", "permission": "fullaccess" }]),
        "{v}"
    );
    assert_eq!(v["listed"]["meta"]["total"], 1, "{v}");
    assert!(v["listed"]["keys"][0].get("secret_key").is_none(), "{v}");
    assert!(v["got"].get("secret_key").is_none(), "{v}");
    assert_eq!(v["got"]["name"], "backups", "{v}");
    assert_eq!(v["after"]["meta"]["total"], 0, "{v}");
}

/// boto3 makes a bucket, writes, reads, lists (folders, pages) and deletes,
/// with the emulator keeping the objects.
#[test]
fn boto3_uses_a_space_kept_in_memory() {
    let sim = start();
    let k = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let seen = boto(&sim, "ams3", &k, "skyport-boto-1", None);
    assert_boto_run(&seen, "skyport-boto-1", "ams3");
}

/// The same with a real moto server keeping the objects: the emulator
/// checks, moto stores.
#[test]
fn boto3_uses_a_space_kept_by_moto() {
    venv_python("py-moto", MOTO_MODULES, MOTO_PINS);
    let moto = sim::moto::Moto::start(&root()).expect("moto starts");
    let mut world = World::default();
    world.digitalocean.moto_url = Some(moto.url.clone());
    let sim = start_with(world);
    let k = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let seen = boto(&sim, "nyc3", &k, "skyport-moto-1", Some(&moto.url));
    assert_boto_run(&seen, "skyport-moto-1", "nyc3");
    assert_eq!(
        seen["in_moto"],
        json!(["backups/", "backups/site.tar.gz", "notes/read me.txt"]),
        "{seen}"
    );
}

/// Spaces' refusals: a key's grants (a read key cannot write, nor reach
/// another bucket, nor make one), a name another team holds, a name S3
/// does not allow, and a body other than the one signed.
#[test]
fn spaces_refuses_what_a_key_or_a_signature_does_not_allow() {
    let sim = start();
    const OTHER: &str = "dop_v1_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";
    sim.command(sim::Command::AddDigitalOceanTeam {
        team: serde_json::from_value(json!({
            "uuid": "7d0e5f6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "name": "Other Team",
            "email": "other@example.com", "tokens": [OTHER],
        }))
        .unwrap(),
    })
    .unwrap();
    let full = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let read = key(
        &sim,
        json!([{ "bucket": "bucket-a", "permission": "read" }]),
    );
    let r = api(
        &sim,
        OTHER,
        "POST",
        "/v2/spaces/keys",
        Some(
            &json!({ "name": "theirs", "grants": [{ "bucket": "", "permission": "fullaccess" }] }),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let k = r.json()["key"].clone();
    let endpoint = format!("{}/_spaces/nyc3", sim.url);
    let seen = python(
        venv_python("py-moto", MOTO_MODULES, MOTO_PINS),
        "spaces_refusals.py",
        &[
            &endpoint,
            "nyc3",
            &full.0,
            &full.1,
            &read.0,
            &read.1,
            k["access_key"].as_str().unwrap(),
            k["secret_key"].as_str().unwrap(),
        ],
    );
    assert_eq!(
        seen,
        json!({
            "read_lists": ["kept.txt"],
            "read_writes": "AccessDenied",
            "read_other_bucket": "AccessDenied",
            "read_makes_bucket": "AccessDenied",
            "other_team_name": "BucketAlreadyExists",
            "other_team_head": "403",
            "bad_name": "InvalidBucketName",
            "tampered": "XAmzContentSHA256Mismatch",
        })
    );
}

/// Signs each request of a job with botocore's own SigV4 signer (as the
/// Skyport plugin signs: host, x-amz-content-sha256, x-amz-date, and
/// content-type when one is sent), sends it as written (path and query
/// already encoded) and prints every answer as one JSON line. A request
/// may sign with another region's scope, a skewed clock, or send a body
/// other than the one signed.
const SIGNED_SENDER: &str = r#"
import datetime, json, re, sys
import botocore.auth
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

job = json.load(sys.stdin)
now = botocore.auth.get_current_datetime
http = urllib3.PoolManager(retries=False)
out = []
for r in job["requests"]:
    body = r.get("body", "").encode()
    headers = {"content-type": r["content_type"]} if r.get("content_type") else {}
    req = AWSRequest(method=r["method"], url=job["endpoint"] + r["path"], data=body, headers=headers)
    if r.get("key"):
        skew = datetime.timedelta(minutes=r.get("skew_minutes", 0))
        botocore.auth.get_current_datetime = lambda: now() + skew
        S3SigV4Auth(Credentials(*r["key"]), "s3", r.get("scope", job["region"])).add_auth(req)
    sent = r["sent_body"].encode() if "sent_body" in r else body
    resp = http.request(r["method"], req.url, body=sent, headers=dict(req.headers.items()), redirect=False)
    text = resp.data.decode("utf-8", "replace")
    code = re.search(r"<Code>(.*?)</Code>", text)
    out.append({"status": resp.status, "code": code.group(1) if code else None, "body": text,
                "headers": {k.lower(): v for k, v in resp.headers.items()}})
print(json.dumps(out))
"#;

/// Sends `requests` (see [`SIGNED_SENDER`]) to `{sim}/_spaces` + each path,
/// signed for `region` unless a request says otherwise.
fn signed(sim: &Sim, region: &str, requests: &[Value]) -> Vec<Value> {
    use std::io::Write;
    let script = std::env::temp_dir().join(format!(
        "spaces-signed-{}.py",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&script, SIGNED_SENDER).unwrap();
    let mut child = Process::new(venv_python("py-moto", MOTO_MODULES, MOTO_PINS))
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let job = json!({ "endpoint": format!("{}/_spaces", sim.url), "region": region, "requests": requests });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(answers.len(), requests.len());
    answers
}

/// A request signed by `key`.
fn req(key: &(String, String), method: &str, path: &str) -> Value {
    json!({ "method": method, "path": path, "key": [key.0, key.1] })
}

/// The texts of every `<tag>…</tag>` in `xml`, in order.
fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split_once(&close).map(|(t, _)| t.to_string()))
        .collect()
}

fn quoted_md5(body: &[u8]) -> String {
    let hex: String = sim::digitalocean::md5::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// The requests the Skyport plugin sends to check and use a Space, in its
/// exact forms (`?location=`, the listing's query in its order, keys like
/// `backups/` and `backups/skyport-probe-<hex>`), and what each is answered.
fn plugin_walk(sim: &Sim, bucket: &str) {
    let k = key(sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let b = format!("/nyc3/{bucket}");
    let probe = format!("{b}/backups/skyport-probe-5eed0a1b");
    let list = format!("{b}?delimiter=%2F&list-type=2&max-keys=1000");
    let mut put_probe = req(&k, "PUT", &probe);
    put_probe["body"] = json!("probe");
    put_probe["content_type"] = json!("text/plain");
    let a = signed(
        sim,
        "nyc3",
        &[
            req(&k, "GET", "/nyc3/"),
            req(&k, "PUT", &b),
            req(&k, "HEAD", &b),
            req(&k, "GET", &format!("{b}?location=")),
            req(&k, "PUT", &format!("{b}/backups/")),
            put_probe,
            req(&k, "GET", &list),
            req(&k, "GET", &format!("{list}&prefix=backups%2F")),
            req(&k, "GET", &probe),
            req(&k, "HEAD", &probe),
            req(&k, "DELETE", &b),
            req(&k, "DELETE", &probe),
            req(&k, "GET", &probe),
            req(&k, "DELETE", &probe),
            req(&k, "DELETE", &format!("{b}/backups/")),
            req(&k, "DELETE", &b),
            req(&k, "HEAD", &b),
            req(&k, "GET", "/nyc3/"),
        ],
    );
    let status: Vec<u64> = a.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(
        status,
        [
            200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 409, 204, 404, 204, 204, 204, 404,
            200
        ],
        "{a:#?}"
    );
    let body = |i: usize| a[i]["body"].as_str().unwrap().to_string();
    assert!(body(0).contains("<ListAllMyBucketsResult"), "{}", body(0));
    assert!(tags(&body(0), "Name").is_empty(), "{}", body(0));
    assert_eq!(a[1]["headers"]["location"], format!("/{bucket}"));
    assert_eq!(body(2), "", "a HEAD answer has no body");
    assert!(
        body(3).contains(">nyc3</LocationConstraint>"),
        "{}",
        body(3)
    );
    assert_eq!(a[4]["headers"]["etag"], quoted_md5(b""));
    assert_eq!(a[5]["headers"]["etag"], quoted_md5(b"probe"));
    assert_eq!(
        tags(&body(6), "Prefix").last().unwrap(),
        "backups/",
        "{}",
        body(6)
    );
    assert!(tags(&body(6), "Key").is_empty(), "{}", body(6));
    assert_eq!(tags(&body(6), "KeyCount"), ["1"], "{}", body(6));
    assert_eq!(
        tags(&body(7), "Key"),
        ["backups/", "backups/skyport-probe-5eed0a1b"],
        "{}",
        body(7)
    );
    assert_eq!(tags(&body(7), "IsTruncated"), ["false"], "{}", body(7));
    assert_eq!(tags(&body(7), "StorageClass"), ["STANDARD", "STANDARD"]);
    assert_eq!(tags(&body(7), "Size"), ["0", "5"]);
    assert_eq!(body(8), "probe");
    assert_eq!(a[8]["headers"]["content-type"], "text/plain");
    assert_eq!(a[9]["headers"]["content-length"], "5");
    assert_eq!(body(9), "");
    assert_eq!(a[10]["code"], "BucketNotEmpty", "{}", body(10));
    assert_eq!(a[12]["code"], "NoSuchKey", "{}", body(12));
    assert_eq!(body(16), "", "a HEAD answer has no body");
    assert!(tags(&body(17), "Name").is_empty(), "{}", body(17));
}

/// The plugin's requests, with the emulator keeping the objects.
#[test]
fn the_plugins_requests_are_answered_as_spaces_answers_them() {
    let sim = start();
    plugin_walk(&sim, "skyport-walk-1");
}

/// The plugin's requests, with a real moto server keeping the objects.
#[test]
fn the_plugins_requests_are_answered_with_moto_behind() {
    venv_python("py-moto", MOTO_MODULES, MOTO_PINS);
    let moto = sim::moto::Moto::start(&root()).expect("moto starts");
    let mut world = World::default();
    world.digitalocean.moto_url = Some(moto.url.clone());
    let sim = start_with(world);
    plugin_walk(&sim, "skyport-walk-2");
}

/// What Spaces refuses before it looks at a bucket: no signature, a key
/// deleted through the keys API, a credential scoped to another region, a
/// clock more than 15 minutes off (5 minutes is fine), a wrong secret, a
/// region without Spaces, a body other than the one signed; and a bucket
/// asked for at another region's endpoint is redirected there.
#[test]
fn spaces_refuses_unknown_keys_scopes_clocks_and_regions() {
    let sim = start();
    let k = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let gone = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let r = api(
        &sim,
        SEED_TOKEN,
        "DELETE",
        &format!("/v2/spaces/keys/{}", gone.0),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let wrong = (k.0.clone(), format!("{}x", &k.1[1..]));
    let mut scoped = req(&k, "GET", "/nyc3/");
    scoped["scope"] = json!("sfo3");
    let mut late = req(&k, "GET", "/nyc3/");
    late["skew_minutes"] = json!(-20);
    let mut early = req(&k, "GET", "/nyc3/");
    early["skew_minutes"] = json!(5);
    let mut tampered = req(&k, "PUT", "/nyc3/skyport-far/x");
    tampered["body"] = json!("what was signed");
    tampered["sent_body"] = json!("what was sent!!");
    let mut elsewhere = req(&k, "GET", "/sfo3/skyport-far?list-type=2");
    elsewhere["scope"] = json!("sfo3");
    let mut nowhere = req(&k, "GET", "/xyz9/");
    nowhere["scope"] = json!("xyz9");
    let a = signed(
        &sim,
        "nyc3",
        &[
            json!({ "method": "GET", "path": "/nyc3/" }),
            req(&gone, "GET", "/nyc3/"),
            scoped,
            late,
            early,
            req(&wrong, "GET", "/nyc3/"),
            nowhere,
            req(&k, "PUT", "/nyc3/skyport-far"),
            tampered,
            elsewhere,
        ],
    );
    let seen: Vec<(u64, Option<&str>)> = a
        .iter()
        .map(|r| (r["status"].as_u64().unwrap(), r["code"].as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (403, Some("AccessDenied")),
            (403, Some("InvalidAccessKeyId")),
            (400, Some("AuthorizationHeaderMalformed")),
            (403, Some("RequestTimeTooSkewed")),
            (200, None),
            (403, Some("SignatureDoesNotMatch")),
            (400, Some("InvalidArgument")),
            (200, None),
            (400, Some("XAmzContentSHA256Mismatch")),
            (301, Some("PermanentRedirect")),
        ],
        "{a:#?}"
    );
    for r in &a {
        if r["code"].is_string() {
            assert_eq!(r["headers"]["content-type"], "application/xml", "{r}");
            assert!(r["headers"]["x-amz-request-id"].is_string(), "{r}");
            let body = r["body"].as_str().unwrap();
            assert!(
                body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"),
                "{body}"
            );
            assert_eq!(tags(body, "RequestId").len(), 1, "{body}");
            assert_eq!(tags(body, "HostId").len(), 1, "{body}");
        }
    }
    assert_eq!(a[9]["headers"]["x-amz-bucket-region"], "nyc3");
    assert_eq!(
        tags(a[9]["body"].as_str().unwrap(), "BucketName"),
        ["skyport-far"]
    );
}

/// Scripted faults on the Spaces paths are answered as S3 answers them
/// (503 SlowDown, 500 InternalError, in S3's XML) before any signature is
/// looked at, and spend their count.
#[test]
fn faults_on_spaces_paths_are_answered_in_s3_words() {
    let sim = start();
    for status in [503, 500] {
        let fault: sim::state::Fault =
            serde_json::from_value(json!({ "path": "/_spaces/", "status": status, "count": 1 }))
                .unwrap();
        sim.command(sim::Command::AddFault { fault }).unwrap();
        let r = call("GET", &format!("{}/_spaces/nyc3/", sim.url), &[], None);
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/xml"));
        let code = if status == 503 {
            "SlowDown"
        } else {
            "InternalError"
        };
        assert_eq!(tags(&r.body, "Code"), [code], "{}", r.body);
    }
    // Spent: the request is looked at again, and has no signature.
    let r = call("GET", &format!("{}/_spaces/nyc3/", sim.url), &[], None);
    assert_eq!(
        (r.status, tags(&r.body, "Code")),
        (403, vec!["AccessDenied".to_string()])
    );
}

/// Buckets made while the emulator kept the objects are made in moto when
/// first used once moto is named (SpacesBackend), and one moto never had
/// is deleted here all the same.
#[test]
fn buckets_made_before_moto_are_made_there_when_first_used() {
    let sim = start();
    let k = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let made = signed(
        &sim,
        "nyc3",
        &[
            req(&k, "PUT", "/nyc3/skyport-before-1"),
            req(&k, "PUT", "/nyc3/skyport-before-2"),
        ],
    );
    assert!(made.iter().all(|r| r["status"] == 200), "{made:#?}");
    venv_python("py-moto", MOTO_MODULES, MOTO_PINS);
    let moto = sim::moto::Moto::start(&root()).expect("moto starts");
    sim.command(sim::Command::SpacesBackend {
        moto_url: Some(moto.url.clone()),
    })
    .unwrap();
    let mut put = req(&k, "PUT", "/nyc3/skyport-before-1/backups/kept.txt");
    put["body"] = json!("kept");
    let a = signed(
        &sim,
        "nyc3",
        &[
            put,
            req(&k, "GET", "/nyc3/skyport-before-1/backups/kept.txt"),
            req(&k, "DELETE", "/nyc3/skyport-before-2"),
            req(&k, "HEAD", "/nyc3/skyport-before-2"),
        ],
    );
    let status: Vec<u64> = a.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(status, [200, 200, 204, 404], "{a:#?}");
    assert_eq!(a[1]["body"], "kept");
    // moto itself has the object.
    let r = call(
        "GET",
        &format!("{}/skyport-before-1?list-type=2", moto.url),
        &[],
        None,
    );
    assert_eq!(tags(&r.body, "Key"), ["backups/kept.txt"], "{}", r.body);
}

/// The keys API refuses what DigitalOcean refuses: a key without a name or
/// grants, a permission it does not know, a scoped grant on every bucket,
/// another team's key (not found), and a request without a token.
#[test]
fn the_spaces_keys_api_refuses_bad_keys_and_other_teams() {
    let sim = start();
    const OTHER: &str = "dop_v1_1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
    sim.command(sim::Command::AddDigitalOceanTeam {
        team: serde_json::from_value(json!({
            "uuid": "8e1f6a7b-2c3d-4e5f-9a0b-1c2d3e4f5a6b", "name": "Other Team",
            "email": "other@example.com", "tokens": [OTHER],
        }))
        .unwrap(),
    })
    .unwrap();
    for body in [
        json!({ "grants": [{ "bucket": "", "permission": "fullaccess" }] }),
        json!({ "name": "k" }),
        json!({ "name": "k", "grants": [{ "bucket": "a", "permission": "admin" }] }),
        json!({ "name": "k", "grants": [{ "bucket": "", "permission": "read" }] }),
    ] {
        let r = api(&sim, SEED_TOKEN, "POST", "/v2/spaces/keys", Some(&body));
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.json()["id"], "unprocessable_entity", "{}", r.body);
        assert!(r.json()["request_id"].is_string(), "{}", r.body);
    }
    let (access, _) = key(&sim, json!([{ "bucket": "", "permission": "fullaccess" }]));
    let theirs = api(
        &sim,
        OTHER,
        "GET",
        &format!("/v2/spaces/keys/{access}"),
        None,
    );
    assert_eq!(
        (theirs.status, theirs.json()["id"].clone()),
        (404, json!("not_found"))
    );
    let r = api(
        &sim,
        OTHER,
        "DELETE",
        &format!("/v2/spaces/keys/{access}"),
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        api(&sim, OTHER, "GET", "/v2/spaces/keys", None).json()["meta"]["total"],
        0
    );
    let mine = api(&sim, SEED_TOKEN, "GET", "/v2/spaces/keys", None);
    assert_eq!(mine.json()["meta"]["total"], 1, "{}", mine.body);
    assert!(mine.header("ratelimit-remaining").is_some());
    let r = call("GET", &format!("{}/v2/spaces/keys", sim.url), &[], None);
    assert_eq!(r.status, 401);
}
