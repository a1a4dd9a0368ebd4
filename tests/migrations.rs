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
