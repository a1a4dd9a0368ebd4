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
        venv_python("py-moto", "moto, boto3", MOTO_PINS),
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
    venv_python("py-moto", "moto, boto3", MOTO_PINS);
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
        venv_python("py-moto", "moto, boto3", MOTO_PINS),
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
