//! The same scenario for every provider the deployment serves: an account
//! connected (by sign-in or by token), its catalogue, a server created,
//! stopped, started, resized and deleted, a DNS record pointed at it and
//! removed, backup storage set up, checked and detached (an Azure storage
//! account, a DigitalOcean Space), access lost and regained, and the account
//! deleted with a server it still has, every list showing each account and
//! server as its own read does along the way — one function, run for Azure, for
//! DigitalOcean by token and for DigitalOcean by OAuth, each against a
//! deployment serving both providers.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::{SEED_DOMAIN, SEED_EMAIL, SEED_TEAM, SEED_TOKEN};
use sim::world::defaults::*;
use sim::{Command, World};
use support::clouds;
use support::product::{Product, BOOTSTRAP_KEY, SSH_KEY};

/// What differs between providers; everything else is the scenario's.
struct Case {
    region: &'static str,
    size: &'static str,
    bigger: &'static str,
    zone: &'static str,
    /// Connects the account: its id and the scope servers go in.
    connect: fn(&Product) -> (String, String),
    /// The provider stops honouring the account's grant or token.
    lose_access: fn(&Product),
    /// The user gives the account access again.
    regain: fn(&Product, &str),
    /// What the provider still holds of deleted servers (none, once they are gone).
    left: fn(&Product) -> Vec<String>,
    /// Checks what became of the grant once the account is deleted: an
    /// OAuth grant is revoked (in the background, after a cascade); an API
    /// token or an Azure consent is the user's to remove.
    after_delete: fn(&Product),
}

const AZURE: Case = Case {
    region: "westeurope",
    size: "Standard_B2s",
    bigger: "Standard_B2ms",
    zone: DNS_ZONE,
    // Access tokens are issued close to their expiry throughout, so the
    // grant itself is used at every turn, and its loss found at once.
    connect: |p| {
        p.sim
            .command(Command::Settings {
                lro_polls: None,
                registration_polls: None,
                retry_after_secs: None,
                access_token_lifetime_secs: Some(301),
                page_size: None,
                azurite_url: None,
                refresh_token_idle_secs: None,
            })
            .unwrap();
        let id = p.connect(BOOTSTRAP_KEY, USERNAME);
        std::thread::sleep(std::time::Duration::from_millis(2100));
        (id, SUBSCRIPTION.into())
    },
    lose_access: |p| {
        (clouds::AZURE.lose_access)(p);
        // The last access token comes within its refresh margin.
        std::thread::sleep(std::time::Duration::from_millis(2100));
    },
    regain: |p, id| {
        let url = p.start_connect(BOOTSTRAP_KEY, Some(id));
        let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
        assert_eq!(outcome, "signed_in", "{html}");
        let (status, v) = p.claim(BOOTSTRAP_KEY, &html);
        assert_eq!(status, 200, "{v}");
    },
    left: |p| {
        p.sim
            .inventory()
            .iter()
            .filter_map(|r| r["type"].as_str().map(str::to_string))
            .filter(|t| {
                [
                    "Microsoft.Compute/virtualMachines",
                    "Microsoft.Compute/disks",
                    "Microsoft.Network/networkInterfaces",
                    "Microsoft.Network/publicIPAddresses",
                ]
                .contains(&t.as_str())
            })
            .collect()
    },
    after_delete: |_| {},
};

/// The seed team's second token, made when access is regained.
const RENEWED: &str = "dop_v1_5f0c6a1e9d2b4c7a8e3f1d0b6a9c2e4f7a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d";

const DIGITALOCEAN: Case = Case {
    region: "nyc3",
    size: "s-1vcpu-1gb",
    bigger: "s-1vcpu-2gb",
    zone: SEED_DOMAIN,
    connect: |p| {
        (
            p.connect_digitalocean()["id"].as_str().unwrap().to_string(),
            SEED_TEAM.to_string(),
        )
    },
    lose_access: clouds::DIGITALOCEAN.lose_access,
    regain: |p, id| {
        p.sim
            .command(Command::AddDigitalOceanTeam {
                team: serde_json::from_value(json!({
                    "uuid": SEED_TEAM, "name": "My Team", "email": SEED_EMAIL, "tokens": [RENEWED],
                }))
                .unwrap(),
            })
            .unwrap();
        let (status, v) = p.api(
            "POST",
            "/api/v1/accounts/digitalocean/connect",
            BOOTSTRAP_KEY,
            &json!({ "token": RENEWED, "account_id": id }).to_string(),
        );
        assert_eq!(status, 200, "{v}");
    },
    left: |p| {
        ["droplets", "firewalls", "reserved_ips"]
            .iter()
            .filter(|kind| held(p, kind) != 0)
            .map(|kind| kind.to_string())
            .collect()
    },
    after_delete: |p| {
        // The token still reads the team.
        held(p, "droplets");
    },
};

/// How many of `kind` the seed team holds, asked as its owner would: with
/// the seed token, or once that is revoked, the one made to regain access.
fn held(p: &Product, kind: &str) -> u64 {
    for token in [SEED_TOKEN, RENEWED] {
        let (status, text) = support::request(
            "GET",
            &format!("{}/v2/{kind}", p.sim.url),
            &[("authorization", &format!("Bearer {token}"))],
            "",
        );
        if status == 200 {
            let v: Value = serde_json::from_str(&text).unwrap();
            return v["meta"]["total"].as_u64().unwrap_or_else(|| panic!("{v}"));
        }
    }
    panic!("neither of the team's tokens reads its {kind}");
}

/// DigitalOcean signed in by OAuth: access tokens live a little longer than
/// the refresh margin, so every turn of the scenario refreshes (and rotates)
/// the grant, and its revocation is found at once.
const DIGITALOCEAN_OAUTH: Case = Case {
    connect: |p| {
        p.sim
            .command(Command::DigitalOceanSettings {
                action_polls: None,
                rate_limit: None,
                oauth_token_seconds: Some(301),
            })
            .unwrap();
        let (html, outcome) = p.sign_in_digitalocean(None, SEED_TEAM, "authorize");
        assert_eq!(outcome, "signed_in", "{html}");
        let (status, v) = p.claim_digitalocean(&html);
        assert_eq!(status, 201, "{v}");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        (
            v["account"]["id"].as_str().unwrap().to_string(),
            SEED_TEAM.to_string(),
        )
    },
    lose_access: |p| {
        p.sim
            .command(Command::RevokeDigitalOceanGrants {
                team: SEED_TEAM.into(),
            })
            .unwrap();
    },
    regain: |p, id| {
        let refreshed = p.sim.requests().iter().any(|r| {
            r.path.starts_with("/v1/oauth/")
                && r.grant.as_deref() == Some("refresh_token")
                && r.status == 200
        });
        assert!(
            refreshed,
            "the scenario refreshed the grant before it was revoked"
        );
        let (html, outcome) = p.sign_in_digitalocean(Some(id), SEED_TEAM, "authorize");
        assert_eq!(outcome, "signed_in", "{html}");
        let (status, v) = p.claim_digitalocean(&html);
        assert_eq!(status, 200, "{v}");
    },
    after_delete: |p| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
        while p
            .sim
            .with_state(|s| !s.digitalocean.oauth_grants.is_empty())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the deleted account's grant was never revoked"
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    },
    ..DIGITALOCEAN
};

#[test]
fn azure() {
    scenario(&AZURE);
}

#[test]
fn digitalocean() {
    scenario(&DIGITALOCEAN);
}

#[test]
fn digitalocean_by_oauth() {
    scenario(&DIGITALOCEAN_OAUTH);
}

fn api(p: &Product, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    p.api(method, path, BOOTSTRAP_KEY, &body)
}

/// Runs an operation-starting request to its end.
fn run(p: &Product, method: &str, path: &str, body: Value) -> Value {
    let (status, op) = api(p, method, path, body);
    assert_eq!(status, 202, "{method} {path}: {op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{method} {path}: {done}");
    done
}

fn server(p: &Product, id: &str) -> Value {
    let (status, s) = api(p, "GET", &format!("/api/v1/servers/{id}"), Value::Null);
    assert_eq!(status, 200, "{s}");
    s
}

/// Every account and server as the lists show them is what its own read
/// answers: the rows' stored list JSON follows each change.
fn listed_as_read(p: &Product) {
    p.listed_as_read("/api/v1/accounts");
    p.listed_as_read("/api/v1/servers");
}

fn scenario(case: &Case) {
    let p = Product::start_with_example(World::default());
    let (id, scope) = (case.connect)(&p);
    let (_, account) = api(&p, "GET", &format!("/api/v1/accounts/{id}"), Value::Null);
    assert_eq!(account["status"], "Active", "{account}");
    for badge in ["Compute", "Storage", "DNS"] {
        assert!(
            account["badges"]
                .as_array()
                .unwrap()
                .contains(&json!(badge)),
            "{account}"
        );
    }

    // The catalogue.
    let compute = format!("/api/v1/accounts/{id}/subscriptions/{scope}/compute");
    let (status, regions) = api(&p, "GET", &format!("{compute}/regions"), Value::Null);
    assert_eq!(status, 200, "{regions}");
    assert!(regions.to_string().contains(case.region), "{regions}");
    let (status, sizes) = api(
        &p,
        "GET",
        &format!("{compute}/sizes?region={}", case.region),
        Value::Null,
    );
    assert_eq!(status, 200, "{sizes}");
    assert!(sizes.to_string().contains(case.size), "{sizes}");

    // A server's life.
    let spec = json!({ "account_id": id, "subscription_id": scope, "region": case.region, "size": case.size, "name": "web-1", "ssh_public_key": SSH_KEY });
    let (status, op) = p.create_server(&spec.to_string(), "each-provider-1");
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, list) = api(&p, "GET", "/api/v1/servers", Value::Null);
    let sid = list["servers"][0]["id"].as_str().unwrap().to_string();
    let s = server(&p, &sid);
    assert_eq!(s["status"], "running", "{s}");
    let ip = s["public_ip"].as_str().unwrap().to_string();
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{s}");

    run(
        &p,
        "POST",
        &format!("/api/v1/servers/{sid}/stop"),
        Value::Null,
    );
    assert_eq!(server(&p, &sid)["status"], "stopped");
    run(
        &p,
        "POST",
        &format!("/api/v1/servers/{sid}/start"),
        Value::Null,
    );
    assert_eq!(server(&p, &sid)["status"], "running");
    run(
        &p,
        "POST",
        &format!("/api/v1/servers/{sid}/resize"),
        json!({ "size": case.bigger }),
    );
    let s = server(&p, &sid);
    assert_eq!(
        (s["size"].as_str(), s["status"].as_str()),
        (Some(case.bigger), Some("running")),
        "{s}"
    );
    assert_eq!(
        s["public_ip"],
        ip.as_str(),
        "the address outlives power and resize: {s}"
    );
    listed_as_read(&p);

    // A record pointed at the server, then removed.
    let (status, zones) = api(
        &p,
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{scope}/dns/zones"),
        Value::Null,
    );
    assert_eq!(status, 200, "{zones}");
    let zone = zones["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == case.zone)
        .unwrap_or_else(|| panic!("{zones}"))
        .clone();
    let (status, d) = api(
        &p,
        "POST",
        "/api/v1/dns/domains",
        json!({ "account_id": id, "zone_id": zone["id"] }),
    );
    assert_eq!(status, 201, "{d}");
    let record = format!("/api/v1/dns/domains/{}/records/A/web-1", case.zone);
    let (status, r) = p.api_with(
        "PUT",
        &record,
        BOOTSTRAP_KEY,
        &json!({ "ttl": 300, "values": [ip] }).to_string(),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["fqdn"].as_str(), &r["values"]),
        (Some(format!("web-1.{}", case.zone).as_str()), &json!([ip])),
        "{r}"
    );
    let (status, v) = p.api_with(
        "DELETE",
        &record,
        BOOTSTRAP_KEY,
        "",
        &[("if-match", r["etag"].as_str().unwrap())],
    );
    assert_eq!(status, 200, "{v}");
    let (_, records) = api(
        &p,
        "GET",
        &format!("/api/v1/dns/domains/{}/records", case.zone),
        Value::Null,
    );
    assert!(
        !records["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "web-1"),
        "{records}"
    );

    // Backup storage: made, its folder (container) made, written to and
    // read back; listed with the account's storage; detached, it stays.
    let (status, setup) = api(
        &p,
        "POST",
        "/api/v1/storage/setup",
        json!({ "account_id": id, "subscription_id": scope, "region": case.region, "storage_account": "skyporteach1", "container": "backups" }),
    );
    assert_eq!(status, 202, "{setup}");
    let done = p.wait_for(
        &format!(
            "/api/v1/storage/operations/{}",
            setup["id"].as_str().unwrap()
        ),
        60,
        |v| v["status"] != "running",
    );
    assert_eq!(done["status"], "succeeded", "{done}");
    let target = &done["target"];
    assert_eq!(
        (
            target["status"].as_str(),
            target["storage_account"].as_str(),
            target["container"].as_str(),
            target["region"].as_str()
        ),
        (
            Some("verified"),
            Some("skyporteach1"),
            Some("backups"),
            Some(case.region)
        ),
        "{done}"
    );
    assert!(
        target["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/skyporteach1/backups"),
        "{target}"
    );
    let tid = target["id"].as_str().unwrap().to_string();
    let (status, checked) = api(
        &p,
        "POST",
        &format!("/api/v1/storage/targets/{tid}/check"),
        Value::Null,
    );
    assert_eq!(
        (status, checked["status"].as_str()),
        (200, Some("verified")),
        "{checked}"
    );
    let (status, listed) = api(
        &p,
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{scope}/storage/accounts"),
        Value::Null,
    );
    assert_eq!(status, 200, "{listed}");
    let made = listed["storage_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "skyporteach1")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(made["containers"], json!(["backups"]), "{listed}");
    let (status, v) = api(
        &p,
        "DELETE",
        &format!("/api/v1/storage/targets/{tid}"),
        Value::Null,
    );
    assert_eq!(status, 200, "{v}");
    let (_, listed) = api(
        &p,
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{scope}/storage/accounts"),
        Value::Null,
    );
    assert!(
        listed.to_string().contains("skyporteach1"),
        "a detached target's storage stays: {listed}"
    );

    run(&p, "DELETE", &format!("/api/v1/servers/{sid}"), Value::Null);
    let (_, list) = api(&p, "GET", "/api/v1/servers", Value::Null);
    assert!(
        !list["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == sid.as_str()),
        "{list}"
    );
    assert_eq!(
        (case.left)(&p),
        Vec::<String>::new(),
        "the provider still holds them"
    );

    // Access lost: the account turns Expired with a remedy; regained, it
    // is Active again.
    (case.lose_access)(&p);
    let (status, e) = api(
        &p,
        "POST",
        &format!("/api/v1/accounts/{id}/refresh"),
        Value::Null,
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("account_expired")),
        "{e}"
    );
    assert!(!e["error"]["remedy"].as_str().unwrap().is_empty(), "{e}");
    let (_, a) = api(&p, "GET", &format!("/api/v1/accounts/{id}"), Value::Null);
    assert_eq!(a["status"], "Expired", "{a}");
    listed_as_read(&p);
    (case.regain)(&p, &id);
    let (_, a) = api(&p, "GET", &format!("/api/v1/accounts/{id}"), Value::Null);
    assert_eq!(a["status"], "Active", "{a}");
    listed_as_read(&p);

    // The account deleted with its server: the server goes through its own
    // operation, then the account, and the provider holds nothing of it.
    let spec = json!({ "account_id": id, "subscription_id": scope, "region": case.region, "size": case.size, "name": "web-2", "ssh_public_key": SSH_KEY });
    let (status, op) = p.create_server(&spec.to_string(), "each-provider-2");
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (status, refused) = api(&p, "DELETE", &format!("/api/v1/accounts/{id}"), Value::Null);
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("account_in_use")),
        "{refused}"
    );
    let (status, deleting) = api(
        &p,
        "DELETE",
        &format!("/api/v1/accounts/{id}?cascade=true"),
        Value::Null,
    );
    assert_eq!(status, 202, "{deleting}");
    assert!(
        !deleting["revoke"].as_str().unwrap().is_empty(),
        "{deleting}"
    );
    let op = deleting["operations"][0]["operation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{deleting}"));
    assert_eq!(p.wait_operation(op)["status"], "succeeded");
    let gone = p.wait_until(&format!("/api/v1/accounts/{id}"), 30, |status, _| {
        status == 404
    });
    assert_eq!(gone["error"]["code"], "not_found", "{gone}");
    assert_eq!(
        p.events("account.deleted", &id)[0]["data"]["cascade"],
        true,
        "the account went with its last server"
    );
    assert_eq!(
        (case.left)(&p),
        Vec::<String>::new(),
        "the provider still holds them"
    );
    (case.after_delete)(&p);
}
