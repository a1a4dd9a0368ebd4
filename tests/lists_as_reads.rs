//! A list shows every account and server exactly as reading it alone does,
//! whatever its state: badges earned and withheld, a name that needs
//! escaping, a stopped or failed server, a server from before admin users
//! were kept, and accounts stored before their badges were (whose badges the
//! list works out, and a migration then stores). A list reads each row's
//! JSON as triggers stored it, so every test here also writes rows behind
//! the app's back, as an older release or an operator would. Servers are
//! listed so at either provider.

mod support;

use serde_json::Value;
use sim::world::defaults::*;
use sim::world::{RoleAssignment, User};
use sim::World;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

const READER: &str = "reader@contoso.onmicrosoft.com";

fn world() -> World {
    let mut w = World::default();
    w.users.push(User {
        id: "5b1c0f4a-6b9e-4d52-9b3a-51d2a7c9e003".into(),
        // Quotes, a backslash, a tab, a control character and non-ASCII:
        // everything a JSON string must escape, or must not.
        name: "Zoë \"Rita\" O'Reader \\ \t\u{1}<x>".into(),
        username: READER.into(),
        tenant: TENANT.into(),
        guest_of: vec![],
    });
    w.role_assignments.push(RoleAssignment {
        user: READER.into(),
        subscription: SUBSCRIPTION.into(),
        role: "Reader".into(),
    });
    w
}

fn db(p: &Product) -> rusqlite::Connection {
    rusqlite::Connection::open(p.dir.path().join(".spin").join("sqlite_db.db")).unwrap()
}

#[test]
fn accounts_are_listed_as_they_read() {
    let p = Product::start(world());
    let owner = p.connect(BOOTSTRAP_KEY, USERNAME);
    let reader = p.connect(BOOTSTRAP_KEY, READER);
    let accounts = p.listed_as_read("/api/v1/accounts");
    assert_eq!(accounts.len(), 2);
    let by_id = |id: &str| accounts.iter().find(|a| a["id"] == id).unwrap().clone();
    assert_eq!(
        by_id(&owner)["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"])
    );
    let r = by_id(&reader);
    assert_eq!(r["badges"], serde_json::json!([]));
    assert_eq!(r["badges_withheld"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["user"]["name"], "Zoë \"Rita\" O'Reader \\ \t\u{1}<x>");

    // An account that is not Active earns no badge, and says why.
    db(&p)
        .execute(
            "UPDATE accounts SET status = 'Expired', status_reason = 'The grant \"ended\"\n.' WHERE id = ?",
            [&owner],
        )
        .unwrap();
    let accounts = p.listed_as_read("/api/v1/accounts");
    let o = accounts.iter().find(|a| a["id"] == owner).unwrap();
    assert_eq!(o["badges"], serde_json::json!([]), "{o}");
    assert_eq!(o["status_reason"], "The grant \"ended\"\n.");

    // Damaged stored JSON never makes the page unreadable.
    db(&p)
        .execute(
            "UPDATE accounts SET subscriptions = '[1, 2' WHERE id = ?",
            [&reader],
        )
        .unwrap();
    let accounts = p.listed_as_read("/api/v1/accounts");
    let r = accounts.iter().find(|a| a["id"] == reader).unwrap();
    assert_eq!(r["subscriptions"], serde_json::json!([]), "{r}");
}

#[test]
fn a_refresh_changes_the_listed_badges() {
    let p = Product::start(World::default());
    p.sim
        .command(sim::Command::SetProvider {
            subscription: SUBSCRIPTION.into(),
            namespace: "Microsoft.Compute".into(),
            state: "NotRegistered".into(),
        })
        .unwrap();
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let a = &p.listed_as_read("/api/v1/accounts")[0];
    assert_eq!(a["badges"], serde_json::json!(["Storage", "DNS"]), "{a}");
    p.sim
        .command(sim::Command::SetProvider {
            subscription: SUBSCRIPTION.into(),
            namespace: "Microsoft.Compute".into(),
            state: "Registered".into(),
        })
        .unwrap();
    let (status, _) = p.refresh(&id);
    assert_eq!(status, 200);
    let a = &p.listed_as_read("/api/v1/accounts")[0];
    assert_eq!(
        a["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"]),
        "{a}"
    );
}

#[test]
fn accounts_stored_before_their_badges_are_listed_and_then_migrated() {
    let mut p = Product::start(world());
    p.connect(BOOTSTRAP_KEY, USERNAME);
    p.connect(BOOTSTRAP_KEY, READER);
    let before = p.listed_as_read("/api/v1/accounts");

    // Rows whose badges were never worked out: the list works them out.
    db(&p)
        .execute_batch("UPDATE accounts SET badges = NULL, badges_withheld = NULL")
        .unwrap();
    assert_eq!(p.listed_as_read("/api/v1/accounts"), before);

    // The database of the release before badges were stored, which the
    // new release opens: migration 14 stores them, and migration 16 each
    // row's listed JSON with its triggers.
    let conn = db(&p);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 16, "user_version {version}");
    conn.execute_batch(
        "DROP TRIGGER accounts_listed_insert; DROP TRIGGER accounts_listed_update;
         DROP TRIGGER servers_listed_insert; DROP TRIGGER servers_listed_update;
         ALTER TABLE accounts DROP COLUMN listed; ALTER TABLE servers DROP COLUMN listed;
         ALTER TABLE accounts DROP COLUMN badges; ALTER TABLE accounts DROP COLUMN badges_withheld;
         PRAGMA user_version = 13;",
    )
    .unwrap();
    // The new release starts on it.
    p.restart();
    assert_eq!(p.listed_as_read("/api/v1/accounts"), before);
    // Both accounts have their badges and their listed JSON stored again.
    let stored: i64 = conn
        .query_row(
            "SELECT count(*) FROM accounts WHERE badges IS NOT NULL AND badges_withheld IS NOT NULL AND listed IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 2);
}

for_each_cloud!(
    servers_are_listed_as_they_read,
    a_server_from_before_admin_users_is_listed_as_it_reads
);

fn servers_are_listed_as_they_read(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.limit_servers)(&p, 10);
    let mut ids = Vec::new();
    for name in ["web", "stopped", "failed"] {
        let done = cloud.provision(&p, &account, &scope, name);
        ids.push(done["server"]["id"].as_str().unwrap().to_string());
    }
    let conn = db(&p);
    conn.execute(
        "UPDATE servers SET status = 'stopped', status_reason = 'VM \"deallocated\"' WHERE id = ?",
        [&ids[1]],
    )
    .unwrap();
    conn.execute(
        "UPDATE servers SET status = 'failed', public_ip = NULL WHERE id = ?",
        [&ids[2]],
    )
    .unwrap();
    // A running server's stale reason is not shown.
    conn.execute(
        "UPDATE servers SET status_reason = 'old news' WHERE id = ?",
        [&ids[0]],
    )
    .unwrap();

    let servers = p.listed_as_read("/api/v1/servers");
    assert_eq!(servers.len(), 3);
    let by_id = |id: &str| servers.iter().find(|s| s["id"] == id).unwrap().clone();
    let web = by_id(&ids[0]);
    assert!(web.get("status_reason").is_none(), "{web}");
    assert!(
        web["ssh_command"].as_str().unwrap().starts_with("ssh "),
        "{web}"
    );
    assert_eq!(by_id(&ids[1])["status_reason"], "VM \"deallocated\"");
    assert_eq!(by_id(&ids[2])["status"], "failed");
    assert_eq!(by_id(&ids[2])["ssh_command"], Value::Null);
}

/// A server made before admin users were kept is shown with its provider's
/// default user. Any provider's instance may answer the list, so the
/// background jobs write that user into the row, after which the list
/// shows what the read does.
fn a_server_from_before_admin_users_is_listed_as_it_reads(cloud: &Cloud) {
    let p = Product::with_example_and_jobs_every_second(&[]);
    let (account, scope) = (cloud.connect)(&p);
    let done = cloud.provision(&p, &account, &scope, "older");
    let id = done["server"]["id"].as_str().unwrap().to_string();
    let (_, read) = p.api("GET", &format!("/api/v1/servers/{id}"), BOOTSTRAP_KEY, "");
    let user = read["admin_username"].clone();
    db(&p)
        .execute(
            "UPDATE servers SET admin_username = NULL WHERE id = ?",
            [&id],
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db(&p)
        .query_row(
            "SELECT admin_username IS NULL FROM servers WHERE id = ?",
            [&id],
            |r| r.get::<_, bool>(0),
        )
        .unwrap()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the jobs never wrote the admin user"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let servers = p.listed_as_read("/api/v1/servers");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["admin_username"], user, "{}", servers[0]);
}
