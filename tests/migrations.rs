//! The schema is a list of versioned migrations applied once per database
//! (its `user_version` counts them); one that fails leaves the database as
//! it was and every request says so, with the migration's number.

mod support;

use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

fn version(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrations_run_once_and_a_failed_one_changes_nothing() {
    let mut p = Product::start(World::default());
    let (status, _) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200);
    let db = p.dir.path().join(".spin").join("sqlite_db.db");
    let applied = version(&db);
    assert!(applied >= 2, "user_version {applied}");

    // A database whose `keys` table is not the one migration 1 expects.
    let _ = p.host.child.kill();
    let _ = p.host.child.wait();
    for f in ["sqlite_db.db", "sqlite_db.db-wal", "sqlite_db.db-shm"] {
        let _ = std::fs::remove_file(p.dir.path().join(".spin").join(f));
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE keys (something_else INTEGER);")
        .unwrap();
    p.restart();
    let (status, e) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(status, 500, "{e}");
    assert_eq!(e["error"]["code"], "misconfigured");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("database migration 1 of"), "{message}");
    assert!(message.contains("left as it was"), "{message}");
    // Nothing of the failed migration stayed.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'orgs'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "the migration's tables were rolled back");
    assert_eq!(version(&db), 0);
}

/// Migration 3 moves every operation into one table: a database of an
/// earlier release, with a server's operation and a finished storage set-up
/// in the old tables, answers for both afterwards — and its old events show
/// in the activity feed.
#[test]
fn operations_of_the_release_before_move_into_one_engine() {
    let mut p = Product::start(World::default());
    let (status, _) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200);
    let db = p.dir.path().join(".spin").join("sqlite_db.db");
    let _ = p.host.child.kill();
    let _ = p.host.child.wait();
    let org: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT org_id FROM bootstrap_org", [], |r| r.get(0))
        .unwrap();
    for f in ["sqlite_db.db", "sqlite_db.db-wal", "sqlite_db.db-shm"] {
        let _ = std::fs::remove_file(p.dir.path().join(".spin").join(f));
    }
    {
        // A database of the release before versioned migrations, with the
        // tables these rows live in as that release made them; migration 1
        // adopts it, and every later one runs on it.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE TABLE bootstrap_org (id INTEGER PRIMARY KEY CHECK (id = 1), org_id TEXT NOT NULL REFERENCES orgs(id), created_at INTEGER NOT NULL);
             CREATE TABLE accounts (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, provider TEXT NOT NULL,
                tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT, status TEXT NOT NULL, status_reason TEXT,
                tokens TEXT NOT NULL, access_expires_at INTEGER NOT NULL, subscriptions TEXT NOT NULL DEFAULT '[]',
                last_checked INTEGER, refresh_lock INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT, kind TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL);
             CREATE TABLE servers (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, subscription_id TEXT NOT NULL,
                name TEXT NOT NULL, region TEXT NOT NULL, size TEXT NOT NULL, status TEXT NOT NULL, provider_id TEXT NOT NULL, public_ip TEXT,
                resources TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE operations (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, kind TEXT NOT NULL, server_id TEXT NOT NULL,
                token TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, step_index INTEGER NOT NULL, steps INTEGER NOT NULL,
                error TEXT, cleanup_id TEXT, lease INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE storage_ops (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, container TEXT NOT NULL,
                token TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, error TEXT, target_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE backup_targets (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, storage_account_id TEXT NOT NULL,
                storage_account TEXT NOT NULL, container TEXT NOT NULL, endpoint TEXT NOT NULL, verified_at INTEGER NOT NULL);
             INSERT INTO orgs VALUES ('{org}', 'bootstrap', 1);
             INSERT INTO bootstrap_org VALUES (1, '{org}', 1);
             INSERT INTO events (org_id, kind, detail, at) VALUES ('{org}', 'code_refused', 'a callback whose code did not redeem', 1);
             INSERT INTO servers (id, org_id, account_id, subscription_id, name, region, size, status, provider_id, created_at, updated_at)
                VALUES ('11111111-1111-4111-8111-111111111111', '{org}', 'acc', 'sub', 'old', 'westeurope', 'Standard_B1s', 'running', 'pid', 1, 1);
             INSERT INTO operations VALUES ('22222222-2222-4222-8222-222222222222', '{org}', 'create', '11111111-1111-4111-8111-111111111111',
                'tok', 'succeeded', 'Done', 6, 6, NULL, NULL, NULL, 1, 2);
             INSERT INTO backup_targets VALUES ('33333333-3333-4333-8333-333333333333', '{org}', 'acc', '/subscriptions/sub/x', 'oldstore', 'backups',
                'https://oldstore.blob.core.windows.net/backups', 3);
             INSERT INTO storage_ops VALUES ('44444444-4444-4444-8444-444444444444', '{org}', 'acc', 'backups', 'tok', 'succeeded', 'Access verified',
                NULL, '33333333-3333-4333-8333-333333333333', 1, 3);"
        ))
        .unwrap();
    }
    p.restart();
    let (status, op) = p.api(
        "GET",
        "/api/v1/operations/22222222-2222-4222-8222-222222222222",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "succeeded");
    assert_eq!(op["server"]["name"], "old");
    let (status, setup) = p.api(
        "GET",
        "/api/v1/storage/operations/44444444-4444-4444-8444-444444444444",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{setup}");
    assert_eq!(setup["status"], "succeeded");
    assert_eq!(setup["target"]["storage_account"], "oldstore");
    assert!(version(&db) >= 6);
    let (status, feed) = p.api("GET", "/api/v1/events", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{feed}");
    assert_eq!(feed["events"][0]["kind"], "code_refused", "{feed}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'storage_ops'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the old table is gone once its rows moved");
    let account: String = conn
        .query_row(
            "SELECT account_id FROM operations WHERE id = '22222222-2222-4222-8222-222222222222'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(account, "acc", "a server's operation learns its account");
}
