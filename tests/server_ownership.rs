//! Every resource Skyport creates belongs to exactly one server and says so:
//! a group unique per server, tagged with the server's and the organization's
//! ids; a name a live server has is refused; clean-up and delete touch only
//! what carries the server's tag, and never a group holding anything else
//! (the server then keeps its status, and deleting it again once the group
//! holds only its own succeeds).
//! A name in use is refused at either provider; the groups are Azure's.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sim::arm::store::{self, Group};
use sim::world::defaults::*;
use sim::World;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

fn groups(p: &Product, prefix: &str) -> Vec<Value> {
    p.sim
        .inventory()
        .into_iter()
        .filter(|r| r["type"] == "resourceGroups")
        .filter(|r| {
            r["id"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains(&format!("/resourcegroups/{prefix}"))
        })
        .collect()
}

for_each_cloud!(a_name_in_use_is_refused_and_the_first_server_is_untouched);

fn a_name_in_use_is_refused_and_the_first_server_is_untouched(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let first = cloud.provision(&p, &account, &scope, "web1");
    let first_id = first["server"]["id"].as_str().unwrap().to_string();

    // The same name in another region, and in the same region.
    for (region, key) in [(cloud.other_region, "k-2"), (cloud.region, "k-3")] {
        let (status, e) =
            p.create_server(&cloud.server_spec_in(&account, &scope, "web1", region), key);
        assert_eq!(status, 409, "{e}");
        assert_eq!(e["error"]["code"], "name_taken");
        assert_eq!(e["error"]["server_id"], first_id.as_str());
    }
    // A replay of the first key is still the first server's operation.
    let (status, op) = p.create_server(&cloud.server_spec(&account, &scope, "web1"), "web1");
    assert_eq!(status, 202, "{op}");
    assert_eq!(op["server"]["id"], first_id.as_str());

    let (_, s) = p.api(
        "GET",
        &format!("/api/v1/servers/{first_id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(s["status"], "running");
    (cloud.holds_only)(&p, &BTreeSet::from([first_id.as_str()]));
}

#[test]
fn the_group_is_the_servers_own_and_tagged_with_its_ids() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    // A user group named like Skyport's storage default holds a storage account.
    p.sim.with_state(|s| {
        let g = Group { sub: SUBSCRIPTION.into(), rg: "skyport-backups".into() };
        store::put(s, "resourceGroups", None, SUBSCRIPTION, &g.rg_id(), json!({ "id": g.rg_id(), "name": g.rg, "location": "eastus", "properties": { "provisioningState": "Succeeded" } }));
        let id = g.id("Microsoft.Storage/storageAccounts", "userbackups");
        store::put(s, "Microsoft.Storage/storageAccounts", Some(&g), SUBSCRIPTION, &id, json!({ "id": id, "name": "userbackups", "location": "eastus" }));
    });
    let server = p.running_server(&account, "backups", "eastus", "k-b");
    let server_id = server["id"].as_str().unwrap();
    let mine = groups(&p, "skyport-backups-");
    assert_eq!(mine.len(), 1, "a group of its own: {mine:?}");
    assert_eq!(mine[0]["tags"]["skyport-server"], server_id);
    assert!(mine[0]["tags"]["skyport-org"].is_string(), "{}", mine[0]);
    let vm = p
        .sim
        .inventory()
        .into_iter()
        .find(|r| r["type"] == "Microsoft.Compute/virtualMachines")
        .unwrap();
    assert_eq!(vm["tags"]["skyport-server"], server_id);

    // Deleting the server removes its group and nothing of the user's.
    assert_eq!(p.delete_server(server_id)["status"], "succeeded");
    assert!(groups(&p, "skyport-backups-").is_empty());
    assert_eq!(
        groups(&p, "skyport-backups").len(),
        1,
        "the user's group stays"
    );
    assert!(
        p.sim.inventory().iter().any(|r| r["name"] == "userbackups"),
        "the user's storage account stays"
    );
}

#[test]
fn a_group_holding_anything_else_is_not_deleted() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let server = p.running_server(&account, "api", "eastus", "k-a");
    let server_id = server["id"].as_str().unwrap();
    // The user puts something of their own into the server's group.
    let ip = p.put_users_own_ip("api");
    let delete = || {
        let (status, op) = p.api(
            "DELETE",
            &format!("/api/v1/servers/{server_id}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 202, "{op}");
        p.wait_operation(op["id"].as_str().unwrap())
    };
    let done = delete();
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].to_string();
    assert!(
        error.contains("users-own-ip"),
        "the failure names what is not Skyport's: {error}"
    );
    assert_eq!(groups(&p, "skyport-api-").len(), 1, "the group stays");
    assert!(p
        .sim
        .inventory()
        .iter()
        .any(|r| r["name"] == "users-own-ip"));
    // The refusal is the deletion's, with what to do about it; the server,
    // whose VM still runs, keeps its status, stays in the list, and cannot
    // be "retried" into a second one.
    assert_eq!(done["error"]["code"], "action_failed", "{done}");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Deleting the server failed: "),
        "{message}"
    );
    assert!(
        done["error"]["remedy"]
            .as_str()
            .unwrap()
            .contains("then delete the server again"),
        "{done}"
    );
    let (_, s) = p.api(
        "GET",
        &format!("/api/v1/servers/{server_id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(s["status"], "running", "{s}");
    let (_, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    assert!(
        list["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == server_id),
        "{list}"
    );
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let (status, answer) = support::request(
        "POST",
        &format!("{}/api/v1/servers/{server_id}/retry", p.host.url),
        &[("authorization", &auth), ("idempotency-key", "r1")],
        "",
    );
    assert_eq!(status, 409, "{answer}");
    let failed = p.events("server.action_failed", server_id);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["data"]["action"], "delete");
    assert_eq!(failed[0]["data"]["status"], "running");
    assert!(failed[0]["data"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("users-own-ip"));
    // Once the user moves their address out, deleting again succeeds.
    p.sim.with_state(|s| store::remove(s, &ip));
    assert_eq!(delete()["status"], "succeeded");
}
