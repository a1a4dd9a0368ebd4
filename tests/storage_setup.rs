//! Backup storage quick setup, at either provider: a store (created as an
//! operation), a folder, a data-plane access check that leaves no probe, and
//! a backup target; a name another customer holds, or one against the
//! provider's rule, refused before anything is made. Azure's own: the
//! storage account is what the guide asks for and its keys are never
//! stored, a container that is there already used as it is (never written
//! over), "Storage access denied" when its network rules refuse us, and
//! Azurite as the data plane.

mod support;

use serde_json::json;
use sim::world::defaults::*;
use sim::World;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    quick_setup_makes_a_store_and_folder_and_verifies_access,
    a_taken_or_unlawful_name_is_refused_before_anything_is_made,
);

fn quick_setup_makes_a_store_and_folder_and_verifies_access(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let name = "skyportbackup01";
    let op = cloud.start_storage(&p, &account, &scope, name);
    let done = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let target = &done["target"];
    assert_eq!(target["storage_account"], name);
    assert_eq!(target["container"], "backups");
    let endpoint = target["endpoint"].as_str().unwrap();
    assert!(
        endpoint.contains(name) && endpoint.ends_with("/backups"),
        "{target}"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1);
    assert!((cloud.holds_store)(&p, name));
    assert_eq!((cloud.probes_left)(&p, name), 0, "the probe was deleted");
    let store = cloud.store(&p, &account, &scope, name);
    assert_eq!(store["containers"], json!(["backups"]), "{store}");
}

fn a_taken_or_unlawful_name_is_refused_before_anything_is_made(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let setup = |name: &str| {
        let body = json!({ "account_id": account, "subscription_id": scope, "region": cloud.storage_region,
            "storage_account": name, "container": "backups" });
        p.api(
            "POST",
            "/api/v1/storage/setup",
            BOOTSTRAP_KEY,
            &body.to_string(),
        )
    };
    (cloud.take_store_name)(&p, "skyporttheirs1");
    let (status, e) = setup("skyporttheirs1");
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "storage_name_taken");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`skyporttheirs1`"),
        "{e}"
    );
    // Refused by every provider's rule, with this provider's own rule as
    // the remedy.
    let (status, e) = setup("Bad_Name");
    assert_eq!(status, 400, "{e}");
    let (_, rule) = cloud.unlawful_store_name;
    assert!(e["error"]["remedy"].as_str().unwrap().contains(rule), "{e}");
    // A name other providers allow but this one does not is refused by the
    // plugin, in the provider's rule, before it reaches a URL.
    let (unlawful, rule) = cloud.unlawful_store_name;
    let (status, e) = setup(unlawful);
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["error"]["code"], "invalid_storage_name", "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains(rule), "{e}");
    assert!(!(cloud.holds_store)(&p, unlawful));
    assert!(
        !p.sim.requests().iter().any(|r| r.path.contains(unlawful)),
        "a refused name reached the provider"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"], json!([]));
}

#[test]
fn an_azure_storage_account_is_what_the_guide_asks_for_and_its_keys_are_never_stored() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let done = p.set_up_storage(&id, "skyportbackup01");
    assert_eq!(done["status"], "succeeded", "{done}");
    let target = &done["target"];
    assert_eq!(target["storage_account"], "skyportbackup01");
    assert_eq!(target["container"], "backups");
    assert!(
        target["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/skyportbackup01/backups"),
        "{target}"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1);
    // The account is what the guide asks for, and the probe blob is gone.
    let acct = p
        .sim
        .with_state(|s| {
            s.resources
                .values()
                .find(|r| r.kind == "Microsoft.Storage/storageAccounts")
                .map(|r| r.body.clone())
        })
        .unwrap();
    assert_eq!(acct["kind"], "StorageV2");
    assert_eq!(acct["sku"]["name"], "Standard_LRS");
    assert_eq!(acct["properties"]["minimumTlsVersion"], "TLS1_2");
    assert_eq!(acct["properties"]["supportsHttpsTrafficOnly"], true);
    assert!(
        p.sim.with_state(|s| s.blobs.is_empty()),
        "the probe blob was deleted"
    );
    let (_, list) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/storage/accounts"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(
        list["storage_accounts"][0]["containers"],
        json!(["backups"])
    );
    // Keys are fetched when needed, never stored.
    let key = p
        .sim
        .with_state(|s| s.storage_keys["skyportbackup01"][0].clone());
    let db = std::fs::read(p.dir.path().join(".spin").join("sqlite_db.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(&key));
}

#[test]
fn a_container_that_is_there_already_is_used_as_it_is() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    assert_eq!(
        p.set_up_storage(&id, "skyportshared01")["status"],
        "succeeded"
    );
    // The customer makes the container public in the portal; a second
    // setup on it reads it and leaves it so.
    let access = |set: Option<&str>| {
        p.sim.with_state(|s| {
            let c = s
                .resources
                .values_mut()
                .find(|r| r.kind.ends_with("/containers"))
                .unwrap();
            if let Some(v) = set {
                c.body["properties"]["publicAccess"] = json!(v);
            }
            c.body["properties"]["publicAccess"].clone()
        })
    };
    access(Some("Blob"));
    let before = p.sim.requests().len();
    let done = p.set_up_storage(&id, "skyportshared01");
    assert_eq!(done["status"], "succeeded", "{done}");
    let container_writes: Vec<_> = p.sim.requests()[before..]
        .iter()
        .filter(|r| r.method != "GET" && r.path.contains("/containers/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(container_writes, Vec::<String>::new());
    assert_eq!(access(None), "Blob");
}

#[test]
fn network_rules_are_reported_as_storage_access_denied() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    assert_eq!(
        p.set_up_storage(&id, "skyportlocked01")["status"],
        "succeeded"
    );
    p.set_storage_network("Deny");
    let done = p.set_up_storage(&id, "skyportlocked01");
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "storage_access_denied");
    assert!(done["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Storage access denied"));
    assert!(done["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("allow all networks"));
}

#[test]
fn quick_setup_against_azurite_as_the_data_plane() {
    // `npm ci` installs the pinned Azurite; .ci/run does.
    let azurite =
        sim::azurite::Azurite::start(&support::root()).unwrap_or_else(|reason| panic!("{reason}"));
    let mut world = World::default();
    world.settings.azurite_url = Some(azurite.url.clone());
    let p = Product::start(world);
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let done = p.set_up_storage(&id, "skyportazurite1");
    assert_eq!(done["status"], "succeeded", "{done}");
    // The probe went through Azurite: the container behind it exists there.
    let (status, body) = support::azurite_request(
        &azurite.url,
        "GET",
        "/devstoreaccount1/skyportazurite1-backups",
        "restype=container",
    );
    assert_eq!(
        status, 200,
        "the mapped container exists in Azurite: {body}"
    );
}
