//! The DigitalOcean API v2 subset over real HTTP: token refusals and rate
//! headers, page links, SSH keys, a Droplet's life (created, active with
//! addresses, powered off, resized, destroyed), create validation, scripted
//! faults in DigitalOcean's format, domains and their records (the seed's
//! domain, record changes, refusals, teams kept apart, paging), cloud
//! firewalls (by tag and by Droplet, refusals, teams kept apart), reserved
//! IPs (assigned by actions, refusals, kept when their Droplet goes) and tags
//! (made, put on and taken off Droplets, deleted, refusals, teams kept
//! apart, kept across a restart) — and
//! DigitalOcean's own Python client, pydo, driving it
//! (tests/python/digitalocean_sdk.py).

mod support;

use std::path::PathBuf;
use std::process::Command as Process;

use serde_json::{json, Value};
use sim::digitalocean::{
    Team, SEED_CLIENT_ID, SEED_CLIENT_SECRET, SEED_DOMAIN, SEED_TEAM, SEED_TOKEN,
};
use sim::state::Fault;
use sim::{Command, Sim, World};
use support::*;

/// A public key and the fingerprint `ssh-keygen -l -E md5` gives it.
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICuvHq1PcGNTFLADoHfaBx9edpbAWROqQCSuzEcW+APF sammy@example";
const KEY_MD5: &str = "36:b6:9d:1c:d6:29:21:e8:b4:2e:c1:71:e7:81:ac:52";
const OTHER_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDYk9DtzEhbNW9j9g1Qdb63gqgCveDyMPwvTH5o+DsQyTUe0zUuwJa3JgR8qzv7UpeWxz9knK0YpiXKHxHE4HY/3kBu4TIt9+NZSYqkHDoxna5YrhhA1dEgEKHoWdinl83BdxH9R/AAujozbNputStOoBcwgZQVGDKNjfVz3e1jDiimLD5L5aEl3OyJZZkRZgBtqdWIgIuxZYqjAuRvRgLQYcDcPc9koiprxELXIFjiIKo0BcGIoeaniQx9wfCtd4w7SrXso9QJIDJWkGgKLZ6XSV0+rsp3Gbj2DuWE3F8mY6D3+aei4lhcLgQ4ezNla+mencq0a5S1sq0TxHBoIRrz other@example";
const OTHER_KEY_MD5: &str = "1f:82:24:18:67:8f:e4:b5:27:84:8e:a1:3a:84:3b:67";

/// A DigitalOcean call with `token` (none when empty); `path` starts at `/v2`.
fn api(sim: &Sim, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sim.url)
    };
    let auth = format!("Bearer {token}");
    let text = body.map(Value::to_string);
    let mut headers = vec![];
    if !token.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    if text.is_some() {
        headers.push(("content-type", "application/json"));
    }
    call(method, &url, &headers, text.as_deref())
}

fn seed(sim: &Sim, method: &str, path: &str, body: Option<&Value>) -> Reply {
    api(sim, SEED_TOKEN, method, path, body)
}

/// Asserts DigitalOcean's error envelope and returns its message.
fn refused(r: &Reply, status: u16, id: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    let b = r.json();
    assert_eq!(b["id"], id, "{b}");
    let request_id = b["request_id"].as_str().expect("a request_id");
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{b}");
    assert_eq!(r.header("x-request-id"), Some(request_id));
    b["message"].as_str().unwrap().to_string()
}

fn remaining(r: &Reply) -> u64 {
    r.header("ratelimit-remaining")
        .expect("ratelimit-remaining")
        .parse()
        .unwrap()
}

fn fault(path: &str, status: u16) -> Fault {
    Fault {
        path: path.into(),
        method: None,
        status: Some(status),
        count: Some(1),
        probability: None,
        latency_ms: None,
        drop_connection: false,
        retry_after: Some(3),
    }
}

fn add_key(sim: &Sim, name: &str, key: &str) -> Value {
    let r = seed(
        sim,
        "POST",
        "/v2/account/keys",
        Some(&json!({ "name": name, "public_key": key })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["ssh_key"].clone()
}

fn droplet_body(name: &str) -> Value {
    json!({ "name": name, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" })
}

/// Reads an action until it is no longer in progress.
fn settle(sim: &Sim, action: u64) -> Value {
    for _ in 0..20 {
        let a = seed(sim, "GET", &format!("/v2/actions/{action}"), None).json()["action"].clone();
        if a["status"] != "in-progress" {
            return a;
        }
    }
    panic!("action {action} never completed")
}

fn act(sim: &Sim, droplet: u64, body: Value) -> Reply {
    seed(
        sim,
        "POST",
        &format!("/v2/droplets/{droplet}/actions"),
        Some(&body),
    )
}

#[test]
fn tokens_are_checked_and_refused_in_digitaloceans_words() {
    let sim = start();
    for token in ["", "dop_v1_0000", "not-even-close"] {
        let r = api(&sim, token, "GET", "/v2/account", None);
        assert_eq!(
            refused(&r, 401, "Unauthorized"),
            "Unable to authenticate you"
        );
        assert_eq!(r.header("ratelimit-limit"), Some("5000"));
        assert!(r.header("x-ms-request-id").is_none(), "no Azure headers");
    }

    let r = seed(&sim, "GET", "/v2/account", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.json()["account"];
    assert_eq!(a["droplet_limit"], 25);
    assert_eq!(a["floating_ip_limit"], 3);
    assert_eq!(a["volume_limit"], 100);
    assert_eq!(a["email_verified"], true);
    assert_eq!(a["status"], "active");
    assert_eq!(a["status_message"], "");
    assert_eq!(a["team"]["uuid"], SEED_TEAM);
    assert_eq!(a["team"]["name"], "Example Team");
    assert_eq!(a["uuid"].as_str().unwrap().len(), 40);

    // A new team over the admin endpoint, as a script would add one.
    let other = format!("dop_v1_{}", "ab".repeat(32));
    let add = json!({ "action": "add_digital_ocean_team", "team": { "name": "Second Team", "email": "second@example.com", "tokens": [other] } });
    let r = call(
        "POST",
        &format!("{}/_sim/commands", sim.url),
        &[("content-type", "application/json")],
        Some(&add.to_string()),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let second = api(&sim, &other, "GET", "/v2/account", None).json();
    assert_eq!(second["account"]["team"]["name"], "Second Team");
    assert_eq!(second["account"]["email"], "second@example.com");
    assert_ne!(second["account"]["team"]["uuid"], SEED_TEAM);

    // Teams see only their own keys.
    add_key(&sim, "mine", KEY);
    let theirs = api(&sim, &other, "GET", "/v2/account/keys", None).json();
    assert_eq!(theirs["meta"]["total"], 0, "{theirs}");

    sim.command(Command::RevokeDigitalOceanToken {
        token: other.clone(),
    })
    .unwrap();
    let r = api(&sim, &other, "GET", "/v2/account", None);
    refused(&r, 401, "Unauthorized");
    assert!(sim
        .command(Command::RevokeDigitalOceanToken { token: other })
        .is_err());
}

#[test]
fn every_answer_counts_down_its_tokens_rate_limit() {
    let sim = start();
    let first = seed(&sim, "GET", "/v2/regions", None);
    assert_eq!(first.header("ratelimit-limit"), Some("5000"));
    assert_eq!(remaining(&first), 4999);
    let reset: i64 = first.header("ratelimit-reset").unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 3590..=now + 3610).contains(&reset),
        "{reset} vs {now}"
    );
    assert_eq!(remaining(&seed(&sim, "GET", "/v2/sizes", None)), 4998);
    // Errors count too, and each token has its own window.
    assert_eq!(remaining(&seed(&sim, "GET", "/v2/droplets/1", None)), 4997);
    assert_eq!(
        remaining(&api(&sim, "someone-else", "GET", "/v2/account", None)),
        4999
    );

    sim.command(Command::DigitalOceanSettings {
        action_polls: None,
        rate_limit: Some(4),
        oauth_token_seconds: None,
    })
    .unwrap();
    let r = seed(&sim, "GET", "/v2/account", None);
    assert_eq!(r.status, 200);
    assert_eq!(remaining(&r), 0);
    let r = seed(&sim, "GET", "/v2/account", None);
    assert_eq!(
        refused(&r, 429, "too_many_requests"),
        "API Rate limit exceeded."
    );
    assert_eq!(remaining(&r), 0);
    assert_eq!(r.header("ratelimit-limit"), Some("4"));
}

#[test]
fn lists_page_with_digitaloceans_links() {
    let sim = start();
    let regions = seed(&sim, "GET", "/v2/regions", None).json();
    let list = regions["regions"].as_array().unwrap();
    assert_eq!(regions["meta"]["total"], list.len());
    assert_eq!(regions["links"], json!({}), "one page has no page links");
    for slug in ["nyc3", "ams3", "fra1", "sgp1"] {
        let r = list.iter().find(|r| r["slug"] == slug).expect(slug);
        assert_eq!(r["available"], true);
        assert!(r["sizes"]
            .as_array()
            .unwrap()
            .contains(&json!("s-1vcpu-1gb")));
        assert!(r["name"].as_str().unwrap().contains(' '));
    }
    let closed = list.iter().find(|r| r["available"] == false).unwrap();
    assert_eq!(closed["sizes"], json!([]));

    let sizes = seed(&sim, "GET", "/v2/sizes?per_page=200", None).json();
    let by_slug = |slug: &str| {
        sizes["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .unwrap_or_else(|| panic!("{slug}"))
            .clone()
    };
    for (slug, memory, vcpus, disk, monthly, hourly) in [
        ("s-1vcpu-1gb", 1024, 1, 25, 6.0, 0.00893),
        ("s-1vcpu-2gb", 2048, 1, 50, 12.0, 0.01786),
        ("s-2vcpu-2gb", 2048, 2, 60, 18.0, 0.02679),
        ("s-2vcpu-4gb", 4096, 2, 80, 24.0, 0.03571),
        ("s-4vcpu-8gb", 8192, 4, 160, 48.0, 0.07143),
    ] {
        let s = by_slug(slug);
        assert_eq!(s["memory"], memory, "{s}");
        assert_eq!(s["vcpus"], vcpus, "{s}");
        assert_eq!(s["disk"], disk, "{s}");
        assert_eq!(s["price_monthly"], monthly, "{s}");
        assert_eq!(s["price_hourly"], hourly, "{s}");
        assert_eq!(s["available"], true);
        assert_eq!(s["description"], "Basic");
        assert!(s["regions"].as_array().unwrap().contains(&json!("nyc3")));
    }
    let total = sizes["meta"]["total"].as_u64().unwrap() as usize;
    assert!(total >= 5);

    // Two a page: page 1 links forward only, a middle page both ways, the
    // last back only — absolute URLs that keep the other parameters.
    let base = format!("{}/v2/sizes", sim.url);
    let last = total.div_ceil(2);
    let p1 = seed(&sim, "GET", "/v2/sizes?per_page=2", None).json();
    assert_eq!(p1["sizes"].as_array().unwrap().len(), 2);
    assert_eq!(
        p1["links"],
        json!({ "pages": {
            "next": format!("{base}?page=2&per_page=2"),
            "last": format!("{base}?page={last}&per_page=2"),
        } })
    );
    let p2 = seed(&sim, "GET", &format!("{base}?page=2&per_page=2"), None).json();
    assert_eq!(
        p2["links"]["pages"],
        json!({
            "first": format!("{base}?page=1&per_page=2"),
            "prev": format!("{base}?page=1&per_page=2"),
            "next": format!("{base}?page=3&per_page=2"),
            "last": format!("{base}?page={last}&per_page=2"),
        })
    );
    assert_ne!(p2["sizes"][0]["slug"], p1["sizes"][0]["slug"]);
    let end = seed(
        &sim,
        "GET",
        &format!("/v2/sizes?per_page=2&page={last}"),
        None,
    )
    .json();
    let pages = end["links"]["pages"].as_object().unwrap();
    assert_eq!(pages.keys().collect::<Vec<_>>(), ["first", "prev"], "{end}");
    assert_eq!(end["meta"]["total"], total);
    // per_page is capped at 200; the default is 20.
    let capped = seed(&sim, "GET", "/v2/regions?per_page=1000", None).json();
    assert_eq!(capped["regions"].as_array().unwrap().len(), list.len());

    // Keys and Droplets page the same way.
    add_key(&sim, "one", KEY);
    add_key(&sim, "two", OTHER_KEY);
    let keys = seed(&sim, "GET", "/v2/account/keys?per_page=1", None).json();
    assert_eq!(keys["meta"]["total"], 2);
    assert_eq!(keys["ssh_keys"].as_array().unwrap().len(), 1);
    assert!(keys["links"]["pages"]["next"]
        .as_str()
        .unwrap()
        .ends_with("/v2/account/keys?page=2&per_page=1"));
}

#[test]
fn ssh_keys_are_registered_once_per_team() {
    let sim = start();
    let key = add_key(&sim, "laptop", KEY);
    assert_eq!(key["fingerprint"], KEY_MD5);
    assert_eq!(key["public_key"], KEY);
    assert_eq!(key["name"], "laptop");
    let id = key["id"].as_u64().unwrap();
    assert_eq!(
        add_key(&sim, "desktop", OTHER_KEY)["fingerprint"],
        OTHER_KEY_MD5
    );

    let again = seed(
        &sim,
        "POST",
        "/v2/account/keys",
        Some(&json!({ "name": "again", "public_key": KEY })),
    );
    assert_eq!(
        refused(&again, 422, "unprocessable_entity"),
        "SSH Key is already in use on your account"
    );
    for bad in ["", "ssh-rsa", "ssh-ed25519 bm90IGEga2V5", "hello world"] {
        let r = seed(
            &sim,
            "POST",
            "/v2/account/keys",
            Some(&json!({ "name": "bad", "public_key": bad })),
        );
        assert!(
            refused(&r, 422, "unprocessable_entity").starts_with("Key invalid"),
            "{bad}"
        );
    }

    for ident in [id.to_string(), KEY_MD5.to_string()] {
        let r = seed(&sim, "GET", &format!("/v2/account/keys/{ident}"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["ssh_key"]["id"], id);
    }
    let list = seed(&sim, "GET", "/v2/account/keys", None).json();
    assert_eq!(list["meta"]["total"], 2);
    let renamed = seed(
        &sim,
        "PUT",
        &format!("/v2/account/keys/{id}"),
        Some(&json!({ "name": "work laptop" })),
    );
    assert_eq!(renamed.json()["ssh_key"]["name"], "work laptop");

    let r = seed(&sim, "DELETE", &format!("/v2/account/keys/{KEY_MD5}"), None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    let r = seed(&sim, "GET", &format!("/v2/account/keys/{id}"), None);
    refused(&r, 404, "not_found");
    let r = seed(&sim, "DELETE", &format!("/v2/account/keys/{id}"), None);
    refused(&r, 404, "not_found");
    // Once deleted it can be registered again.
    add_key(&sim, "laptop", KEY);
}

#[test]
fn a_droplet_is_created_powered_off_resized_and_destroyed() {
    let sim = start();
    let key = add_key(&sim, "deploy", KEY);
    let mut body = droplet_body("web-1.example.com");
    body["ssh_keys"] = json!([key["id"], OTHER_KEY_MD5]);
    let r = seed(&sim, "POST", "/v2/droplets", Some(&body));
    assert!(
        refused(&r, 422, "unprocessable_entity").contains(OTHER_KEY_MD5),
        "an unknown key is named"
    );
    add_key(&sim, "other", OTHER_KEY);
    body["tags"] = json!(["skyport", "env:prod"]);
    body["ipv6"] = json!(true);
    body["user_data"] = json!("#cloud-config\nruncmd:\n  - touch /ok\n");
    let r = seed(&sim, "POST", "/v2/droplets", Some(&body));
    assert_eq!(r.status, 202, "{}", r.body);
    let made = r.json();
    let d = &made["droplet"];
    let id = d["id"].as_u64().unwrap();
    assert_eq!(d["status"], "new");
    assert_eq!(d["name"], "web-1.example.com");
    assert_eq!(d["networks"], json!({ "v4": [], "v6": [] }));
    assert_eq!(d["size_slug"], "s-1vcpu-1gb");
    assert_eq!(d["memory"], 1024);
    assert_eq!(d["vcpus"], 1);
    assert_eq!(d["disk"], 25);
    assert_eq!(d["locked"], false);
    assert_eq!(d["size"]["price_monthly"], 6.0);
    assert_eq!(d["region"]["slug"], "nyc3");
    assert_eq!(d["image"]["slug"], "ubuntu-24-04-x64");
    assert_eq!(d["image"]["name"], "24.04 (LTS) x64");
    assert_eq!(d["image"]["distribution"], "Ubuntu");
    assert_eq!(d["tags"], json!(["skyport", "env:prod"]));
    assert_eq!(d["volume_ids"], json!([]));
    assert!(uuid::Uuid::parse_str(d["vpc_uuid"].as_str().unwrap()).is_ok());
    assert!(d["features"].as_array().unwrap().contains(&json!("ipv6")));
    assert!(chrono::DateTime::parse_from_rfc3339(d["created_at"].as_str().unwrap()).is_ok());
    let link = &made["links"]["actions"][0];
    assert_eq!(link["rel"], "create");
    let create = link["id"].as_u64().unwrap();
    assert!(create > u32::MAX as u64 / 2, "action ids are past 2^31");
    assert_eq!(link["href"], format!("{}/v2/actions/{create}", sim.url));

    // A new Droplet is busy with its create: other actions wait.
    let r = act(&sim, id, json!({ "type": "power_off" }));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "Droplet already has a pending event."
    );

    // Two reads, and it is active with its addresses.
    let first = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    assert_eq!(first["droplet"]["status"], "new");
    let active = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    let d = &active["droplet"];
    assert_eq!(d["status"], "active", "{d}");
    let v4 = d["networks"]["v4"].as_array().unwrap();
    let public = v4.iter().find(|n| n["type"] == "public").unwrap();
    let private = v4.iter().find(|n| n["type"] == "private").unwrap();
    assert!(public["ip_address"]
        .as_str()
        .unwrap()
        .parse::<std::net::Ipv4Addr>()
        .is_ok());
    assert!(public["gateway"].as_str().unwrap().ends_with(".1"));
    assert_eq!(public["netmask"], "255.255.240.0");
    assert!(private["ip_address"].as_str().unwrap().starts_with("10."));
    assert_eq!(d["networks"]["v6"][0]["type"], "public");
    let created = seed(&sim, "GET", &format!("/v2/actions/{create}"), None).json();
    let a = &created["action"];
    assert_eq!(a["status"], "completed");
    assert_eq!(a["type"], "create");
    assert_eq!(a["resource_id"], id);
    assert_eq!(a["resource_type"], "droplet");
    assert_eq!(a["region_slug"], "nyc3");
    assert_eq!(a["region"]["slug"], "nyc3");
    assert!(a["completed_at"].is_string());

    // Resizing needs it off.
    let r = act(&sim, id, json!({ "type": "resize", "size": "s-2vcpu-4gb" }));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "Droplet is currently on. Please power it off to run this event."
    );
    let r = act(&sim, id, json!({ "type": "power_off" }));
    assert_eq!(r.status, 201, "{}", r.body);
    let off = r.json()["action"].clone();
    assert_eq!(off["status"], "in-progress");
    assert_eq!(off["type"], "power_off");
    assert_eq!(off["completed_at"], Value::Null);
    assert_eq!(off["resource_id"], id);
    let off_id = off["id"].as_u64().unwrap();
    assert_eq!(
        seed(
            &sim,
            "GET",
            &format!("/v2/droplets/{id}/actions/{off_id}"),
            None
        )
        .json()["action"]["id"],
        off_id
    );
    assert_eq!(settle(&sim, off_id)["status"], "completed");
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    assert_eq!(d["droplet"]["status"], "off");
    let r = act(&sim, id, json!({ "type": "shutdown" }));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "The droplet is already off."
    );

    for (size, why) in [
        ("s-1vcpu-1gb", "The droplet is already set to this size."),
        (
            "s-99vcpu-1tb",
            "You specified an invalid size for Droplet creation.",
        ),
    ] {
        let r = act(&sim, id, json!({ "type": "resize", "size": size }));
        assert_eq!(refused(&r, 422, "unprocessable_entity"), why);
    }
    let r = act(&sim, id, json!({ "type": "resize", "size": "s-2vcpu-4gb" }));
    assert_eq!(r.status, 201, "{}", r.body);
    settle(&sim, r.json()["action"]["id"].as_u64().unwrap());
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json()["droplet"].clone();
    assert_eq!(d["size_slug"], "s-2vcpu-4gb");
    assert_eq!(d["memory"], 4096);
    assert_eq!(d["vcpus"], 2);
    assert_eq!(d["disk"], 25, "without disk: true the disk stays");
    assert_eq!(d["status"], "off", "a resize leaves it off");
    // With the disk it grows, and cannot go back to a smaller plan.
    let r = act(
        &sim,
        id,
        json!({ "type": "resize", "size": "s-4vcpu-8gb", "disk": true }),
    );
    settle(&sim, r.json()["action"]["id"].as_u64().unwrap());
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json()["droplet"].clone();
    assert_eq!(d["disk"], 160);
    let r = act(&sim, id, json!({ "type": "resize", "size": "s-2vcpu-4gb" }));
    refused(&r, 422, "unprocessable_entity");

    let r = act(&sim, id, json!({ "type": "power_on" }));
    settle(&sim, r.json()["action"]["id"].as_u64().unwrap());
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    assert_eq!(d["droplet"]["status"], "active");
    let r = act(&sim, id, json!({ "type": "snapshot" }));
    refused(&r, 422, "unprocessable_entity");
    let history = seed(&sim, "GET", &format!("/v2/droplets/{id}/actions"), None).json();
    let kinds: Vec<&str> = history["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["power_on", "resize", "resize", "power_off", "create"]
    );

    // Listing, by tag.
    let r = seed(&sim, "POST", "/v2/droplets", Some(&droplet_body("db-1")));
    assert_eq!(r.status, 202);
    let all = seed(&sim, "GET", "/v2/droplets", None).json();
    assert_eq!(all["meta"]["total"], 2);
    let tagged = seed(&sim, "GET", "/v2/droplets?tag_name=skyport", None).json();
    assert_eq!(tagged["meta"]["total"], 1);
    assert_eq!(tagged["droplets"][0]["id"], id);

    let r = seed(&sim, "DELETE", &format!("/v2/droplets/{id}"), None);
    assert_eq!(r.status, 204, "{}", r.body);
    let r = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None);
    assert_eq!(
        refused(&r, 404, "not_found"),
        "The resource you were accessing could not be found."
    );
    refused(
        &seed(&sim, "DELETE", &format!("/v2/droplets/{id}"), None),
        404,
        "not_found",
    );
    refused(
        &act(&sim, id, json!({ "type": "power_on" })),
        404,
        "not_found",
    );
    assert_eq!(
        seed(&sim, "GET", "/v2/droplets", None).json()["meta"]["total"],
        1
    );
}

#[test]
fn creates_are_validated_field_by_field() {
    let sim = start();
    let post = |body: &Value| seed(&sim, "POST", "/v2/droplets", Some(body));
    let with = |field: &str, value: Value| {
        let mut b = droplet_body("ok-1");
        b[field] = value;
        b
    };
    for (body, message) in [
        (
            with("name", json!("bad_name")),
            "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
        ),
        (
            with("name", json!("ends-with-")),
            "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
        ),
        (
            with("region", json!("xyz9")),
            "You specified an invalid region for Droplet creation.",
        ),
        (
            with("size", json!("s-64vcpu-2tb")),
            "You specified an invalid size for Droplet creation.",
        ),
        (
            with("image", json!("debian-12-x64")),
            "You specified an invalid image for Droplet creation.",
        ),
        (
            with("ssh_keys", json!([12345])),
            "12345 are invalid key identifiers for Droplet creation.",
        ),
    ] {
        assert_eq!(
            refused(&post(&body), 422, "unprocessable_entity"),
            message,
            "{body}"
        );
    }
    let mut small = with("size", json!("s-1vcpu-512mb-10gb"));
    small["region"] = json!("lon1");
    assert_eq!(
        refused(&post(&small), 422, "unprocessable_entity"),
        "Size is not available in this region."
    );
    assert!(refused(
        &post(&with("region", json!("nyc2"))),
        422,
        "unprocessable_entity"
    )
    .contains("nyc2"));
    assert!(refused(
        &post(&with("tags", json!(["ok", "not ok"]))),
        422,
        "unprocessable_entity"
    )
    .contains("tag"));
    let mut nameless = droplet_body("x");
    nameless.as_object_mut().unwrap().remove("name");
    assert!(refused(&post(&nameless), 422, "unprocessable_entity").contains("Name"));
    let r = seed(&sim, "POST", "/v2/droplets", None);
    refused(&r, 400, "bad_request");

    // A region named without its number lands in one of its datacenters.
    let r = post(&with("region", json!("ams")));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["droplet"]["region"]["slug"], "ams3");

    // The team's Droplet limit.
    sim.command(Command::AddDigitalOceanTeam {
        team: Team {
            uuid: SEED_TEAM.into(),
            name: "Example Team".into(),
            email: "sammy@example.com".into(),
            droplet_limit: 2,
            reserved_ip_limit: 3,
            tokens: vec![SEED_TOKEN.into()],
            domains: vec![SEED_DOMAIN.into()],
        },
    })
    .unwrap();
    assert_eq!(
        seed(&sim, "GET", "/v2/account", None).json()["account"]["droplet_limit"],
        2
    );
    let r = post(
        &json!({ "names": ["a-1", "a-2"], "region": "fra1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" }),
    );
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "creating this/these droplet(s) will exceed your droplet limit"
    );
    let r = post(&droplet_body("last-1"));
    assert_eq!(r.status, 202, "{}", r.body);
    refused(
        &post(&droplet_body("one-more")),
        422,
        "unprocessable_entity",
    );
}

#[test]
fn several_droplets_at_once() {
    let sim = start();
    let r = seed(
        &sim,
        "POST",
        "/v2/droplets",
        Some(
            &json!({ "names": ["w-1", "w-2", "w-3"], "region": "sgp1", "size": "s-2vcpu-2gb", "image": "ubuntu-24-04-x64", "tags": ["pool"] }),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let b = r.json();
    assert_eq!(b["droplets"].as_array().unwrap().len(), 3);
    assert_eq!(b["links"]["actions"].as_array().unwrap().len(), 3);
    // Listing reads them all, so two listings make them all active.
    seed(&sim, "GET", "/v2/droplets?tag_name=pool", None);
    let listed = seed(&sim, "GET", "/v2/droplets?tag_name=pool", None).json();
    assert!(listed["droplets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "active"));
    let r = seed(&sim, "DELETE", "/v2/droplets?tag_name=pool", None);
    assert_eq!(r.status, 204);
    assert_eq!(
        seed(&sim, "GET", "/v2/droplets", None).json()["meta"]["total"],
        0
    );
}

#[test]
fn action_progress_is_scriptable() {
    let sim = start();
    sim.command(Command::DigitalOceanSettings {
        action_polls: Some(0),
        rate_limit: None,
        oauth_token_seconds: None,
    })
    .unwrap();
    let r = seed(&sim, "POST", "/v2/droplets", Some(&droplet_body("quick-1")));
    let made = r.json();
    assert_eq!(
        made["droplet"]["status"], "new",
        "the create answer always shows it new"
    );
    let id = made["droplet"]["id"].as_u64().unwrap();
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    assert_eq!(
        d["droplet"]["status"], "active",
        "the first read sees it done"
    );

    sim.command(Command::DigitalOceanSettings {
        action_polls: Some(5),
        rate_limit: None,
        oauth_token_seconds: None,
    })
    .unwrap();
    let r = act(&sim, id, json!({ "type": "reboot" }));
    let action = r.json()["action"]["id"].as_u64().unwrap();
    for _ in 0..4 {
        let a = seed(&sim, "GET", &format!("/v2/actions/{action}"), None).json();
        assert_eq!(a["action"]["status"], "in-progress");
    }
    let a = seed(&sim, "GET", &format!("/v2/actions/{action}"), None).json();
    assert_eq!(a["action"]["status"], "completed");

    // What happens outside the API: the control panel powers it off, destroys it.
    sim.command(Command::SetDropletStatus {
        droplet: id,
        status: "off".into(),
    })
    .unwrap();
    let d = seed(&sim, "GET", &format!("/v2/droplets/{id}"), None).json();
    assert_eq!(d["droplet"]["status"], "off");
    sim.command(Command::DestroyDroplet { droplet: id })
        .unwrap();
    refused(
        &seed(&sim, "GET", &format!("/v2/droplets/{id}"), None),
        404,
        "not_found",
    );
}

#[test]
fn scripted_faults_answer_in_digitaloceans_format() {
    let sim = start();
    sim.command(Command::AddFault {
        fault: fault("/v2/droplets", 429),
    })
    .unwrap();
    let r = seed(&sim, "GET", "/v2/droplets", None);
    assert_eq!(
        refused(&r, 429, "too_many_requests"),
        "API Rate limit exceeded."
    );
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-limit"), Some("5000"));
    assert_eq!(r.header("retry-after"), Some("3"));
    assert!(r.header("ratelimit-reset").is_some());
    assert!(r.header("x-ms-request-id").is_none());
    assert_eq!(seed(&sim, "GET", "/v2/droplets", None).status, 200);

    for (status, id, retry) in [
        (500, "server_error", false),
        (503, "service_unavailable", true),
    ] {
        sim.command(Command::AddFault {
            fault: fault("/v2/droplets", status),
        })
        .unwrap();
        let r = seed(&sim, "POST", "/v2/droplets", Some(&droplet_body("faulted")));
        refused(&r, status, id);
        assert_eq!(r.header("retry-after").is_some(), retry, "{status}");
        assert!(remaining(&r) < 5000);
    }
    // Faults took the creates: none was made.
    assert_eq!(
        seed(&sim, "GET", "/v2/droplets", None).json()["meta"]["total"],
        0
    );

    // The same rules still reach Azure's paths in Azure's format.
    sim.command(Command::AddFault {
        fault: fault("/providers", 429),
    })
    .unwrap();
    let token = token(&sim);
    let r = arm(&sim, &token, "GET", &format!("{}/providers", sub()), None);
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
}

#[test]
fn droplets_outlive_a_restart() {
    let sim = start();
    let key = add_key(&sim, "kept", KEY);
    let r = seed(&sim, "POST", "/v2/droplets", Some(&droplet_body("kept-1")));
    let id = r.json()["droplet"]["id"].as_u64().unwrap();
    let snapshot = sim.snapshot();
    drop(sim);
    let again = Sim::spawn_from(World::default(), "127.0.0.1:0", Some(snapshot)).unwrap();
    let d = seed(&again, "GET", &format!("/v2/droplets/{id}"), None);
    assert_eq!(d.status, 200, "{}", d.body);
    let k = seed(
        &again,
        "GET",
        &format!("/v2/account/keys/{}", key["id"]),
        None,
    );
    assert_eq!(k.status, 200);
    let next = seed(
        &again,
        "POST",
        "/v2/droplets",
        Some(&droplet_body("kept-2")),
    );
    assert!(
        next.json()["droplet"]["id"].as_u64().unwrap() > id,
        "ids go on"
    );
}

/// `/v2/domains/{SEED_DOMAIN}` followed by `tail`.
fn seed_domain(tail: &str) -> String {
    format!("/v2/domains/{SEED_DOMAIN}{tail}")
}

/// Creates a record on the seed domain and returns it.
fn add_record(sim: &Sim, body: Value) -> Value {
    let r = seed(sim, "POST", &seed_domain("/records"), Some(&body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["domain_record"].clone()
}

/// The records of a list answer as (type, name, data).
fn triples(list: &Value) -> Vec<(String, String, String)> {
    list["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("type"), s("name"), s("data"))
        })
        .collect()
}

#[test]
fn the_seed_domain_is_served_with_digitaloceans_records() {
    let sim = start();
    let list = seed(&sim, "GET", "/v2/domains", None).json();
    assert_eq!(list["meta"]["total"], 1, "{list}");
    assert_eq!(list["links"], json!({}));
    let d = &list["domains"][0];
    assert_eq!(d["name"], SEED_DOMAIN);
    assert_eq!(d["ttl"], 1800);
    let zone = d["zone_file"].as_str().unwrap();
    assert!(zone.starts_with(&format!("$ORIGIN {SEED_DOMAIN}.\n$TTL 1800\n{SEED_DOMAIN}. IN SOA ns1.digitalocean.com. hostmaster.{SEED_DOMAIN}. ")), "{zone}");
    for n in 1..=3 {
        assert!(
            zone.contains(&format!(
                "{SEED_DOMAIN}. 1800 IN NS ns{n}.digitalocean.com.\n"
            )),
            "{zone}"
        );
    }
    assert!(
        zone.contains(&format!("{SEED_DOMAIN}. 1800 IN A 203.0.113.10\n")),
        "{zone}"
    );

    let one = seed(&sim, "GET", &seed_domain(""), None);
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json()["domain"]["name"], SEED_DOMAIN);
    // Names are not case-sensitive.
    let upper = format!("/v2/domains/{}", SEED_DOMAIN.to_uppercase());
    assert_eq!(seed(&sim, "GET", &upper, None).status, 200);

    let ns = seed(&sim, "GET", &seed_domain("/records?type=NS"), None).json();
    assert_eq!(ns["meta"]["total"], 3, "{ns}");
    for (i, r) in ns["domain_records"].as_array().unwrap().iter().enumerate() {
        assert!(r["id"].is_u64(), "{r}");
        assert_eq!(r["name"], "@");
        assert_eq!(r["data"], format!("ns{}.digitalocean.com", i + 1));
        assert_eq!(r["ttl"], 1800);
        for unused in ["priority", "port", "weight", "flags", "tag"] {
            assert_eq!(r[unused], Value::Null, "{r}");
        }
    }
    let all = seed(&sim, "GET", &seed_domain("/records"), None).json();
    assert_eq!(
        triples(&all),
        [
            ("SOA", "@", "1800"),
            ("NS", "@", "ns1.digitalocean.com"),
            ("NS", "@", "ns2.digitalocean.com"),
            ("NS", "@", "ns3.digitalocean.com"),
            ("A", "@", "203.0.113.10"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    let r = seed(&sim, "GET", "/v2/domains/not-mine.com", None);
    refused(&r, 404, "not_found");
    let r = seed(&sim, "GET", "/v2/domains/not-mine.com/records", None);
    refused(&r, 404, "not_found");

    // A new domain, with an A record for its apex; the create answers
    // before the zone file is written, as DigitalOcean's does.
    let r = seed(
        &sim,
        "POST",
        "/v2/domains",
        Some(&json!({ "name": "Skyport-Test.dev", "ip_address": "198.51.100.4" })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({ "domain": { "name": "skyport-test.dev", "ttl": 1800, "zone_file": null } })
    );
    let made = seed(
        &sim,
        "GET",
        "/v2/domains/skyport-test.dev/records?type=A",
        None,
    )
    .json();
    assert_eq!(
        triples(&made),
        [("A".into(), "@".into(), "198.51.100.4".into())]
    );
    let bare = seed(
        &sim,
        "POST",
        "/v2/domains",
        Some(&json!({ "name": "bare.dev" })),
    );
    assert_eq!(bare.status, 201, "{}", bare.body);
    let records = seed(&sim, "GET", "/v2/domains/bare.dev/records", None).json();
    assert_eq!(records["meta"]["total"], 4, "SOA and NS only: {records}");
    assert_eq!(
        seed(&sim, "GET", "/v2/domains", None).json()["meta"]["total"],
        3
    );

    // A name already served, by this team or another, is refused.
    let r = seed(
        &sim,
        "POST",
        "/v2/domains",
        Some(&json!({ "name": SEED_DOMAIN })),
    );
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        format!("domain '{SEED_DOMAIN}': name already exists")
    );
    for bad in [
        json!({}),
        json!({ "name": "localhost" }),
        json!({ "name": "bad_name.com" }),
        json!({ "name": 7 }),
    ] {
        let r = seed(&sim, "POST", "/v2/domains", Some(&bad));
        refused(&r, 422, "unprocessable_entity");
    }
    let r = seed(
        &sim,
        "POST",
        "/v2/domains",
        Some(&json!({ "name": "ok.dev", "ip_address": "2001:db8::1" })),
    );
    assert!(refused(&r, 422, "unprocessable_entity").contains("IPv4"));

    // Deleting a domain takes its records with it.
    assert_eq!(
        seed(&sim, "DELETE", "/v2/domains/skyport-test.dev", None).status,
        204
    );
    refused(
        &seed(&sim, "GET", "/v2/domains/skyport-test.dev", None),
        404,
        "not_found",
    );
    refused(
        &seed(&sim, "GET", "/v2/domains/skyport-test.dev/records", None),
        404,
        "not_found",
    );
    refused(
        &seed(&sim, "DELETE", "/v2/domains/skyport-test.dev", None),
        404,
        "not_found",
    );
    assert!(sim.with_state(|s| s
        .digitalocean
        .records
        .values()
        .all(|r| r.domain != "skyport-test.dev")));
}

#[test]
fn records_are_created_found_by_full_name_updated_and_deleted() {
    let sim = start();
    let www = add_record(
        &sim,
        json!({ "type": "A", "name": "www", "data": "203.0.113.20" }),
    );
    assert_eq!(
        www,
        json!({ "id": www["id"], "type": "A", "name": "www", "data": "203.0.113.20", "priority": null, "port": null, "ttl": 1800, "weight": null, "flags": null, "tag": null })
    );
    let id = www["id"].as_u64().unwrap();

    // `name` filters by the fully qualified name; `@` is the domain itself.
    let by_name = |q: &str| seed(&sim, "GET", &seed_domain(&format!("/records?{q}")), None).json();
    let found = by_name(&format!("name=www.{SEED_DOMAIN}"));
    assert_eq!(found["meta"]["total"], 1, "{found}");
    assert_eq!(found["domain_records"][0]["id"], id);
    assert_eq!(
        by_name(&format!("name=www.{SEED_DOMAIN}.&type=A"))["meta"]["total"],
        1
    );
    assert_eq!(
        by_name("name=www")["meta"]["total"],
        0,
        "a relative name matches nothing"
    );
    assert_eq!(
        by_name(&format!("name=www.{SEED_DOMAIN}&type=TXT"))["meta"]["total"],
        0
    );
    let apex = by_name(&format!("name={SEED_DOMAIN}&type=A"));
    assert_eq!(
        triples(&apex),
        [("A".into(), "@".into(), "203.0.113.10".into())]
    );
    assert_eq!(by_name("type=A")["meta"]["total"], 2);
    assert_eq!(by_name(&format!("name={SEED_DOMAIN}"))["meta"]["total"], 5);

    // A CNAME's target is sent with its dot and answered without it.
    let blog = add_record(
        &sim,
        json!({ "type": "CNAME", "name": "blog", "data": format!("www.{SEED_DOMAIN}."), "ttl": 300 }),
    );
    assert_eq!(blog["data"], format!("www.{SEED_DOMAIN}"));
    assert_eq!(blog["ttl"], 300);
    let apex_alias = add_record(
        &sim,
        json!({ "type": "CNAME", "name": "home", "data": "@" }),
    );
    assert_eq!(apex_alias["data"], "@");
    assert!(blog["id"].as_u64().unwrap() > id, "ids go on");
    let mx = add_record(
        &sim,
        json!({ "type": "MX", "data": "mail.example.net.", "priority": 10 }),
    );
    assert_eq!(
        (&mx["name"], &mx["data"], &mx["priority"]),
        (&json!("@"), &json!("mail.example.net"), &json!(10))
    );
    let zone = seed(&sim, "GET", &seed_domain(""), None).json()["domain"]["zone_file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        zone.contains(&format!("www.{SEED_DOMAIN}. 1800 IN A 203.0.113.20\n")),
        "{zone}"
    );
    assert!(
        zone.contains(&format!(
            "blog.{SEED_DOMAIN}. 300 IN CNAME www.{SEED_DOMAIN}.\n"
        )),
        "{zone}"
    );
    assert!(
        zone.contains(&format!(
            "home.{SEED_DOMAIN}. 1800 IN CNAME {SEED_DOMAIN}.\n"
        )),
        "{zone}"
    );
    assert!(
        zone.contains(&format!("{SEED_DOMAIN}. 1800 IN MX 10 mail.example.net.\n")),
        "{zone}"
    );

    let path = seed_domain(&format!("/records/{id}"));
    let got = seed(&sim, "GET", &path, None);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["domain_record"], www);

    // PUT and PATCH both take part of a record.
    let r = seed(&sim, "PUT", &path, Some(&json!({ "ttl": 60 })));
    assert_eq!(r.status, 200, "{}", r.body);
    let put = &r.json()["domain_record"];
    assert_eq!(
        (&put["ttl"], &put["data"], &put["name"]),
        (&json!(60), &json!("203.0.113.20"), &json!("www"))
    );
    let r = seed(
        &sim,
        "PATCH",
        &path,
        Some(&json!({ "data": "203.0.113.21", "type": "A" })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let patched = &r.json()["domain_record"];
    assert_eq!(
        (&patched["ttl"], &patched["data"]),
        (&json!(60), &json!("203.0.113.21"))
    );
    assert_eq!(
        seed(&sim, "GET", &path, None).json()["domain_record"]["data"],
        "203.0.113.21"
    );
    let r = seed(&sim, "PATCH", &path, Some(&json!({ "name": "web" })));
    assert_eq!(r.json()["domain_record"]["name"], "web", "{}", r.body);
    assert_eq!(
        by_name(&format!("name=web.{SEED_DOMAIN}"))["meta"]["total"],
        1
    );

    // The type stays; bad values are refused as on a create.
    let r = seed(
        &sim,
        "PUT",
        &path,
        Some(&json!({ "type": "AAAA", "data": "2001:db8::1" })),
    );
    refused(&r, 422, "unprocessable_entity");
    let r = seed(
        &sim,
        "PATCH",
        &path,
        Some(&json!({ "data": "not-an-address" })),
    );
    assert!(refused(&r, 422, "unprocessable_entity").contains("IPv4"));
    let r = seed(&sim, "PATCH", &path, Some(&json!({ "ttl": 10 })));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "record ttl must be greater than 30"
    );

    // A hostname record updated without its data is refused, as DigitalOcean
    // refuses it: the stored target has no dot. Sent again, it passes.
    let blog_path = seed_domain(&format!("/records/{}", blog["id"]));
    for method in ["PUT", "PATCH"] {
        let r = seed(&sim, method, &blog_path, Some(&json!({ "ttl": 600 })));
        assert_eq!(
            refused(&r, 422, "unprocessable_entity"),
            "Data needs to end with a dot (.)"
        );
    }
    let r = seed(
        &sim,
        "PATCH",
        &blog_path,
        Some(&json!({ "ttl": 600, "data": format!("www.{SEED_DOMAIN}.") })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["domain_record"]["ttl"], 600);
    // `@` needs no dot, so that CNAME takes a TTL alone.
    let home = seed_domain(&format!("/records/{}", apex_alias["id"]));
    assert_eq!(
        seed(&sim, "PATCH", &home, Some(&json!({ "ttl": 120 }))).status,
        200
    );

    // The SOA record takes a new TTL, which is the domain's, and stays.
    let soa = by_name("type=SOA")["domain_records"][0].clone();
    let soa_path = seed_domain(&format!("/records/{}", soa["id"]));
    let r = seed(&sim, "PUT", &soa_path, Some(&json!({ "ttl": 3600 })));
    assert_eq!(r.json()["domain_record"]["ttl"], 3600, "{}", r.body);
    assert_eq!(
        seed(&sim, "GET", &seed_domain(""), None).json()["domain"]["ttl"],
        3600
    );
    refused(
        &seed(&sim, "DELETE", &soa_path, None),
        422,
        "unprocessable_entity",
    );

    // Deleted, the record is gone; a record is reached only through its own domain.
    assert_eq!(seed(&sim, "DELETE", &path, None).status, 204);
    refused(&seed(&sim, "GET", &path, None), 404, "not_found");
    refused(&seed(&sim, "DELETE", &path, None), 404, "not_found");
    refused(
        &seed(&sim, "PATCH", &path, Some(&json!({ "ttl": 60 }))),
        404,
        "not_found",
    );
    let r = seed(
        &sim,
        "POST",
        "/v2/domains",
        Some(&json!({ "name": "second.dev" })),
    );
    assert_eq!(r.status, 201);
    let elsewhere = format!("/v2/domains/second.dev/records/{}", blog["id"]);
    refused(&seed(&sim, "GET", &elsewhere, None), 404, "not_found");
    refused(&seed(&sim, "DELETE", &elsewhere, None), 404, "not_found");
    refused(
        &seed(&sim, "GET", &seed_domain("/records/not-a-number"), None),
        404,
        "not_found",
    );
    assert_eq!(
        seed(&sim, "GET", &blog_path, None).status,
        200,
        "still there"
    );
}

#[test]
fn record_refusals_come_in_digitaloceans_words() {
    let sim = start();
    let post = |body: Value| seed(&sim, "POST", &seed_domain("/records"), Some(&body));
    let says = |body: Value| refused(&post(body), 422, "unprocessable_entity");
    assert_eq!(
        says(json!({ "type": "PTR", "name": "x", "data": "y." })),
        "Record type is not included in the list"
    );
    assert_eq!(
        says(json!({ "type": "cname", "name": "x", "data": "y." })),
        "Record type is not included in the list"
    );
    assert_eq!(
        says(json!({ "type": "SOA", "name": "@", "data": "1800" })),
        "Record type is not included in the list"
    );
    assert!(says(json!({ "type": "A", "name": "x", "data": "2001:db8::1" })).contains("IPv4"));
    assert!(says(json!({ "type": "AAAA", "name": "x", "data": "203.0.113.1" })).contains("IPv6"));
    assert_eq!(
        says(json!({ "type": "A", "name": "x" })),
        "Data can't be blank"
    );
    assert_eq!(
        says(json!({ "type": "TXT", "data": "hi" })),
        "Name can't be blank"
    );
    assert_eq!(
        says(json!({ "type": "CNAME", "name": "x", "data": "app.example.net" })),
        "Data needs to end with a dot (.)"
    );
    assert_eq!(
        says(json!({ "type": "TXT", "name": "x", "data": "hi", "ttl": 29 })),
        "record ttl must be greater than 30"
    );
    assert_eq!(
        says(json!({ "type": "MX", "data": "mail.example.net." })),
        "Priority can't be blank"
    );
    assert_eq!(
        post(json!({ "type": "TXT", "name": "x", "data": "hi", "ttl": 30 })).status,
        201
    );

    // A CNAME's name holds nothing else, the apex included.
    let clash = "CNAME records cannot share a name with other records";
    assert_eq!(
        says(json!({ "type": "CNAME", "name": "@", "data": "app.example.net." })),
        clash
    );
    assert_eq!(
        says(json!({ "type": "CNAME", "name": "x", "data": "app.example.net." })),
        clash
    );
    assert_eq!(
        post(json!({ "type": "CNAME", "name": "alias", "data": "app.example.net." })).status,
        201
    );
    assert_eq!(
        says(json!({ "type": "TXT", "name": "alias", "data": "v=spf1 -all" })),
        clash
    );
    assert_eq!(
        says(json!({ "type": "CNAME", "name": "alias", "data": "other.example.net." })),
        clash
    );

    let r = call(
        "POST",
        &format!("{}{}", sim.url, seed_domain("/records")),
        &[
            ("authorization", &format!("Bearer {SEED_TOKEN}")),
            ("content-type", "application/json"),
        ],
        Some("{not json"),
    );
    assert_eq!(
        refused(&r, 400, "bad_request"),
        "error parsing request body"
    );
    let r = seed(
        &sim,
        "POST",
        "/v2/domains/not-mine.com/records",
        Some(&json!({ "type": "A", "name": "x", "data": "203.0.113.1" })),
    );
    refused(&r, 404, "not_found");

    // Scripted faults reach these paths like any other under /v2/.
    sim.command(Command::AddFault {
        fault: fault("/v2/domains", 503),
    })
    .unwrap();
    let r = seed(&sim, "GET", "/v2/domains", None);
    refused(&r, 503, "service_unavailable");
    assert_eq!(seed(&sim, "GET", "/v2/domains", None).status, 200);
}

#[test]
fn another_team_neither_sees_nor_touches_a_domain() {
    let sim = start();
    let other = format!("dop_v1_{}", "cd".repeat(32));
    sim.command(Command::AddDigitalOceanTeam {
        team: serde_json::from_value(json!({ "name": "Other Team", "email": "other@example.com", "tokens": [other], "domains": ["other-team.dev"] })).unwrap(),
    })
    .unwrap();
    let theirs =
        |method: &str, path: &str, body: Option<&Value>| api(&sim, &other, method, path, body);

    let list = theirs("GET", "/v2/domains", None).json();
    assert_eq!(list["meta"]["total"], 1, "{list}");
    assert_eq!(list["domains"][0]["name"], "other-team.dev");
    let own = theirs("GET", "/v2/domains/other-team.dev/records?type=A", None).json();
    assert_eq!(
        triples(&own),
        [("A".into(), "@".into(), "203.0.113.10".into())]
    );
    let mine = seed(&sim, "GET", "/v2/domains", None).json();
    assert_eq!(mine["meta"]["total"], 1);
    assert_eq!(mine["domains"][0]["name"], SEED_DOMAIN);

    let record = add_record(
        &sim,
        json!({ "type": "TXT", "name": "secret", "data": "mine" }),
    );
    let record_path = seed_domain(&format!("/records/{}", record["id"]));
    let a = json!({ "type": "A", "name": "x", "data": "203.0.113.1" });
    for (method, path, body) in [
        ("GET", seed_domain(""), None),
        ("DELETE", seed_domain(""), None),
        ("GET", seed_domain("/records"), None),
        ("POST", seed_domain("/records"), Some(&a)),
        ("GET", record_path.clone(), None),
        (
            "PUT",
            record_path.clone(),
            Some(&json!({ "data": "theirs" })),
        ),
        (
            "PATCH",
            record_path.clone(),
            Some(&json!({ "data": "theirs" })),
        ),
        ("DELETE", record_path.clone(), None),
        // Their own domain's path does not reach the seed team's record.
        (
            "GET",
            format!("/v2/domains/other-team.dev/records/{}", record["id"]),
            None,
        ),
    ] {
        let r = theirs(method, &path, body);
        refused(&r, 404, "not_found");
    }
    refused(
        &seed(&sim, "GET", "/v2/domains/other-team.dev", None),
        404,
        "not_found",
    );
    let kept = seed(&sim, "GET", &record_path, None).json();
    assert_eq!(kept["domain_record"]["data"], "mine", "{kept}");
    assert_eq!(seed(&sim, "GET", &seed_domain(""), None).status, 200);

    // A name is one team's: neither the API nor the seed gives it twice.
    let r = theirs("POST", "/v2/domains", Some(&json!({ "name": SEED_DOMAIN })));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        format!("domain '{SEED_DOMAIN}': name already exists")
    );
    let third = format!("dop_v1_{}", "ef".repeat(32));
    let clash = sim.command(Command::AddDigitalOceanTeam {
        team: serde_json::from_value(json!({ "name": "Third", "email": "third@example.com", "tokens": [third], "domains": [SEED_DOMAIN] })).unwrap(),
    });
    assert!(clash.is_err(), "{clash:?}");
    assert!(
        serde_json::from_value::<Team>(
            json!({ "name": "T", "email": "t@example.com", "tokens": [], "domain": ["x.dev"] })
        )
        .is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn records_page_with_digitaloceans_links() {
    let sim = start();
    for i in 0..5 {
        add_record(
            &sim,
            json!({ "type": "TXT", "name": format!("t{i}"), "data": format!("value {i}") }),
        );
    }
    let base = format!("{}{}", sim.url, seed_domain("/records"));
    let p1 = seed(&sim, "GET", &seed_domain("/records?per_page=4"), None).json();
    assert_eq!(p1["meta"]["total"], 10, "the seed's 5 and 5 more: {p1}");
    assert_eq!(p1["domain_records"].as_array().unwrap().len(), 4);
    assert_eq!(
        p1["links"],
        json!({ "pages": { "next": format!("{base}?page=2&per_page=4"), "last": format!("{base}?page=3&per_page=4") } })
    );
    let p2 = seed(&sim, "GET", &format!("{base}?page=2&per_page=4"), None).json();
    let pages = p2["links"]["pages"].as_object().unwrap();
    assert_eq!(
        pages.keys().collect::<Vec<_>>(),
        ["first", "last", "next", "prev"],
        "{p2}"
    );
    let p3 = seed(&sim, "GET", &format!("{base}?page=3&per_page=4"), None).json();
    assert_eq!(p3["domain_records"].as_array().unwrap().len(), 2);
    assert_eq!(
        p3["links"]["pages"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["first", "prev"]
    );
    let mut ids: Vec<u64> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| {
            p["domain_records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap())
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 10, "every record once, in order");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // A filtered list pages over what it matched, and its links keep the filter.
    let txt = seed(
        &sim,
        "GET",
        &seed_domain("/records?type=TXT&per_page=2"),
        None,
    )
    .json();
    assert_eq!(txt["meta"]["total"], 5);
    let next = txt["links"]["pages"]["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{base}?page=2"))
            && next.contains("type=TXT")
            && next.contains("per_page=2"),
        "{next}"
    );
    let second = seed(&sim, "GET", next, None).json();
    assert_eq!(
        triples(&second)
            .iter()
            .map(|t| t.1.as_str())
            .collect::<Vec<_>>(),
        ["t2", "t3"]
    );

    // Domains page the same way.
    for name in ["a-first.dev", "b-second.dev"] {
        assert_eq!(
            seed(&sim, "POST", "/v2/domains", Some(&json!({ "name": name }))).status,
            201
        );
    }
    let domains = seed(&sim, "GET", "/v2/domains?per_page=2", None).json();
    assert_eq!(domains["meta"]["total"], 3);
    assert_eq!(domains["domains"][0]["name"], "a-first.dev", "by name");
    assert!(domains["links"]["pages"]["next"]
        .as_str()
        .unwrap()
        .ends_with("/v2/domains?page=2&per_page=2"));
}

#[test]
fn domains_outlive_a_restart_and_a_deleted_seed_domain_stays_deleted() {
    let sim = start();
    let kept = add_record(
        &sim,
        json!({ "type": "A", "name": "kept", "data": "203.0.113.30" }),
    );
    assert_eq!(
        seed(
            &sim,
            "POST",
            "/v2/domains",
            Some(&json!({ "name": "made.dev" }))
        )
        .status,
        201
    );
    let snapshot = sim.snapshot();
    drop(sim);
    let again = Sim::spawn_from(World::default(), "127.0.0.1:0", Some(snapshot)).unwrap();
    let r = seed(
        &again,
        "GET",
        &seed_domain(&format!("/records/{}", kept["id"])),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        seed(&again, "GET", "/v2/domains", None).json()["meta"]["total"],
        2
    );
    let next = add_record(
        &again,
        json!({ "type": "A", "name": "next", "data": "203.0.113.31" }),
    );
    assert!(next["id"].as_u64() > kept["id"].as_u64(), "ids go on");

    assert_eq!(seed(&again, "DELETE", &seed_domain(""), None).status, 204);
    let snapshot = again.snapshot();
    drop(again);
    let third = Sim::spawn_from(World::default(), "127.0.0.1:0", Some(snapshot)).unwrap();
    refused(
        &seed(&third, "GET", &seed_domain(""), None),
        404,
        "not_found",
    );
}

/// Creates a Droplet in nyc3 with `tags` and waits for its create action, so
/// it is active and free of pending events.
fn active_droplet(sim: &Sim, name: &str, tags: &[&str]) -> u64 {
    let mut b = droplet_body(name);
    b["tags"] = json!(tags);
    let r = seed(sim, "POST", "/v2/droplets", Some(&b));
    assert_eq!(r.status, 202, "{}", r.body);
    let made = r.json();
    let action = made["links"]["actions"][0]["id"].as_u64().unwrap();
    assert_eq!(settle(sim, action)["status"], "completed");
    made["droplet"]["id"].as_u64().unwrap()
}

/// The ids of the firewalls `GET /v2/droplets/{id}/firewalls` lists.
fn firewalls_of(sim: &Sim, droplet: u64) -> Vec<String> {
    let r = seed(
        sim,
        "GET",
        &format!("/v2/droplets/{droplet}/firewalls"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert_eq!(b["meta"]["total"], b["firewalls"].as_array().unwrap().len());
    b["firewalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn web_firewall(name: &str) -> Value {
    json!({
        "name": name,
        "inbound_rules": [
            { "protocol": "tcp", "ports": "22", "sources": { "addresses": ["0.0.0.0/0", "::/0"] } },
            { "protocol": "tcp", "ports": "all", "sources": { "tags": ["web"], "droplet_ids": [] } },
            { "protocol": "icmp", "sources": { "addresses": ["18.0.0.0/8"] } },
        ],
        "outbound_rules": [
            { "protocol": "udp", "ports": "8000-9000", "destinations": { "addresses": ["0.0.0.0/0"] } },
        ],
        "tags": ["web"],
    })
}

#[test]
fn a_firewall_for_a_tag_applies_to_its_droplets_until_changed_or_deleted() {
    let sim = start();
    let web = active_droplet(&sim, "fw-web-1", &["web"]);
    let db = active_droplet(&sim, "fw-db-1", &[]);

    let r = seed(&sim, "POST", "/v2/firewalls", Some(&web_firewall("web-fw")));
    assert_eq!(r.status, 202, "{}", r.body);
    let f = r.json()["firewall"].clone();
    let id = f["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{f}");
    assert_eq!(f["status"], "waiting");
    assert_eq!(f["name"], "web-fw");
    assert!(f["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        f["pending_changes"],
        json!([{ "droplet_id": web, "removing": false, "status": "waiting" }])
    );
    assert_eq!(f["droplet_ids"], json!([]));
    assert_eq!(f["tags"], json!(["web"]));
    // Rules come back as the API keeps them: "all" and ICMP as "0", and
    // only the kinds of source given.
    let inbound = &f["inbound_rules"];
    assert_eq!(inbound[0]["ports"], "22");
    assert_eq!(inbound[1]["ports"], "0");
    assert_eq!(inbound[1]["sources"], json!({ "tags": ["web"] }));
    assert_eq!(
        inbound[2],
        json!({ "protocol": "icmp", "ports": "0", "sources": { "addresses": ["18.0.0.0/8"] } })
    );
    assert_eq!(
        f["outbound_rules"][0]["destinations"]["addresses"],
        json!(["0.0.0.0/0"])
    );

    assert_eq!(firewalls_of(&sim, web), [id.as_str()]);
    assert!(firewalls_of(&sim, db).is_empty());
    // The reads above moved the change on; it has been applied.
    let got = seed(&sim, "GET", &format!("/v2/firewalls/{id}"), None).json()["firewall"].clone();
    assert_eq!(got["status"], "succeeded", "{got}");
    assert_eq!(got["pending_changes"], json!([]));

    // A Droplet by id, then taken off again.
    let droplets = format!("/v2/firewalls/{id}/droplets");
    let r = seed(
        &sim,
        "POST",
        &droplets,
        Some(&json!({ "droplet_ids": [db] })),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    let got = seed(&sim, "GET", &format!("/v2/firewalls/{id}"), None).json()["firewall"].clone();
    assert_eq!(got["droplet_ids"], json!([db]));
    assert_eq!(got["status"], "waiting");
    assert_eq!(got["pending_changes"][0]["droplet_id"], db);
    assert_eq!(firewalls_of(&sim, db), [id.as_str()]);
    let r = seed(
        &sim,
        "DELETE",
        &droplets,
        Some(&json!({ "droplet_ids": [db] })),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(firewalls_of(&sim, db).is_empty());

    // The tag off and on again.
    let tags = format!("/v2/firewalls/{id}/tags");
    assert_eq!(
        seed(&sim, "DELETE", &tags, Some(&json!({ "tags": ["web"] }))).status,
        204
    );
    assert!(firewalls_of(&sim, web).is_empty());
    assert_eq!(
        seed(&sim, "POST", &tags, Some(&json!({ "tags": ["web"] }))).status,
        204
    );
    assert_eq!(firewalls_of(&sim, web), [id.as_str()]);

    // PUT replaces the whole firewall: what it leaves out is gone.
    let put = json!({
        "name": "web-fw-2",
        "inbound_rules": [{ "protocol": "tcp", "ports": "443", "sources": { "addresses": ["0.0.0.0/0"] } }],
        "droplet_ids": [db],
    });
    let r = seed(&sim, "PUT", &format!("/v2/firewalls/{id}"), Some(&put));
    assert_eq!(r.status, 200, "{}", r.body);
    let f = r.json()["firewall"].clone();
    assert_eq!(f["name"], "web-fw-2");
    assert_eq!(f["tags"], json!([]));
    assert_eq!(f["outbound_rules"], json!([]));
    assert_eq!(f["inbound_rules"].as_array().unwrap().len(), 1);
    let mut pending: Vec<(u64, bool)> = f["pending_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["droplet_id"].as_u64().unwrap(),
                p["removing"].as_bool().unwrap(),
            )
        })
        .collect();
    pending.sort();
    let mut want = vec![(web, true), (db, false)];
    want.sort();
    assert_eq!(pending, want, "{f}");
    assert!(firewalls_of(&sim, web).is_empty());
    assert_eq!(firewalls_of(&sim, db), [id.as_str()]);

    let list = seed(&sim, "GET", "/v2/firewalls", None).json();
    assert_eq!(list["meta"]["total"], 1, "{list}");
    assert_eq!(list["firewalls"][0]["id"], id.as_str());

    // A destroyed Droplet leaves the firewall.
    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/droplets/{db}"), None).status,
        204
    );
    let got = seed(&sim, "GET", &format!("/v2/firewalls/{id}"), None).json()["firewall"].clone();
    assert_eq!(got["droplet_ids"], json!([]), "{got}");

    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/firewalls/{id}"), None).status,
        204
    );
    refused(
        &seed(&sim, "GET", &format!("/v2/firewalls/{id}"), None),
        404,
        "not_found",
    );
    assert_eq!(
        seed(&sim, "GET", "/v2/firewalls", None).json()["meta"]["total"],
        0
    );
}

#[test]
fn firewall_refusals_come_in_digitaloceans_words_and_teams_are_kept_apart() {
    let sim = start();
    let web = active_droplet(&sim, "fw-refusals-1", &["web"]);
    let post = |b: &Value| seed(&sim, "POST", "/v2/firewalls", Some(b));
    let with = |path: &str, v: Value| {
        let mut b = web_firewall("refused");
        b.pointer_mut(path)
            .map(|slot| *slot = v)
            .expect("a field of the body");
        b
    };
    let cases = [
        (with("/name", json!("web_fw")), "name must begin with a letter or digit, followed by letters, digits, periods (.) or dashes (-)"),
        (with("/name", json!(null)), "name is required"),
        (json!({ "name": "bare" }), "a firewall must have at least one inbound or outbound rule"),
        (with("/inbound_rules/0/protocol", json!("sctp")), "protocol `sctp` is not one of tcp, udp or icmp"),
        (with("/inbound_rules/0/ports", json!("")), "You must specify a positive value for ports."),
        (with("/inbound_rules/0/ports", json!("70000")), "You must specify a valid range for ports."),
        (with("/inbound_rules/0/ports", json!("9000-8000")), "You must specify a valid range for ports."),
        (with("/inbound_rules/0/sources/addresses", json!(["1.2.3"])), "invalid address"),
        (with("/inbound_rules/0/sources", json!({})), "a rule's sources must name at least one address, Droplet or tag"),
        (with("/tags", json!(["nope"])), "tag nope does not exist"),
        (with("/inbound_rules/1/sources/tags", json!(["nope"])), "tag nope does not exist"),
        (with("/outbound_rules/0/destinations", json!({ "droplet_ids": [1] })), "droplet 1 does not exist"),
    ];
    for (b, message) in cases {
        assert_eq!(
            refused(&post(&b), 422, "unprocessable_entity"),
            message,
            "{b}"
        );
    }
    // At most five tags a firewall (and ten Droplets).
    active_droplet(&sim, "fw-refusals-2", &["t1", "t2", "t3", "t4", "t5", "t6"]);
    let m = refused(
        &post(&with("/tags", json!(["t1", "t2", "t3", "t4", "t5", "t6"]))),
        422,
        "unprocessable_entity",
    );
    assert_eq!(m, "a firewall can be assigned at most 5 tags");

    // Names are unique in a team: 409.
    assert_eq!(post(&web_firewall("taken")).status, 202);
    assert_eq!(
        refused(&post(&web_firewall("taken")), 409, "conflict"),
        "duplicate name"
    );
    let list = seed(&sim, "GET", "/v2/firewalls", None).json();
    assert_eq!(list["meta"]["total"], 1, "only what was accepted was made");
    let id = list["firewalls"][0]["id"].as_str().unwrap().to_string();

    refused(
        &seed(
            &sim,
            "GET",
            &format!("/v2/firewalls/{}", uuid::Uuid::new_v4()),
            None,
        ),
        404,
        "not_found",
    );
    let r = seed(
        &sim,
        "POST",
        &format!("/v2/firewalls/{id}/droplets"),
        Some(&json!({ "droplet_ids": [7] })),
    );
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "droplet 7 does not exist"
    );

    // Another team neither sees nor touches them, nor names the first
    // team's tags and Droplets.
    let other = format!("dop_v1_{}", "ef".repeat(32));
    sim.command(Command::AddDigitalOceanTeam {
        team: serde_json::from_value(
            json!({ "name": "Other Team", "email": "other@example.com", "tokens": [other] }),
        )
        .unwrap(),
    })
    .unwrap();
    let theirs =
        |method: &str, path: &str, body: Option<&Value>| api(&sim, &other, method, path, body);
    assert_eq!(
        theirs("GET", "/v2/firewalls", None).json()["meta"]["total"],
        0
    );
    let path = format!("/v2/firewalls/{id}");
    refused(&theirs("GET", &path, None), 404, "not_found");
    refused(
        &theirs("PUT", &path, Some(&web_firewall("stolen"))),
        404,
        "not_found",
    );
    refused(&theirs("DELETE", &path, None), 404, "not_found");
    refused(
        &theirs(
            "POST",
            &format!("{path}/tags"),
            Some(&json!({ "tags": ["web"] })),
        ),
        404,
        "not_found",
    );
    refused(
        &theirs("GET", &format!("/v2/droplets/{web}/firewalls"), None),
        404,
        "not_found",
    );
    let r = theirs("POST", "/v2/firewalls", Some(&web_firewall("theirs")));
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        "tag web does not exist"
    );
    let mut b = web_firewall("taken");
    b["tags"] = json!([]);
    b["inbound_rules"][1]["sources"] = json!({ "addresses": ["::/0"] });
    assert_eq!(
        theirs("POST", "/v2/firewalls", Some(&b)).status,
        202,
        "a name is unique per team only"
    );
    assert_eq!(seed(&sim, "GET", &path, None).status, 200);
}

/// The reserved IP at `ip`, read once.
fn reserved(sim: &Sim, ip: &str) -> Value {
    let r = seed(sim, "GET", &format!("/v2/reserved_ips/{ip}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["reserved_ip"].clone()
}

fn ip_action(sim: &Sim, ip: &str, body: Value) -> Reply {
    seed(
        sim,
        "POST",
        &format!("/v2/reserved_ips/{ip}/actions"),
        Some(&body),
    )
}

#[test]
fn a_reserved_ip_is_assigned_unassigned_and_outlives_its_droplet() {
    let sim = start();
    let d = active_droplet(&sim, "rip-web-1", &[]);
    let r = seed(
        &sim,
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "droplet_id": d })),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let made = r.json();
    let rip = &made["reserved_ip"];
    let ip = rip["ip"].as_str().unwrap().to_string();
    assert!(ip.starts_with("192.0.2."), "{rip}");
    assert_eq!(
        rip["droplet"],
        Value::Null,
        "assigned only once the action completes"
    );
    assert_eq!(rip["locked"], true);
    assert_eq!(rip["region"]["slug"], "nyc3");
    assert!(uuid::Uuid::parse_str(rip["project_id"].as_str().unwrap()).is_ok());
    let link = &made["links"]["droplets"][0];
    assert_eq!(
        (link["id"].as_u64(), &link["rel"]),
        (Some(d), &json!("droplet"))
    );
    assert!(link["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v2/droplets/{d}")));
    let assign = &made["links"]["actions"][0];
    assert_eq!(assign["rel"], "assign_ip");
    let assign = assign["id"].as_u64().unwrap();
    assert!(made["links"]["actions"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v2/actions/{assign}")));

    // The assign is an action on the address: resource_id is the address
    // read as a number, as DigitalOcean gives it.
    let a = seed(&sim, "GET", &format!("/v2/actions/{assign}"), None).json()["action"].clone();
    assert_eq!(a["type"], "assign_ip");
    assert_eq!(a["status"], "in-progress");
    assert_eq!(a["resource_type"], "reserved_ip");
    let number = ip.parse::<std::net::Ipv4Addr>().map(u32::from).unwrap();
    assert_eq!(a["resource_id"].as_u64(), Some(u64::from(number)));
    assert_eq!(a["region_slug"], "nyc3");
    let a = seed(
        &sim,
        "GET",
        &format!("/v2/reserved_ips/{ip}/actions/{assign}"),
        None,
    )
    .json()["action"]
        .clone();
    assert_eq!(a["status"], "completed", "after the world's two reads");
    let rip = reserved(&sim, &ip);
    assert_eq!(rip["droplet"]["id"].as_u64(), Some(d), "{rip}");
    assert_eq!(rip["locked"], false);
    // The Droplet lists the address as a second public one.
    let droplet = seed(&sim, "GET", &format!("/v2/droplets/{d}"), None).json()["droplet"].clone();
    let public: Vec<&str> = droplet["networks"]["v4"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "public")
        .map(|n| n["ip_address"].as_str().unwrap())
        .collect();
    assert_eq!(public.len(), 2, "{droplet}");
    assert_eq!(public[1], ip);
    let kinds: Vec<Value> = seed(&sim, "GET", &format!("/v2/reserved_ips/{ip}/actions"), None)
        .json()["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].clone())
        .collect();
    assert_eq!(kinds, [json!("assign_ip"), json!("reserve_ip")]);

    // Unassigned by an action; nothing else may happen meanwhile.
    let r = ip_action(&sim, &ip, json!({ "type": "unassign" }));
    assert_eq!(r.status, 201, "{}", r.body);
    let un = r.json()["action"].clone();
    assert_eq!(
        (&un["type"], &un["status"]),
        (&json!("unassign_ip"), &json!("in-progress"))
    );
    let busy = "The reserved IP already has a pending event.";
    assert_eq!(
        refused(
            &seed(&sim, "DELETE", &format!("/v2/reserved_ips/{ip}"), None),
            422,
            "unprocessable_entity"
        ),
        busy
    );
    assert_eq!(
        refused(
            &ip_action(&sim, &ip, json!({ "type": "assign", "droplet_id": d })),
            422,
            "unprocessable_entity"
        ),
        busy
    );
    assert_eq!(
        settle(&sim, un["id"].as_u64().unwrap())["status"],
        "completed"
    );
    assert_eq!(reserved(&sim, &ip)["droplet"], Value::Null);
    assert_eq!(
        refused(
            &ip_action(&sim, &ip, json!({ "type": "unassign" })),
            422,
            "unprocessable_entity"
        ),
        "The reserved IP is not assigned to a Droplet."
    );

    // Reserved to a region; assignable only to a Droplet there.
    let r = seed(
        &sim,
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "region": "fra1" })),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let fra = r.json();
    assert_eq!(fra["links"], json!({}));
    assert_eq!(fra["reserved_ip"]["locked"], false);
    let fra = fra["reserved_ip"]["ip"].as_str().unwrap().to_string();
    assert_ne!(fra, ip);
    let m = refused(
        &ip_action(&sim, &fra, json!({ "type": "assign", "droplet_id": d })),
        422,
        "unprocessable_entity",
    );
    assert!(m.contains("only to a Droplet in its own region"), "{m}");

    // Assigned again, then its Droplet is destroyed: the address stays,
    // reserved and unassigned.
    let r = ip_action(&sim, &ip, json!({ "type": "assign", "droplet_id": d }));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        settle(&sim, r.json()["action"]["id"].as_u64().unwrap())["status"],
        "completed"
    );
    assert_eq!(reserved(&sim, &ip)["droplet"]["id"].as_u64(), Some(d));
    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/droplets/{d}"), None).status,
        204
    );
    let rip = reserved(&sim, &ip);
    assert_eq!(rip["droplet"], Value::Null, "{rip}");
    assert_eq!(
        seed(&sim, "GET", "/v2/reserved_ips", None).json()["meta"]["total"],
        2
    );

    // Deleting an assigned address releases it at once.
    let e = active_droplet(&sim, "rip-web-2", &[]);
    let r = ip_action(&sim, &ip, json!({ "type": "assign", "droplet_id": e }));
    settle(&sim, r.json()["action"]["id"].as_u64().unwrap());
    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/reserved_ips/{ip}"), None).status,
        204
    );
    refused(
        &seed(&sim, "GET", &format!("/v2/reserved_ips/{ip}"), None),
        404,
        "not_found",
    );
    let droplet = seed(&sim, "GET", &format!("/v2/droplets/{e}"), None).json()["droplet"].clone();
    assert!(droplet["networks"]["v4"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["ip_address"] != ip.as_str()));
    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/reserved_ips/{fra}"), None).status,
        204
    );
}

#[test]
fn reserved_ip_refusals_limits_and_teams() {
    let sim = start();
    let post = |b: Value| seed(&sim, "POST", "/v2/reserved_ips", Some(&b));
    let d = active_droplet(&sim, "rip-limits-1", &[]);
    assert_eq!(
        refused(
            &post(json!({ "droplet_id": d, "region": "nyc3" })),
            422,
            "unprocessable_entity"
        ),
        "Cannot specify Droplet and region, they are mutually exclusive."
    );
    refused(&post(json!({})), 422, "unprocessable_entity");
    refused(
        &post(json!({ "region": "mars1" })),
        422,
        "unprocessable_entity",
    );
    refused(
        &post(json!({ "droplet_id": 1 })),
        422,
        "unprocessable_entity",
    );

    // A Droplet still being created is busy.
    let r = seed(
        &sim,
        "POST",
        "/v2/droplets",
        Some(&droplet_body("rip-new-1")),
    );
    let new = r.json()["droplet"]["id"].as_u64().unwrap();
    assert_eq!(
        refused(
            &post(json!({ "droplet_id": new })),
            422,
            "unprocessable_entity"
        ),
        "Droplet already has a pending event."
    );

    // One address per Droplet.
    let first = post(json!({ "droplet_id": d }));
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(
        refused(
            &post(json!({ "droplet_id": d })),
            422,
            "unprocessable_entity"
        ),
        "Droplet is already assigned to another reserved IP."
    );

    // Three a team unless the world says otherwise, as the account says.
    assert_eq!(
        seed(&sim, "GET", "/v2/account", None).json()["account"]["floating_ip_limit"],
        3
    );
    assert_eq!(post(json!({ "region": "nyc3" })).status, 202);
    assert_eq!(post(json!({ "region": "sgp1" })).status, 202);
    let m = refused(
        &post(json!({ "region": "nyc3" })),
        422,
        "unprocessable_entity",
    );
    assert!(m.contains("limit of 3 reserved IPs"), "{m}");
    let listed = seed(&sim, "GET", "/v2/reserved_ips?per_page=2", None).json();
    assert_eq!(listed["meta"]["total"], 3);
    assert_eq!(listed["reserved_ips"].as_array().unwrap().len(), 2);
    assert!(listed["links"]["pages"]["next"]
        .as_str()
        .unwrap()
        .contains("page=2"));

    // Another team sees none of them and holds its own.
    let other = format!("dop_v1_{}", "ab".repeat(32));
    sim.command(Command::AddDigitalOceanTeam {
        team: serde_json::from_value(json!({ "name": "Other Team", "email": "other@example.com", "tokens": [other], "reserved_ip_limit": 1 })).unwrap(),
    })
    .unwrap();
    let theirs =
        |method: &str, path: &str, body: Option<&Value>| api(&sim, &other, method, path, body);
    let ip = first.json()["reserved_ip"]["ip"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        theirs("GET", "/v2/reserved_ips", None).json()["meta"]["total"],
        0
    );
    refused(
        &theirs("GET", &format!("/v2/reserved_ips/{ip}"), None),
        404,
        "not_found",
    );
    refused(
        &theirs("DELETE", &format!("/v2/reserved_ips/{ip}"), None),
        404,
        "not_found",
    );
    refused(
        &theirs(
            "POST",
            &format!("/v2/reserved_ips/{ip}/actions"),
            Some(&json!({ "type": "unassign" })),
        ),
        404,
        "not_found",
    );
    assert_eq!(
        theirs("GET", "/v2/account", None).json()["account"]["floating_ip_limit"],
        1
    );
    let r = theirs(
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "region": "nyc3" })),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_ne!(r.json()["reserved_ip"]["ip"].as_str(), Some(ip.as_str()));
    let r = theirs(
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "droplet_id": d })),
    );
    assert_eq!(
        refused(&r, 422, "unprocessable_entity"),
        format!("Droplet {d} could not be found.")
    );
}

#[test]
fn firewalls_and_reserved_ips_outlive_a_restart() {
    let sim = start();
    let d = active_droplet(&sim, "kept-fw-1", &["web"]);
    let f = seed(&sim, "POST", "/v2/firewalls", Some(&web_firewall("kept"))).json()["firewall"]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = seed(
        &sim,
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "droplet_id": d })),
    );
    let ip = r.json()["reserved_ip"]["ip"].as_str().unwrap().to_string();
    settle(
        &sim,
        r.json()["links"]["actions"][0]["id"].as_u64().unwrap(),
    );
    assert_eq!(
        seed(&sim, "DELETE", &format!("/v2/droplets/{d}"), None).status,
        204
    );
    let snapshot = sim.snapshot();
    drop(sim);
    let again = Sim::spawn_from(World::default(), "127.0.0.1:0", Some(snapshot)).unwrap();
    let got = seed(&again, "GET", &format!("/v2/firewalls/{f}"), None);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["firewall"]["tags"], json!(["web"]));
    assert_eq!(reserved(&again, &ip)["droplet"], Value::Null);
    // The tag outlived its Droplet, and addresses go on from where they were.
    let r = seed(
        &again,
        "POST",
        "/v2/firewalls",
        Some(&web_firewall("kept-2")),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let r = seed(
        &again,
        "POST",
        "/v2/reserved_ips",
        Some(&json!({ "region": "nyc3" })),
    );
    assert_ne!(r.json()["reserved_ip"]["ip"].as_str(), Some(ip.as_str()));
}

/// A `{"resources": [...]}` body naming Droplets by id, as strings.
fn droplet_resources(ids: &[u64]) -> Value {
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "resource_id": id.to_string(), "resource_type": "droplet" }))
        .collect();
    json!({ "resources": items })
}

/// The tags `GET /v2/droplets/{id}` shows.
fn tags_of(sim: &Sim, droplet: u64) -> Value {
    let r = seed(sim, "GET", &format!("/v2/droplets/{droplet}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["droplet"]["tags"].clone()
}

/// The ids `GET /v2/droplets?tag_name=` lists.
fn tagged(sim: &Sim, tag: &str) -> Vec<u64> {
    let r = seed(sim, "GET", &format!("/v2/droplets?tag_name={tag}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["droplets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_tag_is_made_put_on_droplets_taken_off_and_deleted() {
    let sim = start();
    let plain = active_droplet(&sim, "tag-plain-1", &[]);
    let web = active_droplet(&sim, "tag-web-1", &["web"]);

    let r = seed(&sim, "POST", "/v2/tags", Some(&json!({ "name": "PROD" })));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({ "tag": { "name": "PROD", "resources": {
            "count": 0,
            "droplets": { "count": 0 },
            "images": { "count": 0 },
            "volumes": { "count": 0 },
            "volume_snapshots": { "count": 0 },
            "databases": { "count": 0 },
        } } })
    );
    // Made again, in any case: 201 with the tag as first spelled.
    let r = seed(&sim, "POST", "/v2/tags", Some(&json!({ "name": "prod" })));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["tag"]["name"], "PROD");
    refused(&seed(&sim, "GET", "/v2/tags/prod", None), 404, "not_found");
    assert_eq!(seed(&sim, "GET", "/v2/tags/PROD", None).status, 200);

    // A firewall for the tag covers nothing until a Droplet carries it.
    let mut fw = web_firewall("prod-fw");
    fw["tags"] = json!(["PROD"]);
    let r = seed(&sim, "POST", "/v2/firewalls", Some(&fw));
    assert_eq!(r.status, 202, "{}", r.body);
    let fw = r.json()["firewall"]["id"].as_str().unwrap().to_string();
    assert!(firewalls_of(&sim, plain).is_empty());

    let put = |ids: &[u64]| {
        seed(
            &sim,
            "POST",
            "/v2/tags/PROD/resources",
            Some(&droplet_resources(ids)),
        )
    };
    let r = put(&[plain]);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    assert_eq!(tags_of(&sim, plain), json!(["PROD"]));
    assert_eq!(tagged(&sim, "PROD"), [plain]);
    assert_eq!(firewalls_of(&sim, plain), [fw.as_str()]);
    let t = seed(&sim, "GET", "/v2/tags/PROD", None).json()["tag"].clone();
    let uri = format!("{}/v2/droplets/{plain}", sim.url);
    assert_eq!(t["resources"]["count"], 1);
    assert_eq!(t["resources"]["last_tagged_uri"], uri);
    assert_eq!(t["resources"]["droplets"]["count"], 1);
    assert_eq!(t["resources"]["droplets"]["last_tagged_uri"], uri);
    // Tagging again changes nothing; the second Droplet is the last tagged.
    assert_eq!(put(&[plain, web]).status, 204);
    assert_eq!(tags_of(&sim, plain), json!(["PROD"]));
    assert_eq!(tags_of(&sim, web), json!(["web", "PROD"]));
    let t = seed(&sim, "GET", "/v2/tags/PROD", None).json()["tag"].clone();
    assert_eq!(t["resources"]["count"], 2);
    assert_eq!(
        t["resources"]["last_tagged_uri"],
        format!("{}/v2/droplets/{web}", sim.url)
    );

    // Listed by name, paged.
    let r = seed(&sim, "GET", "/v2/tags?per_page=1", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let page = r.json();
    assert_eq!(page["meta"]["total"], 2);
    assert_eq!(page["tags"][0]["name"], "PROD");
    assert!(page["links"]["pages"]["next"]
        .as_str()
        .unwrap()
        .contains("page=2"));
    let page2 = seed(&sim, "GET", "/v2/tags?per_page=1&page=2", None).json();
    assert_eq!(page2["tags"][0]["name"], "web");
    assert_eq!(page2["tags"][0]["resources"]["droplets"]["count"], 1);

    // Taken off: gone from the Droplet, its tag list and its firewalls; the
    // tag stays.
    let r = seed(
        &sim,
        "DELETE",
        "/v2/tags/PROD/resources",
        Some(&droplet_resources(&[plain])),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(tags_of(&sim, plain), json!([]));
    assert_eq!(tagged(&sim, "PROD"), [web]);
    assert!(firewalls_of(&sim, plain).is_empty());
    assert_eq!(firewalls_of(&sim, web), [fw.as_str()]);

    // Deleted: every Droplet loses it.
    assert_eq!(put(&[plain]).status, 204);
    let r = seed(&sim, "DELETE", "/v2/tags/PROD", None);
    assert_eq!(r.status, 204, "{}", r.body);
    refused(&seed(&sim, "GET", "/v2/tags/PROD", None), 404, "not_found");
    assert_eq!(tags_of(&sim, plain), json!([]));
    assert_eq!(tags_of(&sim, web), json!(["web"]));
    assert!(tagged(&sim, "PROD").is_empty());
    assert!(firewalls_of(&sim, web).is_empty());
    refused(
        &seed(&sim, "DELETE", "/v2/tags/PROD", None),
        404,
        "not_found",
    );
}

#[test]
fn tag_refusals_come_in_digitaloceans_words_and_teams_are_kept_apart() {
    let sim = start();
    let mine = active_droplet(&sim, "tag-refusals-1", &[]);

    // Bad names: 400 in the tag service's envelope.
    let r = seed(
        &sim,
        "POST",
        "/v2/tags",
        Some(&json!({ "name": "two words" })),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let b = r.json();
    assert_eq!(
        b["error"],
        r#"Error validating resource tag: "tag-name \"two words\" contains invalid characters""#
    );
    assert_eq!(b["messages"], Value::Null);
    assert_eq!(
        b["root_causes"],
        json!([format!(
            "rpc error: code = InvalidArgument desc = {}",
            b["error"].as_str().unwrap()
        )])
    );
    for name in [
        json!("здорово"),
        json!("a.b"),
        json!("t".repeat(256)),
        json!(""),
        json!(7),
    ] {
        let r = seed(&sim, "POST", "/v2/tags", Some(&json!({ "name": name })));
        assert_eq!(r.status, 400, "{name}: {}", r.body);
        assert!(r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Error validating resource tag: "));
    }
    assert_eq!(
        seed(
            &sim,
            "POST",
            "/v2/tags",
            Some(&json!({ "name": "t".repeat(255) }))
        )
        .status,
        201
    );
    assert_eq!(
        seed(&sim, "GET", "/v2/tags", None).json()["meta"]["total"],
        1,
        "no refused name was made"
    );

    // A tag the team does not have: 404, whatever the body.
    let ours = droplet_resources(&[mine]);
    for (method, path) in [
        ("POST", "/v2/tags/nope/resources"),
        ("DELETE", "/v2/tags/nope/resources"),
    ] {
        refused(&seed(&sim, method, path, Some(&ours)), 404, "not_found");
    }
    refused(&seed(&sim, "GET", "/v2/tags/nope", None), 404, "not_found");
    refused(
        &seed(&sim, "DELETE", "/v2/tags/nope", None),
        404,
        "not_found",
    );

    assert_eq!(
        seed(
            &sim,
            "POST",
            "/v2/tags",
            Some(&json!({ "name": "env:prod" }))
        )
        .status,
        201
    );
    let post = |b: Value| seed(&sim, "POST", "/v2/tags/env:prod/resources", Some(&b));
    // An id as a number, or no resources: 400 `parameter_missing`.
    for b in [
        json!({ "resources": [{ "resource_id": mine, "resource_type": "droplet" }] }),
        json!({ "resources": [] }),
        json!({}),
    ] {
        assert_eq!(
            refused(&post(b.clone()), 400, "parameter_missing"),
            "param is missing or the value is empty: resources",
            "{b}"
        );
    }
    // A Droplet that is not there, and one among good ones: 404, nothing tagged.
    refused(&post(droplet_resources(&[1])), 404, "not_found");
    refused(&post(droplet_resources(&[mine, 1])), 404, "not_found");
    assert_eq!(tags_of(&sim, mine), json!([]));
    let volume = json!({ "resources": [{ "resource_id": "3d80cb72-342b-4aaa-b92e-4e4abb24a933", "resource_type": "volume" }] });
    refused(&post(volume), 422, "unprocessable_entity");
    assert_eq!(post(droplet_resources(&[mine])).status, 204);
    // Percent-encoded, the colon names the same tag.
    assert_eq!(seed(&sim, "GET", "/v2/tags/env%3Aprod", None).status, 200);

    // Another team sees none of the tags, nor tags or untags the Droplet.
    let other = format!("dop_v1_{}", "cd".repeat(32));
    sim.command(Command::AddDigitalOceanTeam {
        team: serde_json::from_value(
            json!({ "name": "Other Team", "email": "other@example.com", "tokens": [other] }),
        )
        .unwrap(),
    })
    .unwrap();
    let theirs =
        |method: &str, path: &str, body: Option<&Value>| api(&sim, &other, method, path, body);
    assert_eq!(theirs("GET", "/v2/tags", None).json()["meta"]["total"], 0);
    refused(&theirs("GET", "/v2/tags/env:prod", None), 404, "not_found");
    refused(
        &theirs("DELETE", "/v2/tags/env:prod", None),
        404,
        "not_found",
    );
    refused(
        &theirs("DELETE", "/v2/tags/env:prod/resources", Some(&ours)),
        404,
        "not_found",
    );
    // Their own tag of the same name is theirs alone, and our Droplet is not
    // theirs to tag.
    let r = theirs("POST", "/v2/tags", Some(&json!({ "name": "env:prod" })));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["tag"]["resources"]["count"], 0);
    refused(
        &theirs("POST", "/v2/tags/env:prod/resources", Some(&ours)),
        404,
        "not_found",
    );
    assert_eq!(theirs("DELETE", "/v2/tags/env:prod", None).status, 204);
    assert_eq!(tags_of(&sim, mine), json!(["env:prod"]));
    assert_eq!(seed(&sim, "GET", "/v2/tags/env:prod", None).status, 200);
}

#[test]
fn tags_outlive_a_restart() {
    let sim = start();
    let d = active_droplet(&sim, "kept-tag-1", &[]);
    seed(&sim, "POST", "/v2/tags", Some(&json!({ "name": "kept" })));
    seed(&sim, "POST", "/v2/tags", Some(&json!({ "name": "empty" })));
    let r = seed(
        &sim,
        "POST",
        "/v2/tags/kept/resources",
        Some(&droplet_resources(&[d])),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let snapshot = sim.snapshot();
    drop(sim);
    let again = Sim::spawn_from(World::default(), "127.0.0.1:0", Some(snapshot)).unwrap();
    let names: Vec<Value> = seed(&again, "GET", "/v2/tags", None).json()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("empty"), json!("kept")]);
    assert_eq!(tags_of(&again, d), json!(["kept"]));
    let t = seed(&again, "GET", "/v2/tags/kept", None).json()["tag"].clone();
    assert_eq!(
        t["resources"]["last_tagged_uri"],
        format!("{}/v2/droplets/{d}", again.url)
    );
}

/// The Python of target/py-digitalocean (made by .ci/run), or made here.
fn pydo_python() -> PathBuf {
    venv_python(
        "py-digitalocean",
        "pydo",
        &[
            "pydo==0.44.0",
            "requests-oauthlib==2.0.0",
            "oauthlib==4.0.1",
        ],
    )
}

/// Runs `tests/python/<script>` with `args` in the pydo venv against the
/// emulator `sim` over https (its authority in REQUESTS_CA_BUNDLE); asserts
/// it succeeded and gives the JSON line it printed last.
fn run_script(sim: &Sim, script: &str, args: &[&str]) -> Value {
    let dir = std::env::temp_dir().join(format!("sim-py-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.ca_pem.as_deref().unwrap()).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/python")
        .join(script);
    let out = Process::new(pydo_python())
        .arg(&path)
        .args(args)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}

#[test]
fn an_oauth_client_not_ours_signs_in_refreshes_and_revokes_over_https() {
    let tls = sim::tls::Tls::generate().expect("a certificate authority");
    let sim = Sim::spawn_with(World::default(), "127.0.0.1:0", None, Some(tls)).unwrap();
    // The callback the client registers; nothing is served there.
    let callback = "https://127.0.0.1/oauth/digitalocean/callback";
    sim.command(Command::AddRedirectUri {
        client_id: SEED_CLIENT_ID.into(),
        redirect_uri: callback.into(),
    })
    .unwrap();
    let seen = run_script(
        &sim,
        "digitalocean_oauth.py",
        &[
            &sim.url,
            SEED_CLIENT_ID,
            SEED_CLIENT_SECRET,
            callback,
            SEED_TEAM,
        ],
    );
    assert_eq!(seen["team"], SEED_TEAM, "{seen}");
    // What the client did is what the emulator saw: a code redeemed, one
    // refresh answered and the spent one refused.
    let grants: Vec<(Option<String>, u16)> = sim
        .requests()
        .into_iter()
        .filter(|l| l.path.starts_with("/v1/oauth/token"))
        .map(|l| (l.grant, l.status))
        .collect();
    let code = Some("authorization_code".to_string());
    let refresh = Some("refresh_token".to_string());
    assert_eq!(
        grants,
        [(code, 200), (refresh.clone(), 200), (refresh, 400)],
        "{grants:?}"
    );
}

#[test]
fn pydo_drives_the_emulator_over_https() {
    let tls = sim::tls::Tls::generate().expect("a certificate authority");
    let sim = Sim::spawn_with(World::default(), "127.0.0.1:0", None, Some(tls)).unwrap();
    let seen = run_script(&sim, "digitalocean_sdk.py", &[&sim.url, SEED_TOKEN]);
    assert_eq!(seen["key"], KEY_MD5, "{seen}");
    let id = seen["droplet"].as_u64().unwrap();
    // What pydo did is what the emulator saw.
    let asked: Vec<(String, String, u16)> = sim
        .requests()
        .into_iter()
        .map(|l| (l.method, l.path, l.status))
        .collect();
    assert!(asked.contains(&("POST".into(), "/v2/droplets".into(), 202)));
    assert!(asked.contains(&("DELETE".into(), format!("/v2/droplets/{id}"), 204)));
    assert!(sim.with_state(|s| s.digitalocean.droplets.is_empty()));
    assert_eq!(seen["domain"], SEED_DOMAIN, "{seen}");
    let records = format!("/v2/domains/{SEED_DOMAIN}/records");
    assert!(asked.contains(&("POST".into(), records.clone(), 201)));
    assert!(asked.contains(&("POST".into(), records.clone(), 422)));
    for (i, method) in ["PUT", "PATCH"].into_iter().enumerate() {
        let id = &seen["records"][i];
        assert!(
            asked.contains(&(method.into(), format!("{records}/{id}"), 200)),
            "{method} {id}"
        );
        assert!(asked.contains(&("DELETE".into(), format!("{records}/{id}"), 204)));
    }
    assert!(sim.with_state(|s| s
        .digitalocean
        .records
        .values()
        .all(|r| !r.name.starts_with("sdk-"))));
    let firewall = format!("/v2/firewalls/{}", seen["firewall"].as_str().unwrap());
    assert!(asked.contains(&("POST".into(), "/v2/firewalls".into(), 202)));
    assert!(asked.contains(&("POST".into(), "/v2/firewalls".into(), 422)));
    assert!(asked.contains(&("POST".into(), format!("{firewall}/droplets"), 204)));
    assert!(asked.contains(&("DELETE".into(), firewall, 204)));
    let ip = seen["reserved_ip"].as_str().unwrap();
    assert!(ip.starts_with("192.0.2."), "{seen}");
    assert!(asked.contains(&("POST".into(), "/v2/reserved_ips".into(), 202)));
    assert!(asked.contains(&("POST".into(), "/v2/reserved_ips".into(), 422)));
    assert!(asked.contains(&("POST".into(), format!("/v2/reserved_ips/{ip}/actions"), 201)));
    assert!(asked.contains(&("DELETE".into(), format!("/v2/reserved_ips/{ip}"), 204)));
    assert_eq!(seen["reserved_actions"].as_array().map(Vec::len), Some(2));
    assert_eq!(seen["tag"], "SDK-Tag", "{seen}");
    let tag = "/v2/tags/SDK-Tag";
    assert!(asked.contains(&("POST".into(), "/v2/tags".into(), 201)));
    assert!(asked.contains(&("POST".into(), "/v2/tags".into(), 400)));
    assert!(asked.contains(&("POST".into(), format!("{tag}/resources"), 204)));
    assert!(asked.contains(&("POST".into(), format!("{tag}/resources"), 400)));
    assert!(asked.contains(&("POST".into(), "/v2/tags/sdk-missing/resources".into(), 404)));
    assert!(asked.contains(&("DELETE".into(), format!("{tag}/resources"), 204)));
    assert!(asked.contains(&("DELETE".into(), tag.into(), 204)));
    assert!(sim.with_state(|s| !s.digitalocean.tag_exists(SEED_TEAM, "SDK-Tag")));
    assert!(sim.with_state(|s| s.digitalocean.firewalls.is_empty()
        && s.digitalocean.reserved_ips.is_empty()
        && s.digitalocean.droplets.is_empty()));
}
