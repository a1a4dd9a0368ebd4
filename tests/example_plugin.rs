//! The example plugin swapped in by spin.toml alone: the real spin.toml with
//! the lines `examples/digitalocean-droplets/add-to-spin.toml` gives, and
//! nothing else changed. A DigitalOcean account connects by personal access
//! token beside an Azure account signed in by OAuth; both provision at the
//! same time, each through its own plugin; a token the provider stops
//! taking turns the account Expired with a remedy that asks for a new one.

mod support;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::World;
use support::product::{example_env, server_spec, with_example, Product, BOOTSTRAP_KEY, SSH_KEY};

fn start() -> Product {
    Product::start_with_example(World::default())
}

/// `GET <path>` of the emulator's DigitalOcean API with `token`.
fn digitalocean(p: &Product, path: &str, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    let (status, text) = support::request(
        "GET",
        &format!("{}{path}", p.sim.url),
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Reads an action until DigitalOcean says it completed.
fn finish(p: &Product, started: &Value) {
    let id = started["action"]["id"].as_u64().unwrap();
    for _ in 0..20 {
        let a = digitalocean(
            p,
            &format!("/v2/actions/{id}"),
            sim::digitalocean::SEED_TOKEN,
        );
        if a["action"]["status"] == "completed" {
            return;
        }
    }
    panic!("action {id} did not complete");
}

/// How many requests the emulator's DigitalOcean API has answered.
fn digitalocean_calls(p: &Product) -> usize {
    p.sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/"))
        .count()
}

fn connect(p: &Product, body: Value) -> (u16, Value) {
    p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &body.to_string(),
    )
}

#[test]
fn a_token_provider_added_by_spin_toml_provisions_beside_azure() {
    let p = start();
    let token = sim::digitalocean::SEED_TOKEN;

    // Add Account offers both.
    let (_, providers) = p.api("GET", "/api/v1/providers", BOOTSTRAP_KEY, "");
    let ids: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["azure", "digitalocean"], "{providers}");

    // Tokens that are missing or malformed are refused before anything is
    // sent; one the provider does not know is refused in its words.
    // (A body without `token` starts DigitalOcean's sign-in instead.)
    let calls = digitalocean_calls(&p);
    let (status, v) = connect(&p, json!({}));
    assert_eq!(status, 201, "{v}");
    assert!(v["authorize_url"].is_string(), "{v}");
    let (status, v) = connect(&p, json!({ "token": null }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("missing_token")),
        "{v}"
    );
    let (status, v) = connect(&p, json!({ "token": "dop_v1_short" }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid_token")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("64 hexadecimal"),
        "{v}"
    );
    let (status, v) = connect(&p, json!({ "token": "two words" }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid_token")),
        "{v}"
    );
    assert_eq!(digitalocean_calls(&p), calls, "nothing malformed was sent");
    let unknown = format!("dop_v1_{}", "0".repeat(64));
    let (status, v) = connect(&p, json!({ "token": unknown }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("token_refused")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("DigitalOcean refused the API token"),
        "{v}"
    );

    // The right token connects the team, and is never shown again.
    let (status, v) = connect(&p, json!({ "token": token }));
    assert_eq!(status, 201, "{v}");
    assert!(
        !v.to_string().contains(token),
        "the token is not echoed: {v}"
    );
    let account = v["account"].clone();
    assert_eq!(
        (account["provider"].as_str(), account["status"].as_str()),
        (Some("digitalocean"), Some("Active")),
        "{account}"
    );
    let do_id = account["id"].as_str().unwrap().to_string();
    let team = account["subscriptions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, again) = connect(&p, json!({ "token": token }));
    assert_eq!(
        (status, again["account"]["id"].as_str()),
        (200, Some(do_id.as_str())),
        "the same team is the same account: {again}"
    );

    // An Azure account beside it, signed in by OAuth.
    let azure_id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    let mut listed: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["provider"].as_str().unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, ["azure", "digitalocean"], "{list}");

    // The catalogue of the DigitalOcean account is DigitalOcean's.
    let (status, sizes) = p.api(
        "GET",
        &format!("/api/v1/accounts/{do_id}/subscriptions/{team}/compute/sizes?region=nyc3"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{sizes}");
    assert!(sizes.to_string().contains("s-1vcpu-1gb"), "{sizes}");

    // Both provision at the same time, each through its own plugin.
    let do_spec = json!({ "account_id": do_id, "subscription_id": team, "region": "nyc3", "size": "s-1vcpu-1gb", "name": "web-do", "ssh_public_key": SSH_KEY, "cloud_init": "#cloud-config\npackages: [nginx]\n" }).to_string();
    let (s1, op1) = p.create_server(&do_spec, "example-do-1");
    let (s2, op2) = p.create_server(
        &server_spec(&azure_id, "web-azure", "westeurope", "Standard_B2s"),
        "example-az-1",
    );
    assert_eq!((s1, s2), (202, 202), "{op1} {op2}");
    let (done1, done2) = (
        p.wait_operation(op1["id"].as_str().unwrap()),
        p.wait_operation(op2["id"].as_str().unwrap()),
    );
    assert_eq!(
        (done1["status"].as_str(), done2["status"].as_str()),
        (Some("succeeded"), Some("succeeded")),
        "{done1} {done2}"
    );
    assert!(
        p.host
            .log()
            .contains("chained /api/v1/servers component=servers-digitalocean status=202"),
        "{}",
        p.host.log()
    );
    let (_, servers) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    let droplet = servers["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "web-do")
        .cloned()
        .unwrap();
    assert!(
        droplet["public_ip"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty()),
        "{droplet}"
    );
    assert_eq!(droplet["admin_username"], "root", "{droplet}");
    let server = droplet["id"].as_str().unwrap().to_string();

    // The droplet sits behind its own cloud firewall, which lets in SSH,
    // HTTP and HTTPS only, and its address is a reserved IP assigned to it.
    let firewalls = digitalocean(&p, "/v2/firewalls", token);
    assert_eq!(firewalls["meta"]["total"], 1, "{firewalls}");
    let firewall = &firewalls["firewalls"][0];
    assert_eq!(firewall["name"], format!("skyport-{server}"), "{firewall}");
    assert_eq!(
        firewall["tags"],
        json!([format!("skyport-server-{server}")]),
        "{firewall}"
    );
    let ports: Vec<&str> = firewall["inbound_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ports"].as_str().unwrap())
        .collect();
    assert_eq!(ports, ["22", "80", "443"], "{firewall}");
    let made = digitalocean(&p, "/v2/droplets", token);
    let droplet_id = made["droplets"][0]["id"].as_u64().unwrap();
    let ips = digitalocean(&p, "/v2/reserved_ips", token);
    assert_eq!(ips["meta"]["total"], 1, "{ips}");
    assert_eq!(ips["reserved_ips"][0]["ip"], droplet["public_ip"], "{ips}");
    let ours = ips["reserved_ips"][0]["ip"].as_str().unwrap().to_string();
    assert_eq!(
        ips["reserved_ips"][0]["droplet"]["id"].as_u64(),
        Some(droplet_id),
        "{ips}"
    );

    // Power and resize, through the same operations: a running droplet is
    // powered off, resized and powered on again, as DigitalOcean requires.
    let (status, op) = p.api(
        "POST",
        &format!("/api/v1/servers/{server}/resize"),
        BOOTSTRAP_KEY,
        &json!({ "size": "s-1vcpu-2gb" }).to_string(),
    );
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, resized) = p.api(
        "GET",
        &format!("/api/v1/servers/{server}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(resized["size"], "s-1vcpu-2gb", "{resized}");
    let droplets = digitalocean(&p, "/v2/droplets", token);
    assert_eq!(
        (
            droplets["droplets"][0]["size_slug"].as_str(),
            droplets["droplets"][0]["status"].as_str()
        ),
        (Some("s-1vcpu-2gb"), Some("active")),
        "{droplets}"
    );
    let (status, op) = p.api(
        "POST",
        &format!("/api/v1/servers/{server}/stop"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let droplets = digitalocean(&p, "/v2/droplets", token);
    assert_eq!(droplets["droplets"][0]["status"], "off", "{droplets}");
    assert!(
        droplets["droplets"][0]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!(format!(
                "skyport-ip-{server}-{}",
                ours.replace('.', "-")
            ))),
        "the droplet names the IP Skyport reserved: {droplets}"
    );

    // The customer moves an IP of their own onto the droplet in place of
    // Skyport's: deleting the server releases Skyport's, never theirs.
    let theirs = p.digitalocean(
        "POST",
        "/v2/reserved_ips",
        Some(json!({ "region": "nyc3" })),
    )["reserved_ip"]["ip"]
        .as_str()
        .unwrap()
        .to_string();
    let unassign = p.digitalocean(
        "POST",
        &format!("/v2/reserved_ips/{ours}/actions"),
        Some(json!({ "type": "unassign" })),
    );
    finish(&p, &unassign);
    let assign = p.digitalocean(
        "POST",
        &format!("/v2/reserved_ips/{theirs}/actions"),
        Some(json!({ "type": "assign", "droplet_id": droplet_id })),
    );
    finish(&p, &assign);
    let done = p.delete_server(&server);
    assert_eq!(done["status"], "succeeded", "{done}");
    let droplets = digitalocean(&p, "/v2/droplets", token);
    assert_eq!(
        droplets["meta"]["total"], 0,
        "the droplet is gone: {droplets}"
    );
    let keys = digitalocean(&p, "/v2/account/keys", token);
    assert_eq!(
        keys["meta"]["total"], 0,
        "the key it registered is gone: {keys}"
    );
    let firewalls = digitalocean(&p, "/v2/firewalls", token);
    assert_eq!(
        firewalls["meta"]["total"], 0,
        "its firewall is gone: {firewalls}"
    );
    let ips = digitalocean(&p, "/v2/reserved_ips", token);
    assert_eq!(ips["meta"]["total"], 1, "{ips}");
    assert_eq!(
        ips["reserved_ips"][0]["ip"],
        theirs.as_str(),
        "Skyport's reserved IP is released and the customer's kept: {ips}"
    );

    // Backup storage goes to the team's own instance, which lists its
    // Spaces (none yet) instead of reaching Azure's plugins.
    let (status, v) = p.api(
        "GET",
        &format!("/api/v1/accounts/{do_id}/subscriptions/{team}/storage/accounts"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!((status, &v["storage_accounts"]), (200, &json!([])), "{v}");

    // The token revoked at DigitalOcean: the next use turns the account
    // Expired, and the remedy asks for a new token.
    p.sim
        .command(sim::Command::RevokeDigitalOceanToken {
            token: token.into(),
        })
        .unwrap();
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/accounts/{do_id}/refresh"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("account_expired")),
        "{v}"
    );
    assert!(
        v["error"]["remedy"].as_str().unwrap().contains("new token"),
        "{v}"
    );
    let (_, a) = p.api(
        "GET",
        &format!("/api/v1/accounts/{do_id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(a["status"], "Expired", "{a}");
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/accounts/{do_id}/reconnect"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("reconnect_by_token")),
        "{v}"
    );
}

/// A team with `token` as its one token; `uuid` keeps an existing team's.
fn team(uuid: Option<&str>, name: &str, token: &str) -> sim::digitalocean::Team {
    serde_json::from_value(json!({
        "uuid": uuid.map_or_else(|| format!("{:040x}", name.len() as u128 * 7919), str::to_string),
        "name": name,
        "email": format!("{}@example.com", name.to_lowercase().replace(' ', "")),
        "tokens": [token],
    }))
    .unwrap()
}

#[test]
fn a_token_reaches_only_its_own_account_and_a_new_one_brings_it_back() {
    let p = start();
    let token = sim::digitalocean::SEED_TOKEN;
    let (status, v) = connect(&p, json!({ "token": token }));
    assert_eq!(status, 201, "{v}");
    let id = v["account"]["id"].as_str().unwrap().to_string();
    let team_id = v["account"]["subscriptions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Shapes no token has are refused before anything is sent.
    let calls = digitalocean_calls(&p);
    for body in [
        json!({ "token": 42 }),
        json!({ "token": format!("dop_v1_{}", "a".repeat(2000)) }),
        json!({ "token": "dop_v1_ünïcode" }),
    ] {
        let (status, v) = connect(&p, body.clone());
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("invalid_token")),
            "{body}: {v}"
        );
    }
    assert_eq!(digitalocean_calls(&p), calls, "nothing malformed was sent");

    // Another organization connects the same team as an account of its
    // own, and cannot give a token to this organization's account.
    let other = p.new_org("Globex");
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        &other,
        &json!({ "token": token }).to_string(),
    );
    assert_eq!(status, 201, "{v}");
    assert_ne!(v["account"]["id"].as_str(), Some(id.as_str()));
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        &other,
        &json!({ "token": token, "account_id": id }).to_string(),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );

    // An Azure account is not given a DigitalOcean token.
    let azure = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (status, v) = connect(&p, json!({ "token": token, "account_id": azure }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("provider_mismatch")),
        "{v}"
    );

    // Another team's token is not this account's.
    let stranger = format!("dop_v1_{}", "5".repeat(64));
    p.sim
        .command(sim::Command::AddDigitalOceanTeam {
            team: team(None, "Other Team", &stranger),
        })
        .unwrap();
    let (status, v) = connect(&p, json!({ "token": stranger, "account_id": id }));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("wrong_account")),
        "{v}"
    );

    // A throttled API is waited for: the droplet is still made once.
    p.sim
        .command(sim::Command::AddFault {
            fault: serde_json::from_value(json!({ "path": "/v2/droplets", "method": "POST", "status": 429, "count": 1, "retry_after": 1 })).unwrap(),
        })
        .unwrap();
    let spec = json!({ "account_id": id, "subscription_id": team_id, "region": "ams3", "size": "s-1vcpu-1gb", "name": "web-1", "ssh_public_key": SSH_KEY }).to_string();
    let (status, op) = p.create_server(&spec, "throttled-1");
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(
        p.sim
            .requests()
            .iter()
            .any(|r| r.path == "/v2/droplets" && r.status == 429),
        "the creation was throttled once"
    );
    let droplets = digitalocean(&p, "/v2/droplets", token);
    assert_eq!(droplets["meta"]["total"], 1, "{droplets}");

    // At the team's droplet limit, the refusal is in DigitalOcean's words,
    // not another provider's.
    let limited = json!({ "uuid": team_id, "name": "Example Team", "email": "sammy@example.com", "droplet_limit": 1, "tokens": [token] });
    p.sim
        .command(sim::Command::AddDigitalOceanTeam {
            team: serde_json::from_value(limited).unwrap(),
        })
        .unwrap();
    let spec = json!({ "account_id": id, "subscription_id": team_id, "region": "ams3", "size": "s-1vcpu-1gb", "name": "web-2", "ssh_public_key": SSH_KEY }).to_string();
    let (status, v) = p.create_server(&spec, "limited-1");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("quota_exceeded")),
        "{v}"
    );
    let remedy = v["error"]["remedy"].as_str().unwrap();
    assert!(
        remedy.contains("droplet limit") && !remedy.contains("Subscriptions"),
        "{v}"
    );

    // One passing refusal is not a revoked token: asked again, it works.
    p.sim
        .command(sim::Command::AddFault {
            fault: serde_json::from_value(
                json!({ "path": "/v2/account", "status": 401, "count": 1 }),
            )
            .unwrap(),
        })
        .unwrap();
    let (status, v) = p.refresh(&id);
    assert_eq!((status, v["status"].as_str()), (200, Some("Active")), "{v}");
    assert!(
        p.sim
            .requests()
            .iter()
            .any(|r| r.path == "/v2/account" && r.status == 401),
        "the refusal happened"
    );

    // The token revoked and a new one made for the same team: the account
    // turns Expired, and the new token brings it back, servers and all.
    p.sim
        .command(sim::Command::RevokeDigitalOceanToken {
            token: token.into(),
        })
        .unwrap();
    let (status, v) = p.refresh(&id);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("account_expired")),
        "{v}"
    );
    let renewed = format!("dop_v1_{}", "7".repeat(64));
    p.sim
        .command(sim::Command::AddDigitalOceanTeam {
            team: team(Some(&team_id), "Example Team", &renewed),
        })
        .unwrap();
    let (status, v) = connect(&p, json!({ "token": renewed, "account_id": id }));
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["account"]["status"].as_str(),
            v["account"]["reconnected"].as_bool()
        ),
        (Some("Active"), Some(true)),
        "{v}"
    );
    // Its event says so too, as an OAuth reconnect's does.
    let connected = p.events("account.connected", &id);
    assert_eq!(connected[0]["data"]["reconnected"], true, "{connected:?}");
    let (status, v) = p.refresh(&id);
    assert_eq!((status, v["status"].as_str()), (200, Some("Active")), "{v}");
    let (_, servers) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    assert_eq!(servers["servers"][0]["status"], "running", "{servers}");
}

#[test]
fn a_revoked_token_is_found_by_the_background_health_check() {
    let mut p = Product::start_with_manifest(World::default(), |m| {
        let every_second = m.replace(
            "cron_expression = \"*/10 * * * * *\"",
            "cron_expression = \"* * * * * *\"",
        );
        assert_ne!(every_second, m, "spin.toml schedules the jobs component");
        with_example(&every_second)
    });
    let env = example_env(&p.sim.url);
    p.opts.env.extend(env);
    for (k, v) in [
        ("SPIN_VARIABLE_HEALTH_CHECK_SECONDS", "2"),
        ("SPIN_VARIABLE_TOKEN_KEEPALIVE_SECONDS", "1"),
    ] {
        let v = v.to_string();
        p.opts.env.push((k.into(), v));
    }
    p.restart();
    let token = sim::digitalocean::SEED_TOKEN;
    let (status, v) = connect(&p, json!({ "token": token }));
    assert_eq!(status, 201, "{v}");
    let id = v["account"]["id"].as_str().unwrap().to_string();

    // Nobody uses the account; the jobs re-check it and find the token
    // refused, and the platform hears of it.
    p.sim
        .command(sim::Command::RevokeDigitalOceanToken {
            token: token.into(),
        })
        .unwrap();
    let a = p.wait_for(&format!("/api/v1/accounts/{id}"), 30, |a| {
        a["status"] == "Expired"
    });
    assert!(
        a["status_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("API token was refused"),
        "{a}"
    );
    assert_eq!(p.events("account.expired", &id).len(), 1);
    // The jobs went to the team's accounts and servers instances, and not
    // to its storage instance: the team has no storage to look after.
    let log = p.host.log();
    assert!(
        log.contains("chained /internal/jobs/accounts component=accounts-digitalocean status=200"),
        "{log}"
    );
    assert!(
        !log.contains("component=storage-digitalocean status"),
        "{log}"
    );
}
