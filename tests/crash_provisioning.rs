//! Ten servers provisioned while the host is killed with SIGKILL at
//! pseudo-random moments (a fixed seed; requests in flight included) and
//! restarted against the same emulator: every Idempotency-Key ends in exactly
//! one server, nothing is made twice at the provider, no operation is lost,
//! and nothing is left that no server owns — on Azure (VMs, resource groups)
//! and on DigitalOcean (droplets, their firewalls, reserved IPs and keys).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sim::digitalocean::SEED_TEAM;
use sim::world::defaults::*;
use sim::World;
use support::product::{server_spec, Product, BOOTSTRAP_KEY, SSH_KEY};

/// One HTTP call that reports a dead host instead of panicking.
fn call(method: &str, url: &str, key: Option<&str>, body: &str) -> Option<(u16, Value)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let mut req = agent
        .request(method, url)
        .set("authorization", &format!("Bearer {BOOTSTRAP_KEY}"))
        .set("content-type", "application/json");
    if let Some(k) = key {
        req = req.set("idempotency-key", k);
    }
    let result = if body.is_empty() {
        req.call()
    } else {
        req.send_string(body)
    };
    let (status, text) = match result {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(_) => return None,
    };
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// A tiny fixed-seed generator (xorshift), so every run kills at the same moments.
struct Seeded(u64);
impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Each server's creation: its idempotency key and body.
type Creations = Vec<(String, String)>;

/// What differs between providers.
struct Case {
    /// The product with an account connected, and the servers to create.
    start: fn() -> (Product, Creations),
    /// Checks what the provider holds against the servers that exist (a
    /// panic for anything made twice or owned by none); a summary.
    holds: fn(&Product, &BTreeSet<&str>) -> String,
}

const AZURE: Case = Case {
    start: || {
        let p = Product::start(World::default());
        let account = p.connect(BOOTSTRAP_KEY, USERNAME);
        let servers = (0..10)
            .map(|i| {
                let body = server_spec(&account, &format!("k{i}"), "eastus", "Standard_B1s");
                (format!("crash-{i}"), body)
            })
            .collect();
        (p, servers)
    },
    holds: |p, server_ids| {
        let inventory = p.sim.inventory();
        let vms = inventory
            .iter()
            .filter(|r| r["type"] == "Microsoft.Compute/virtualMachines")
            .count();
        assert_eq!(vms, 10, "no VM made twice");
        for g in inventory.iter().filter(|r| r["type"] == "resourceGroups") {
            if let Some(owner) = g["tags"]["skyport-server"].as_str() {
                assert!(server_ids.contains(owner), "an orphaned group: {g}");
            }
        }
        format!("{vms} VMs, 0 orphaned groups")
    },
};

const DIGITALOCEAN: Case = Case {
    start: || {
        // Each server holds a reserved IP: the team may have ten.
        let mut w = World::default();
        w.digitalocean.teams[0].reserved_ip_limit = 10;
        let p = Product::start_with_example(w);
        let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
        let servers = (0..10)
            .map(|i| {
                let body = json!({ "account_id": account, "subscription_id": SEED_TEAM, "region": "nyc3", "size": "s-1vcpu-1gb", "name": format!("k{i}"), "ssh_public_key": SSH_KEY });
                (format!("crash-{i}"), body.to_string())
            })
            .collect();
        (p, servers)
    },
    holds: |p, server_ids| p.digitalocean_holds_only(server_ids),
};

#[test]
fn provisioning_on_azure_survives_a_host_killed_at_random_moments() {
    survives_kills(&AZURE);
}

#[test]
fn provisioning_on_digitalocean_survives_a_host_killed_at_random_moments() {
    survives_kills(&DIGITALOCEAN);
}

fn survives_kills(case: &Case) {
    let (mut p, servers) = (case.start)();
    let base = p.host.url.clone();

    // Clients keep creating and polling, whatever happens to the host.
    let stop = AtomicBool::new(false);
    let mut kills = 0;
    let mut rng = Seeded(0x5eed_cafe_f00d_d00d);
    std::thread::scope(|scope| {
        for (key, body) in &servers {
            let (stop, base) = (&stop, &base);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some((202, op)) =
                        call("POST", &format!("{base}/api/v1/servers"), Some(key), body)
                    {
                        let id = op["id"].as_str().unwrap_or_default().to_string();
                        let _ = call("GET", &format!("{base}/api/v1/operations/{id}"), None, "");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        while kills < 6 {
            std::thread::sleep(Duration::from_millis(150 + rng.next(600)));
            p.restart();
            kills += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(kills >= 5);

    // Every key is still usable and ends in one operation, which finishes.
    let mut by_key: BTreeMap<String, (String, String)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for (key, body) in &servers {
        loop {
            match call("POST", &format!("{base}/api/v1/servers"), Some(key), body) {
                Some((202, op)) => {
                    by_key.insert(
                        key.clone(),
                        (
                            op["id"].as_str().unwrap().to_string(),
                            op["server"]["id"].as_str().unwrap().to_string(),
                        ),
                    );
                    break;
                }
                Some((503, _)) | None => {}
                Some(other) => panic!("key {key} unusable after the kills: {other:?}"),
            }
            assert!(Instant::now() < deadline, "key {key} never became usable");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for (key, (op, _)) in &by_key {
        let done = p.wait_operation(op);
        assert_eq!(done["status"], "succeeded", "{key}: {done}");
    }

    // Exactly one server and one VM per key; no group without its server.
    let server_ids: BTreeSet<&str> = by_key.values().map(|(_, s)| s.as_str()).collect();
    assert_eq!(server_ids.len(), 10, "one server per key");
    let (_, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    let listed = list["servers"].as_array().unwrap();
    assert_eq!(listed.len(), 10, "no duplicate server records: {list}");
    let held = (case.holds)(&p, &server_ids);
    println!("crash_provisioning: {kills} kills, 10 keys, 10 servers, {held}");
}
