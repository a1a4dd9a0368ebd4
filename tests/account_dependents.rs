//! An account its servers, backup targets or domains still use is not
//! deleted (that would leave servers billing with nobody able to delete
//! them): the refusal lists what uses it; with `cascade=true` the servers are
//! deleted through their operations, the rest detached, and the account goes
//! with its last server — a server busy at that moment is deleted by the
//! background jobs once its work ends. The same at either provider. A
//! server whose deletion is refused (its group holds the customer's own
//! resource) keeps the account, whose reason says so, and is not tried again
//! on every jobs run; deleted again once resolved, the account goes with it.

mod support;

use serde_json::json;
use sim::arm::store;
use sim::world::defaults::*;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    an_account_in_use_is_refused_then_deleted_with_cascade,
    an_orphaned_server_is_deleted_once_the_account_is_reconnected,
    a_busy_server_is_deleted_by_the_cascade_once_its_action_ends
);

fn an_account_in_use_is_refused_then_deleted_with_cascade(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let done = cloud.provision(&p, &account, &scope, "app1");
    let server = done["server"]["id"].as_str().unwrap().to_string();
    let zone = cloud.choose_domain(&p, &account, &scope);

    let (status, e) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{account}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "account_in_use");
    assert_eq!(e["error"]["servers"][0]["id"], server.as_str());
    assert_eq!(e["error"]["domains"][0]["name"], zone.as_str());
    assert!(e["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("cascade=true"));
    let (status, _) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "the account stays");
    assert_eq!((cloud.servers)(&p), 1);

    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{account}?cascade=true"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["detached"]["domains"][0]["name"], zone.as_str());
    let op = v["operations"][0]["operation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, a) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(a["status"], "Deleting", "{a}");
    // A re-check meanwhile does not bring it back to Active (which would
    // leave it behind when its last server goes).
    let (status, a) = p.api(
        "POST",
        &format!("/api/v1/accounts/{account}/refresh"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "Deleting", "{a}");
    assert_eq!(p.wait_operation(&op)["status"], "succeeded");
    assert_eq!((cloud.servers)(&p), 0, "the server's VM is gone");
    let (status, _) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 404, "the account went with its last server");
    let (_, domains) = p.api("GET", "/api/v1/dns/domains", BOOTSTRAP_KEY, "");
    assert_eq!(domains["domains"], json!([]));
    assert!((cloud.has_zone)(&p, &zone), "the user's zone stays");
}

/// A server whose account disappeared (releases before this protection let
/// that happen) is not stuck: it says what to do, and once an account that
/// reaches its subscription is connected again, deleting it works.
fn an_orphaned_server_is_deleted_once_the_account_is_reconnected(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let done = cloud.provision(&p, &account, &scope, "orphan");
    let server = done["server"]["id"].as_str().unwrap().to_string();
    // The account vanishes underneath the server, as an old release allowed.
    let _ = p.host.child.kill();
    let _ = p.host.child.wait();
    rusqlite::Connection::open(p.dir.path().join(".spin").join("sqlite_db.db"))
        .unwrap()
        .execute("DELETE FROM accounts", [])
        .unwrap();
    p.restart();
    let (status, e) = p.api(
        "DELETE",
        &format!("/api/v1/servers/{server}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "account_gone");
    assert!(e["error"]["remedy"].as_str().unwrap().contains(&scope));

    (cloud.connect)(&p);
    let done = p.delete_server(&server);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!((cloud.servers)(&p), 0);
}

/// A server busy with an action when its account is deleted with cascade
/// is not left behind: the background jobs delete it once its action ends,
/// and the account goes with it.
fn a_busy_server_is_deleted_by_the_cascade_once_its_action_ends(cloud: &Cloud) {
    let p = Product::with_example_and_jobs_every_second(&[]);
    let (account, scope) = (cloud.connect)(&p);
    let done = cloud.provision(&p, &account, &scope, "busy");
    let server = done["server"]["id"].as_str().unwrap().to_string();
    let (status, stop) = p.api(
        "POST",
        &format!("/api/v1/servers/{server}/stop"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{stop}");
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{account}?cascade=true"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{v}");
    // The server could not be deleted at once: it was being stopped (unless
    // the jobs finished the stop first, and then it was deleted at once).
    let answer = &v["operations"][0]["operation"];
    assert!(
        answer["error"]["code"] == "server_busy" || answer["kind"] == "delete",
        "{v}"
    );
    let s = p.wait_for(&format!("/api/v1/servers/{server}"), 60, |s| {
        s["status"] == "deleted"
    });
    assert_eq!(s["status"], "deleted", "{s}");
    assert_eq!((cloud.servers)(&p), 0);
    p.wait_until(&format!("/api/v1/accounts/{account}"), 30, |status, _| {
        status == 404
    });
}

#[test]
fn a_refused_server_deletion_holds_the_account_and_is_not_repeated() {
    let p = Product::with_jobs_every_second(&[]);
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let server = p.running_server(&account, "api", "eastus", "k-api")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The customer puts an address of their own into the server's group.
    let ip = p.put_users_own_ip("api");
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{account}?cascade=true"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{v}");
    let a = p.wait_for(&format!("/api/v1/accounts/{account}"), 60, |a| {
        a["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("users-own-ip"))
    });
    assert_eq!(a["status"], "Deleting", "{a}");
    assert!(
        a["status_reason"].as_str().unwrap().contains("`api`"),
        "{a}"
    );
    // Several jobs runs later, still one refused deletion and one event.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(p.events("server.action_failed", &server).len(), 1);
    let (_, s) = p.api(
        "GET",
        &format!("/api/v1/servers/{server}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(s["status"], "running", "{s}");
    // Resolved, and deleted again: the account goes with its last server.
    p.sim.with_state(|s| {
        store::remove(s, &ip);
    });
    let (status, op) = p.api(
        "DELETE",
        &format!("/api/v1/servers/{server}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{op}");
    assert_eq!(
        p.wait_operation(op["id"].as_str().unwrap())["status"],
        "succeeded"
    );
    p.wait_until(&format!("/api/v1/accounts/{account}"), 30, |status, _| {
        status == 404
    });
}
