//! Key-value stores and SQLite databases: grants, labels from the runtime
//! config, and data that survives a host restart.

mod support;

use support::{Host, Opts, TempDir};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "storage"
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/bare/..."
component = "bare"
[component.granted]
source = "{probe}"
key_value_stores = ["default", "cache"]
sqlite_databases = ["default"]
[component.bare]
source = "{probe}"
"#;

#[test]
fn kv_and_sqlite_persist_across_restart_and_respect_grants() {
    let dir = TempDir::new("storage");
    dir.write("spin.toml", &support::manifest(APP));
    let rc = dir.write(
        "rc.toml",
        "[key_value_store.cache]\ntype = \"spin\"\npath = \"data/cache.db\"\n",
    );
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let opts = Opts {
        runtime_config: Some(rc),
        ..Opts::default()
    };

    let host = Host::start(dir.path(), &opts);
    assert_eq!(
        host.get("/granted?op=kv-set&store=default&key=k1&value=v1"),
        (200, "stored".into())
    );
    assert_eq!(
        host.get("/granted?op=kv-set&store=cache&key=k2&value=v2"),
        (200, "stored".into())
    );
    // Stores are separate namespaces.
    assert_eq!(host.get("/granted?op=kv-get&store=cache&key=k1").0, 404);
    let (s, b) =
        host.get("/granted?op=sql&db=default&q=CREATE TABLE IF NOT EXISTS t (n INTEGER, s TEXT)");
    assert_eq!(s, 200, "{b}");
    let (s, b) = host.get("/granted?op=sql&db=default&q=INSERT INTO t VALUES (7, 'seven')");
    assert_eq!(s, 200, "{b}");
    // The next run's connection is as new as Spin's: no last row id from
    // the insert above.
    let (s, b) = host.get("/granted?op=sql&db=default&q=SELECT last_insert_rowid()");
    assert_eq!((s, b.contains("[[\"0\"]]")), (200, true), "{b}");
    // Text that is not UTF-8 fails the statement, in Spin's words.
    let (s, b) = host.get("/granted?op=sql&db=default&q=SELECT CAST(x'ff' AS TEXT)");
    assert_eq!(s, 500, "{b}");
    assert!(b.contains("internal runtime error"), "{b}");

    // Ungranted labels are denied, granted or not elsewhere.
    let (s, b) = host.get("/bare?op=kv-get&store=default&key=k1");
    assert_eq!(s, 403);
    assert!(b.contains("AccessDenied"), "{b}");
    let (s, b) = host.get("/bare?op=sql&db=default&q=SELECT 1");
    assert_eq!(s, 403);
    assert!(b.contains("AccessDenied"), "{b}");
    let (s, b) = host.get("/granted?op=kv-get&store=elsewhere&key=k1");
    assert_eq!(s, 403, "{b}");
    let log = host.stop();
    assert!(
        log.contains("key-value store `default` denied: add it to `key_value_stores`"),
        "{log}"
    );

    // The data is on disk where the runtime config put it, and survives a restart.
    assert!(dir.path().join("data/cache.db").exists());
    assert!(dir.path().join(".spin/sqlite_key_value.db").exists());
    let host = Host::start(dir.path(), &opts);
    assert_eq!(
        host.get("/granted?op=kv-get&store=default&key=k1"),
        (200, "v1".into())
    );
    assert_eq!(
        host.get("/granted?op=kv-get&store=cache&key=k2"),
        (200, "v2".into())
    );
    let (s, b) = host.get("/granted?op=sql&db=default&q=SELECT n, s FROM t");
    assert_eq!(s, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["columns"], serde_json::json!(["n", "s"]));
    assert_eq!(v["rows"], serde_json::json!([["7", "seven"]]));
}

#[test]
fn unmapped_label_is_refused_at_start() {
    let dir = TempDir::new("storage-unmapped");
    dir.write("spin.toml", &support::manifest(APP));
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(
        err.contains("`component.granted.key_value_stores[1]`"),
        "{err}"
    );
    assert!(
        err.contains("no key-value store is labelled `cache`"),
        "{err}"
    );
    assert!(err.contains("[key_value_store.cache]"), "{err}");
}
