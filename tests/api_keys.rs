//! API keys per organization: created with a name and shown once, listed by
//! prefix (never the key), revoked at once on every endpoint, managed only by
//! the organization's own keys; the bootstrap variable as the operator's key
//! (rotating it retires the old value and keeps the same organization); and
//! keys of a database made before key management keep working.

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

const ROTATED_KEY: &str = "sk_bootstrap_rotated_9876543210";

fn body(v: Value) -> String {
    v.to_string()
}

/// The organization `key` belongs to, from `GET /api/v1/orgs/me`.
fn org_of(p: &Product, key: &str) -> Value {
    let (status, v) = p.api("GET", "/api/v1/orgs/me", key, "");
    assert_eq!(status, 200, "{v}");
    v
}

fn create_key(p: &Product, key: &str, name: &str) -> Value {
    let (status, v) = p.api(
        "POST",
        "/api/v1/orgs/me/keys",
        key,
        &body(json!({ "name": name })),
    );
    assert_eq!(status, 201, "{v}");
    v
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
            && v["error"]["remedy"].as_str().is_some_and(|r| !r.is_empty()),
        "an error envelope with a message and a remedy: {v}"
    );
}

/// Stops the host, then starts it again with `bootstrap` as the variable.
fn restart_with_bootstrap(p: &mut Product, bootstrap: &str) {
    for (k, v) in p.opts.env.iter_mut() {
        if k == "SPIN_VARIABLE_BOOTSTRAP_API_KEY" {
            *v = bootstrap.to_string();
        }
    }
    p.restart();
}

fn database(p: &Product) -> rusqlite::Connection {
    let path = p.dir.path().join(".spin").join("sqlite_db.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(path).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db
}

fn default_orgs(p: &Product) -> i64 {
    database(p)
        .query_row(
            "SELECT count(*) FROM orgs WHERE name = 'default'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_key_is_created_shown_once_listed_by_prefix_and_revoked_at_once() {
    let p = Product::start(World::default());
    let me = org_of(&p, BOOTSTRAP_KEY);
    let org = me["id"].as_str().unwrap().to_string();
    assert_eq!(me["bootstrap"], true, "{me}");
    assert_eq!(me["calling_key"]["kind"], "bootstrap_api_key");

    let created = create_key(&p, BOOTSTRAP_KEY, "deploy bot");
    let secret = created["api_key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sk_") && secret.len() == 35, "{created}");
    assert_eq!(created["prefix"], secret[..11], "{created}");
    assert_eq!(created["name"], "deploy bot");
    assert!(created["created_at"].is_number());
    assert!(created["revoked_at"].is_null() && created["last_used_at"].is_null());
    assert!(created["notice"].as_str().unwrap().contains("only"));

    // The key works on every function, for the same organization.
    for path in [
        "/api/v1/accounts",
        "/api/v1/servers",
        "/api/v1/storage/targets",
    ] {
        let (status, v) = p.api("GET", path, &secret, "");
        assert_eq!(status, 200, "{path}: {v}");
    }
    let me = org_of(&p, &secret);
    assert_eq!(me["id"], org);
    assert_eq!(me["calling_key"]["id"], id.as_str());
    assert_eq!(me["calling_key"]["prefix"], created["prefix"]);

    // The list (by `me` or by id) shows it without the key or its hash.
    let hash: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for path in [
        "/api/v1/orgs/me/keys".to_string(),
        format!("/api/v1/orgs/{org}/keys"),
    ] {
        let (status, list) = p.api("GET", &path, &secret, "");
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["org_id"], org);
        let text = list.to_string();
        assert!(
            !text.contains(&secret) && !text.contains(&hash) && !text.contains(&secret[11..]),
            "no secret in the list: {text}"
        );
        let keys = list["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{list}");
        let listed = keys[0].as_object().unwrap();
        let mut fields: Vec<&str> = listed.keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "created_at",
                "id",
                "last_used_at",
                "name",
                "prefix",
                "revoked_at"
            ]
        );
        assert_eq!(listed["id"], id.as_str());
        assert_eq!(listed["prefix"], created["prefix"]);
        assert!(listed["last_used_at"].is_number(), "it was used: {list}");
    }

    // Revoked: 401 at once, on every function.
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/{org}/keys/{id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    let revoked_at = v["key"]["revoked_at"].clone();
    assert!(revoked_at.is_number(), "{v}");
    assert_eq!(v["revoked_calling_key"], false);
    for (method, path) in [
        ("GET", "/api/v1/accounts"),
        ("GET", "/api/v1/orgs/me"),
        ("GET", "/api/v1/orgs/me/keys"),
        ("POST", "/api/v1/accounts/azure/connect"),
        ("GET", "/api/v1/servers"),
        ("GET", "/api/v1/storage/targets"),
        ("GET", "/api/v1/dns/domains/example.com/records"),
    ] {
        let (status, v) = p.api(method, path, &secret, "");
        assert_eq!(status, 401, "{method} {path}: {v}");
        assert!(v["error"]["code"].is_string() && v["error"]["remedy"].is_string());
    }
    let (_, v) = p.api("GET", "/api/v1/accounts", &secret, "");
    assert_error(&v, "key_revoked");
    // Revoking again changes nothing; the list shows when it was revoked.
    let (status, again) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/me/keys/{id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["key"]["revoked_at"], revoked_at);
    let (_, list) = p.api("GET", "/api/v1/orgs/me/keys", BOOTSTRAP_KEY, "");
    assert_eq!(list["keys"][0]["revoked_at"], revoked_at, "{list}");
}

#[test]
fn misuse_of_the_keys_endpoints_gets_an_error_with_a_remedy() {
    let p = Product::start(World::default());
    for (sent, code) in [
        ("{}", "missing_fields"),
        (r#"{"name": "   "}"#, "missing_fields"),
        (r#"{"name": 5}"#, "invalid_field"),
        ("{not json", "malformed_json"),
        ("[1]", "malformed_json"),
    ] {
        let (status, v) = p.api("POST", "/api/v1/orgs/me/keys", BOOTSTRAP_KEY, sent);
        assert_eq!(status, 400, "{sent}: {v}");
        assert_error(&v, code);
    }
    let long = body(json!({ "name": "x".repeat(101) }));
    let (status, v) = p.api("POST", "/api/v1/orgs/me/keys", BOOTSTRAP_KEY, &long);
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_field");

    let (status, v) = p.api(
        "DELETE",
        "/api/v1/orgs/me/keys/not-an-id",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "malformed_id");
    let (status, v) = p.api(
        "DELETE",
        "/api/v1/orgs/me/keys/00000000-0000-4000-8000-000000000000",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 404, "{v}");
    assert_error(&v, "not_found");
    for (method, path, status_code, code) in [
        ("PUT", "/api/v1/orgs/me/keys", 405, "method_not_allowed"),
        ("GET", "/api/v1/orgs/me/secrets", 404, "no_such_endpoint"),
        ("GET", "/api/v1/orgs", 405, "method_not_allowed"),
    ] {
        let (status, v) = p.api(method, path, BOOTSTRAP_KEY, "");
        assert_eq!(status, status_code, "{method} {path}: {v}");
        assert_error(&v, code);
    }
    // Without a valid key, nothing is said about organizations or keys.
    for key in ["", "sk_not_a_key"] {
        let (status, v) = p.api("GET", "/api/v1/orgs/me/keys", key, "");
        assert_eq!(status, 401, "{v}");
        assert_error(&v, "unauthenticated");
    }
}

#[test]
fn another_organization_can_neither_see_nor_revoke_your_keys() {
    let p = Product::start(World::default());
    let mine = org_of(&p, BOOTSTRAP_KEY)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = create_key(&p, BOOTSTRAP_KEY, "mine");
    let key_id = key["id"].as_str().unwrap();
    let other = p.new_org("Other Co");
    let theirs = org_of(&p, &other);
    assert_eq!(theirs["name"], "Other Co");
    assert_eq!(theirs["bootstrap"], false);
    assert_ne!(theirs["id"], mine.as_str());

    // Another organization's id answers exactly as an id that does not exist.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (_, absent) = p.api("GET", &format!("/api/v1/orgs/{unknown}/keys"), &other, "");
    for (method, path, sent) in [
        ("GET", format!("/api/v1/orgs/{mine}"), ""),
        ("GET", format!("/api/v1/orgs/{mine}/keys"), ""),
        (
            "POST",
            format!("/api/v1/orgs/{mine}/keys"),
            r#"{"name":"x"}"#,
        ),
        ("DELETE", format!("/api/v1/orgs/{mine}/keys/{key_id}"), ""),
        // Its own organization in the path, another's key id.
        ("DELETE", format!("/api/v1/orgs/me/keys/{key_id}"), ""),
    ] {
        let (status, v) = p.api(method, &path, &other, sent);
        assert_eq!(status, 404, "{method} {path}: {v}");
        assert_error(&v, "not_found");
        if path.contains(&mine) {
            assert_eq!(v, absent, "{method} {path}");
        }
    }
    // The key is untouched, and the other organization lists only its own.
    let (status, _) = p.api(
        "GET",
        "/api/v1/accounts",
        key["api_key"].as_str().unwrap(),
        "",
    );
    assert_eq!(status, 200);
    let (_, list) = p.api("GET", "/api/v1/orgs/me/keys", &other, "");
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{list}");
    assert_ne!(keys[0]["id"], key_id);

    // Only the bootstrap key creates organizations.
    let (status, v) = p.api("POST", "/api/v1/orgs", &other, r#"{"name":"Mine"}"#);
    assert_eq!(status, 403, "{v}");
    assert_error(&v, "forbidden");
    let (status, v) = p.api("POST", "/api/v1/orgs", "sk_not_a_key", r#"{"name":"Mine"}"#);
    assert_eq!(status, 401, "{v}");
    assert_error(&v, "unauthenticated");
}

#[test]
fn the_last_key_stays_and_revoking_your_own_key_is_said_plainly() {
    let p = Product::start(World::default());
    let first = p.new_org("Acme");
    let me = org_of(&p, &first);
    let first_id = me["calling_key"]["id"].as_str().unwrap().to_string();

    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/me/keys/{first_id}"),
        &first,
        "",
    );
    assert_eq!(status, 409, "{v}");
    assert_error(&v, "last_key");
    assert!(v["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("POST /api/v1/orgs/me/keys"));
    assert_eq!(org_of(&p, &first)["id"], me["id"], "still works");

    // With a second key, the first may revoke itself, and is told so.
    let second = create_key(&p, &first, "second");
    let (status, v) = p.api(
        "DELETE",
        &format!(
            "/api/v1/orgs/{}/keys/{first_id}",
            me["id"].as_str().unwrap()
        ),
        &first,
        "",
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revoked_calling_key"], true);
    assert!(v["notice"].as_str().unwrap().contains("401"), "{v}");
    let (status, _) = p.api("GET", "/api/v1/orgs/me", &first, "");
    assert_eq!(status, 401);
    let second_key = second["api_key"].as_str().unwrap();
    assert_eq!(org_of(&p, second_key)["id"], me["id"]);
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/me/keys/{}", second["id"].as_str().unwrap()),
        second_key,
        "",
    );
    assert_eq!(status, 409, "{v}");
    assert_error(&v, "last_key");

    // The bootstrap organization is always opened by the variable, so all
    // its stored keys may go.
    let only = create_key(&p, BOOTSTRAP_KEY, "only");
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/me/keys/{}", only["id"].as_str().unwrap()),
        only["api_key"].as_str().unwrap(),
        "",
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revoked_calling_key"], true);
}

#[test]
fn rotating_the_bootstrap_variable_retires_the_old_key_and_keeps_the_organization() {
    let mut p = Product::start(World::default());
    let first = org_of(&p, BOOTSTRAP_KEY);
    let (_, accounts) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    let kept = create_key(&p, BOOTSTRAP_KEY, "kept");
    let kept_key = kept["api_key"].as_str().unwrap().to_string();
    let acme = p.new_org("Acme");
    // Opening it again does not make another organization.
    assert_eq!(org_of(&p, BOOTSTRAP_KEY)["id"], first["id"]);
    assert_eq!(default_orgs(&p), 1);

    restart_with_bootstrap(&mut p, ROTATED_KEY);
    for (method, path, sent) in [
        ("GET", "/api/v1/accounts", ""),
        ("GET", "/api/v1/orgs/me", ""),
        ("GET", "/api/v1/orgs/me/keys", ""),
        ("POST", "/api/v1/orgs", r#"{"name":"Again"}"#),
        ("POST", "/api/v1/accounts/azure/connect", ""),
    ] {
        let (status, v) = p.api(method, path, BOOTSTRAP_KEY, sent);
        assert_eq!(status, 401, "the old bootstrap key, {method} {path}: {v}");
    }
    let now = org_of(&p, ROTATED_KEY);
    assert_eq!(now["id"], first["id"], "the same first organization");
    assert_eq!(now["bootstrap"], true);
    let (status, same) = p.api("GET", "/api/v1/accounts", ROTATED_KEY, "");
    assert_eq!((status, &same), (200, &accounts));
    let (_, list) = p.api("GET", "/api/v1/orgs/me/keys", ROTATED_KEY, "");
    assert_eq!(list["keys"][0]["id"], kept["id"], "{list}");
    assert_eq!(default_orgs(&p), 1, "no second `default` organization");
    // Stored keys are untouched by the rotation; only the new value creates
    // organizations.
    assert_eq!(org_of(&p, &kept_key)["id"], first["id"]);
    assert_eq!(org_of(&p, &acme)["name"], "Acme");
    let (status, v) = p.api("POST", "/api/v1/orgs", ROTATED_KEY, r#"{"name":"Beta"}"#);
    assert_eq!(status, 201, "{v}");

    // An empty variable: no bootstrap key at all.
    restart_with_bootstrap(&mut p, "");
    for key in [BOOTSTRAP_KEY, ROTATED_KEY, ""] {
        let (status, v) = p.api("GET", "/api/v1/orgs/me", key, "");
        assert_eq!(status, 401, "{key:?}: {v}");
        let (status, v) = p.api("POST", "/api/v1/orgs", key, r#"{"name":"Gamma"}"#);
        assert_eq!(status, 401, "{key:?}: {v}");
    }
    assert_eq!(org_of(&p, &kept_key)["id"], first["id"]);
    // The bootstrap organization no longer has the variable as a way in, so
    // its last stored key stays.
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/orgs/me/keys/{}", kept["id"].as_str().unwrap()),
        &kept_key,
        "",
    );
    assert_eq!(status, 409, "{v}");
    assert_error(&v, "last_key");
}

#[test]
fn keys_of_a_database_made_before_key_management_keep_working() {
    const LEGACY_KEY: &str = "sk_legacyKey0123456789abcdefghijkl";
    let mut p = Product::start(World::default());
    let hash = |k: &str| -> String {
        Sha256::digest(k.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // The schema and rows the previous version wrote: its bootstrap
    // organization held the bootstrap key's hash as an ordinary key.
    {
        let db = database(&p);
        db.execute_batch(
            "CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), created_at INTEGER NOT NULL);
             INSERT INTO orgs VALUES ('11111111-1111-4111-8111-111111111111', 'default', 1700000000);
             INSERT INTO orgs VALUES ('22222222-2222-4222-8222-222222222222', 'Legacy', 1700000100);",
        )
        .unwrap();
        db.execute(
            "INSERT INTO api_keys VALUES (?1, '11111111-1111-4111-8111-111111111111', 1700000000)",
            [hash(BOOTSTRAP_KEY)],
        )
        .unwrap();
        db.execute(
            "INSERT INTO api_keys VALUES (?1, '22222222-2222-4222-8222-222222222222', 1700000100)",
            [hash(LEGACY_KEY)],
        )
        .unwrap();
    }

    let legacy = org_of(&p, LEGACY_KEY);
    assert_eq!(legacy["id"], "22222222-2222-4222-8222-222222222222");
    let (_, list) = p.api("GET", "/api/v1/orgs/me/keys", LEGACY_KEY, "");
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{list}");
    assert_eq!(keys[0]["created_at"], 1700000100);
    assert!(keys[0]["prefix"].is_null() && keys[0]["revoked_at"].is_null());
    assert!(!list.to_string().contains(&hash(LEGACY_KEY)));

    // The bootstrap key opens the organization the previous version made for it.
    let boot = org_of(&p, BOOTSTRAP_KEY);
    assert_eq!(boot["id"], "11111111-1111-4111-8111-111111111111");
    assert_eq!(boot["bootstrap"], true);
    let (status, list) = p.api("GET", "/api/v1/orgs/me/keys", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200);
    assert!(
        list["keys"][0]["revoked_at"].is_number(),
        "the old stored copy of the bootstrap key is retired: {list}"
    );
    // A second request copies nothing twice.
    let (_, list) = p.api("GET", "/api/v1/orgs/me/keys", LEGACY_KEY, "");
    assert_eq!(list["keys"].as_array().unwrap().len(), 1, "{list}");

    // Rotated: the old bootstrap key opens nothing, not even through its old
    // stored copy; the new one opens the same organization; the old
    // ordinary key still works.
    restart_with_bootstrap(&mut p, ROTATED_KEY);
    let (status, v) = p.api("GET", "/api/v1/orgs/me", BOOTSTRAP_KEY, "");
    assert_eq!(status, 401, "{v}");
    assert_eq!(
        org_of(&p, ROTATED_KEY)["id"],
        "11111111-1111-4111-8111-111111111111"
    );
    assert_eq!(default_orgs(&p), 1);
    assert_eq!(org_of(&p, LEGACY_KEY)["id"], legacy["id"]);
}
