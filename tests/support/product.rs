//! The product under test: the real spin.toml with the real components,
//! served by the real host against the emulator, and the sign-in a user
//! clicks through, driven over HTTP.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::{Sim, World};

use super::{root, Host, Opts, TempDir};

/// Where the product components are built (once per test binary).
pub fn product_wasm_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = root().join("target").join("wasm-components");
        if std::env::var_os("SKYPORT_TEST_SKIP_WASM_BUILD").is_none() {
            let _ = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip2"])
                .output();
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--target",
                    "wasm32-wasip2",
                    "--profile",
                    "wasm",
                    "-p",
                    "connect",
                    "-p",
                    "connect-token",
                    "-p",
                    "accounts",
                    "-p",
                    "dns",
                    "-p",
                    "storage",
                    "-p",
                    "servers",
                    "-p",
                    "console",
                    "-p",
                    "jobs",
                    "-p",
                    "events",
                    "-p",
                    "azure-compute",
                    "-p",
                    "azure-account",
                    "-p",
                    "azure-dns",
                    "-p",
                    "azure-storage",
                    "-p",
                    "digitalocean-droplets",
                    "-p",
                    "digitalocean-dns",
                    "-p",
                    "digitalocean-identity",
                    "-p",
                    "digitalocean-spaces",
                    "-p",
                    "compute-adapter",
                    "-p",
                    "account-adapter",
                    "-p",
                    "storage-adapter",
                    "-p",
                    "prices-adapter",
                ])
                .arg("--target-dir")
                .arg(&target)
                .current_dir(root())
                .status()
                .expect("running cargo");
            assert!(status.success(), "building the product components failed");
        }
        target.join("wasm32-wasip2").join("wasm")
    })
}

/// A directory holding the product's spin.toml (changed by `edit`) with the
/// built components.
pub fn product_app(edit: impl FnOnce(&str) -> String) -> TempDir {
    let dir = TempDir::new("product");
    let manifest = std::fs::read_to_string(root().join("spin.toml")).unwrap();
    let wasm = product_wasm_dir().display().to_string();
    dir.write(
        "spin.toml",
        &edit(&manifest.replace("target/wasm32-wasip2/wasm", &wasm)),
    );
    dir
}

/// The real spin.toml with the example's lines added the way its file says.
pub fn with_example(manifest: &str) -> String {
    let lines = std::fs::read_to_string(
        super::root().join("examples/digitalocean-droplets/add-to-spin.toml"),
    )
    .unwrap()
    .replace(
        "target/wasm32-wasip2/wasm",
        &product_wasm_dir().display().to_string(),
    );
    let with_variable = manifest.replacen(
        "[variables]\n",
        "[variables]\ndigitalocean_api = { default = \"https://api.digitalocean.com\" }\ndigitalocean_oauth = { default = \"https://cloud.digitalocean.com\" }\ndigitalocean_client_id = { default = \"\" }\ndigitalocean_client_secret = { default = \"\", secret = true }\n",
        1,
    );
    let entry = r#""stopped": "stopped and deallocated" },
  { "id": "digitalocean", "title": "DigitalOcean", "name": "DigitalOcean", "connect": "oauth+token", "portal": "the DigitalOcean control panel (API › Tokens)", "admin_user": "root", "stop": "shuts it down: DigitalOcean still bills a droplet that is off", "stopped": "off (still billed)", "storage": "Space", "container": "folder", "scope": "team", "storage_regions": ["nyc3", "ams3", "sfo2", "sfo3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1"], "storage_rule": "3–63 lowercase letters, digits and single hyphens", "storage_pattern": "[a-z0-9][a-z0-9\\-]{1,61}[a-z0-9]" }"#;
    let listed = with_variable.replacen(r#""stopped": "stopped and deallocated" }"#, entry, 1);
    assert_ne!(
        listed, with_variable,
        "spin.toml lists azure among the console's providers"
    );
    format!("{listed}\n{lines}")
}

/// The variables that point the example's DigitalOcean lines at the
/// emulator `sim_url`: its API, its sign-in and its registered OAuth app.
pub fn example_env(sim_url: &str) -> Vec<(String, String)> {
    vec![
        ("SPIN_VARIABLE_DIGITALOCEAN_API".into(), sim_url.into()),
        ("SPIN_VARIABLE_DIGITALOCEAN_OAUTH".into(), sim_url.into()),
        (
            "SPIN_VARIABLE_DIGITALOCEAN_CLIENT_ID".into(),
            sim::digitalocean::SEED_CLIENT_ID.into(),
        ),
        (
            "SPIN_VARIABLE_DIGITALOCEAN_CLIENT_SECRET".into(),
            sim::digitalocean::SEED_CLIENT_SECRET.into(),
        ),
    ]
}

/// A fault on every request whose path contains `path`, at probability `p`:
/// an answer with `status`, a dropped connection, or `latency_ms` of delay.
pub fn fault(
    path: &str,
    status: Option<u16>,
    drop_connection: bool,
    latency_ms: Option<u64>,
    p: f64,
) -> sim::Command {
    sim::Command::AddFault {
        fault: sim::state::Fault {
            path: path.into(),
            method: None,
            status,
            count: None,
            probability: Some(p),
            latency_ms,
            drop_connection,
            retry_after: None,
        },
    }
}

/// Asserts an operation ended: succeeded, or failed with its code, message
/// and remedy.
pub fn ended_with_reason(v: &Value) {
    match v["status"].as_str() {
        Some("succeeded") => {}
        Some("failed") => {
            for k in ["code", "message", "remedy"] {
                assert!(v["error"][k].is_string(), "a failure without its {k}: {v}");
            }
        }
        _ => panic!("an operation that did not end: {v}"),
    }
}

pub const BOOTSTRAP_KEY: &str = "sk_bootstrap_test_0123456789";

/// An OpenSSH public key for test servers.
pub const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0c2t5cG9ydA== me@host";

/// `manifest` with the jobs component run once a year instead of every ten
/// seconds: nothing advances in the background.
pub fn jobs_yearly(manifest: &str) -> String {
    let yearly = manifest.replace(
        "cron_expression = \"*/10 * * * * *\"",
        "cron_expression = \"0 0 0 1 1 *\"",
    );
    assert_ne!(yearly, manifest, "spin.toml schedules the jobs component");
    yearly
}

/// The body of `POST /api/v1/servers`.
pub fn server_spec(account: &str, name: &str, region: &str, size: &str) -> String {
    serde_json::json!({ "account_id": account, "subscription_id": SUBSCRIPTION, "region": region, "size": size, "name": name, "ssh_public_key": SSH_KEY, "cloud_init": "#cloud-config\npackages: [nginx]\n" }).to_string()
}
pub const TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The emulator plus the host serving the product's spin.toml.
pub struct Product {
    pub sim: Sim,
    pub host: Host,
    pub dir: TempDir,
    pub opts: Opts,
}

impl Product {
    pub fn start(world: World) -> Product {
        Product::start_with_manifest(world, |m| m.to_string())
    }

    /// The product with the DigitalOcean lines of the example added
    /// ([`with_example`]), its API pointed at the emulator.
    pub fn start_with_example(world: World) -> Product {
        Product::start_with_example_and(world, with_example)
    }

    /// [`Product::start_with_example`] on the spin.toml `edit` makes of the
    /// real one (which must add the example's lines).
    pub fn start_with_example_and(world: World, edit: impl FnOnce(&str) -> String) -> Product {
        let mut p = Product::start_with_manifest(world, edit);
        let env = example_env(&p.sim.url);
        p.opts.env.extend(env);
        p.register_digitalocean_callback();
        p.restart();
        p
    }

    /// Registers this host's DigitalOcean callback with the emulator's
    /// OAuth application, which, as DigitalOcean does, takes only the exact
    /// callback URL registered.
    pub fn register_digitalocean_callback(&self) {
        self.sim
            .command(sim::Command::AddRedirectUri {
                client_id: sim::digitalocean::SEED_CLIENT_ID.into(),
                redirect_uri: format!("{}/oauth/digitalocean/callback", self.host.url),
            })
            .unwrap();
    }

    /// A call to the emulator's DigitalOcean API with the seed team's
    /// token, as the customer would make it in the control panel; asserts
    /// it succeeded and gives its answer.
    pub fn digitalocean(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let auth = format!("Bearer {}", sim::digitalocean::SEED_TOKEN);
        let (status, text) = super::request(
            method,
            &format!("{}{path}", self.sim.url),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            &body.map(|b| b.to_string()).unwrap_or_default(),
        );
        assert!((200..300).contains(&status), "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Checks that the seed team holds exactly one droplet, firewall, key and
    /// reserved IP (marked on its droplet) for each of `server_ids`, and
    /// nothing for any other server; a summary.
    pub fn digitalocean_holds_only(&self, server_ids: &BTreeSet<&str>) -> String {
        let list = |kind: &str, field: &str| -> Vec<Value> {
            let v = self.digitalocean("GET", &format!("/v2/{kind}?per_page=200"), None);
            v[field].as_array().cloned().unwrap_or_default()
        };
        // One droplet per server, tagged with its server.
        let droplets = list("droplets", "droplets");
        let mut tagged = BTreeSet::new();
        for d in &droplets {
            let owner = d["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str()?.strip_prefix("skyport-server-"))
                .next()
                .unwrap_or_else(|| panic!("a droplet no server owns: {d}"));
            assert!(server_ids.contains(owner), "an orphaned droplet: {d}");
            assert!(
                tagged.insert(owner.to_string()),
                "a droplet made twice: {d}"
            );
        }
        assert_eq!(droplets.len(), server_ids.len(), "one droplet per server");
        // Firewalls and keys are named for their server, none made twice.
        for (kind, field) in [("firewalls", "firewalls"), ("account/keys", "ssh_keys")] {
            let names: Vec<String> = list(kind, field)
                .iter()
                .filter_map(|x| {
                    x["name"]
                        .as_str()?
                        .strip_prefix("skyport-")
                        .map(str::to_string)
                })
                .collect();
            let distinct: BTreeSet<&str> = names.iter().map(String::as_str).collect();
            assert_eq!(distinct.len(), names.len(), "{kind} made twice: {names:?}");
            assert!(
                distinct.iter().all(|n| server_ids.contains(n)),
                "{kind} no server owns: {names:?}"
            );
        }
        // One reserved IP per droplet, assigned to it and named by its tag.
        let ips = list("reserved_ips", "reserved_ips");
        assert_eq!(
            ips.len(),
            server_ids.len(),
            "one reserved IP per server: {ips:?}"
        );
        for ip in &ips {
            let address = ip["ip"].as_str().unwrap();
            let on = droplets
                .iter()
                .find(|d| d["id"] == ip["droplet"]["id"])
                .unwrap_or_else(|| panic!("a reserved IP on no server's droplet: {ip}"));
            // The mark names the server and the address.
            let owner = on["tags"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|t| t.as_str()?.strip_prefix("skyport-server-"))
                .unwrap();
            let mark = format!("skyport-ip-{owner}-{}", address.replace('.', "-"));
            assert!(
                on["tags"].as_array().unwrap().contains(&json!(mark)),
                "{on}"
            );
        }
        format!(
            "{} droplets, {} reserved IPs, nothing orphaned",
            droplets.len(),
            ips.len()
        )
    }

    /// Connects the seed DigitalOcean team by its token (a product started
    /// [`Product::start_with_example`]); the new account.
    pub fn connect_digitalocean(&self) -> Value {
        let (status, v) = self.api(
            "POST",
            "/api/v1/accounts/digitalocean/connect",
            BOOTSTRAP_KEY,
            &serde_json::json!({ "token": sim::digitalocean::SEED_TOKEN }).to_string(),
        );
        assert_eq!(status, 201, "{v}");
        v["account"].clone()
    }

    /// Starts the product with the real spin.toml changed by `edit`.
    pub fn start_with_manifest(world: World, edit: impl FnOnce(&str) -> String) -> Product {
        let sim = Sim::spawn(world).expect("the emulator starts");
        let dir = product_app(edit);
        let port = super::free_port();
        let opts = Opts {
            listen: Some(format!("127.0.0.1:{port}")),
            env: vec![
                (
                    "SPIN_VARIABLE_PUBLIC_URL".into(),
                    format!("http://127.0.0.1:{port}"),
                ),
                ("SPIN_VARIABLE_AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
                (
                    "SPIN_VARIABLE_AZURE_CLIENT_SECRET".into(),
                    CLIENT_SECRET.into(),
                ),
                ("SPIN_VARIABLE_AZURE_AUTHORITY".into(), sim.url.clone()),
                ("SPIN_VARIABLE_AZURE_MANAGEMENT".into(), sim.url.clone()),
                ("SPIN_VARIABLE_AZURE_PRICES".into(), sim.url.clone()),
                ("SPIN_VARIABLE_TOKEN_KEY".into(), TOKEN_KEY.into()),
                (
                    "SPIN_VARIABLE_BOOTSTRAP_API_KEY".into(),
                    BOOTSTRAP_KEY.into(),
                ),
            ],
            ..Opts::default()
        };
        let host = Host::start(dir.path(), &opts);
        Product {
            sim,
            host,
            dir,
            opts,
        }
    }

    /// The product with its background jobs once a year, so nothing moves
    /// but what the test's requests move.
    pub fn without_jobs(world: World) -> Product {
        Product::start_with_manifest(world, jobs_yearly)
    }

    /// The product with its jobs component every second instead of every
    /// ten, and the app variables `env` (`SPIN_VARIABLE_…`, value).
    pub fn with_jobs_every_second(env: &[(&str, &str)]) -> Product {
        Product::jobs_every_second(false, env)
    }

    /// [`Product::with_jobs_every_second`] with the example's DigitalOcean
    /// lines added, pointed at the emulator.
    pub fn with_example_and_jobs_every_second(env: &[(&str, &str)]) -> Product {
        Product::jobs_every_second(true, env)
    }

    fn jobs_every_second(example: bool, env: &[(&str, &str)]) -> Product {
        let mut p = Product::start_with_manifest(World::default(), |m| {
            let every_second = m.replace(
                "cron_expression = \"*/10 * * * * *\"",
                "cron_expression = \"* * * * * *\"",
            );
            assert_ne!(every_second, m, "spin.toml schedules the jobs component");
            if example {
                with_example(&every_second)
            } else {
                every_second
            }
        });
        if example {
            let env = example_env(&p.sim.url);
            p.opts.env.extend(env);
            p.register_digitalocean_callback();
        }
        for (k, v) in env {
            p.opts.env.push((k.to_string(), v.to_string()));
        }
        p.restart();
        p
    }

    /// Reads `path` with the bootstrap key until `done` holds for its
    /// answer; fails after `secs` with the last answer and the host's log.
    pub fn wait_for(&self, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_until(path, secs, |status, v| {
            assert_eq!(status, 200, "{v}");
            done(v)
        })
    }

    /// Reads `path` with the bootstrap key until `done` holds for its status
    /// and answer; fails after `secs` with the last answer and the host's log.
    pub fn wait_until(&self, path: &str, secs: u64, done: impl Fn(u16, &Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (status, v) = self.api("GET", path, BOOTSTRAP_KEY, "");
            if done(status, &v) {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} never got there: {status} {v}\n{}",
                self.host.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// Stops the host (SIGKILL) and starts it again on the same app
    /// directory and address (the product's `public_url` names the address).
    pub fn restart(&mut self) {
        let _ = self.host.child.kill();
        let _ = self.host.child.wait();
        self.host = Host::start(self.dir.path(), &self.opts);
    }

    pub fn api(&self, method: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
        self.api_with(method, path, key, body, &[])
    }

    /// Every item of the list at `list` (e.g. `/api/v1/servers`, its items
    /// under the last segment's name), each checked against what its own
    /// read at `{list}/{id}` answers: they must be the same. The items.
    pub fn listed_as_read(&self, list: &str) -> Vec<Value> {
        let (status, v) = self.api("GET", list, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{v}");
        let field = list.rsplit('/').next().unwrap_or_default();
        let items = v[field].as_array().unwrap().clone();
        for listed in &items {
            let id = listed["id"].as_str().unwrap();
            let (status, read) = self.api("GET", &format!("{list}/{id}"), BOOTSTRAP_KEY, "");
            assert_eq!(status, 200, "{read}");
            assert_eq!(listed, &read, "{list}: listed and read differ");
        }
        items
    }

    /// [`Product::api`] with more request headers (`if-match` and the like).
    pub fn api_with(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let auth = format!("Bearer {key}");
        let mut h = vec![
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        h.extend_from_slice(headers);
        let (status, text) = super::request(method, &format!("{}{path}", self.host.url), &h, body);
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An Azure server `name` (Standard_B2s) made and running: its read.
    pub fn running_server(&self, account: &str, name: &str, region: &str, key: &str) -> Value {
        let (status, op) =
            self.create_server(&server_spec(account, name, region, "Standard_B2s"), key);
        assert_eq!(status, 202, "{op}");
        let done = self.wait_operation(op["id"].as_str().unwrap());
        assert_eq!(done["status"], "succeeded", "{done}");
        let server = op["server"]["id"].as_str().unwrap().to_string();
        let (_, s) = self.api(
            "GET",
            &format!("/api/v1/servers/{server}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(s["status"], "running", "{s}");
        s
    }

    /// The customer puts a public IP address of their own (`users-own-ip`)
    /// into the resource group of the Azure server `name`, as in the
    /// portal; its resource id, to take it out again.
    pub fn put_users_own_ip(&self, name: &str) -> String {
        use sim::arm::store::{self, Group};
        let prefix = format!("skyport-{name}-");
        let group = self
            .sim
            .inventory()
            .into_iter()
            .filter(|r| r["type"] == "resourceGroups")
            .find_map(|r| {
                r["name"]
                    .as_str()
                    .filter(|n| n.starts_with(&prefix))
                    .map(str::to_string)
            })
            .expect("the server's group");
        let g = Group {
            sub: SUBSCRIPTION.into(),
            rg: group,
        };
        let id = g.id("Microsoft.Network/publicIPAddresses", "users-own-ip");
        self.sim.with_state(|s| {
            store::put(s, "Microsoft.Network/publicIPAddresses", Some(&g), SUBSCRIPTION, &id,
                json!({ "id": id, "name": "users-own-ip", "location": "eastus", "properties": { "provisioningState": "Succeeded" } }));
        });
        id
    }

    /// `POST /api/v1/servers` with the bootstrap key and an Idempotency-Key.
    pub fn create_server(&self, body: &str, idempotency_key: &str) -> (u16, Value) {
        let auth = format!("Bearer {BOOTSTRAP_KEY}");
        let (status, text) = super::request(
            "POST",
            &format!("{}/api/v1/servers", self.host.url),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("idempotency-key", idempotency_key),
            ],
            body,
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates a server (`server_spec` with the Idempotency-Key `key`) and
    /// waits until its creation succeeded; the finished operation.
    pub fn provision(
        &self,
        account: &str,
        name: &str,
        region: &str,
        size: &str,
        key: &str,
    ) -> Value {
        self.provision_spec(&server_spec(account, name, region, size), key)
    }

    /// Creates the server `body` describes, under the Idempotency-Key
    /// `key`, and follows its operation to success; the ended operation.
    pub fn provision_spec(&self, body: &str, key: &str) -> Value {
        let (status, op) = self.create_server(body, key);
        assert_eq!(status, 202, "{op}");
        let done = self.wait_operation(op["id"].as_str().unwrap());
        assert_eq!(done["status"], "succeeded", "{done}");
        done
    }

    /// Deletes server `id` (`DELETE /api/v1/servers/{id}` answers 202 with
    /// the operation) and follows the operation to its end; the ended
    /// operation, for the caller to judge.
    pub fn delete_server(&self, id: &str) -> Value {
        self.follow("DELETE", &format!("/api/v1/servers/{id}"))
    }

    /// Asks server `id` to `action` (`stop`, `start`, `restart`: 202 with
    /// the operation) and follows the operation to its end.
    pub fn power(&self, id: &str, action: &str) -> Value {
        self.follow("POST", &format!("/api/v1/servers/{id}/{action}"))
    }

    /// Sends `method path` (no body), which answers 202 with an
    /// operation, and follows the operation to its end.
    fn follow(&self, method: &str, path: &str) -> Value {
        let (status, op) = self.api(method, path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 202, "{op}");
        self.wait_operation(op["id"].as_str().unwrap())
    }

    /// `POST /api/v1/accounts/{id}/refresh` (the console's Check now) as
    /// the first organization.
    pub fn refresh(&self, id: &str) -> (u16, Value) {
        self.api(
            "POST",
            &format!("/api/v1/accounts/{id}/refresh"),
            BOOTSTRAP_KEY,
            "",
        )
    }

    /// Checks that `answer` is the 409 `account_expired` with the Reconnect
    /// remedy, and that account `id` now shows Expired; the account.
    pub fn expired(&self, id: &str, answer: (u16, Value)) -> Value {
        let (status, e) = answer;
        assert_eq!(status, 409, "{e}");
        assert_eq!(e["error"]["code"], "account_expired", "{e}");
        assert!(
            e["error"]["remedy"].as_str().unwrap().contains("Reconnect"),
            "{e}"
        );
        let (_, a) = self.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
        assert_eq!(a["status"], "Expired", "{a}");
        a
    }

    /// Polls an operation until it (and its clean-up) ends: each poll moves
    /// it one step, unless a request that died still holds its lease (then
    /// it waits for the lease to run out), so the bound is time, not polls.
    pub fn wait_operation(&self, op: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let (status, v) = self.api(
                "GET",
                &format!("/api/v1/operations/{op}"),
                BOOTSTRAP_KEY,
                "",
            );
            assert_eq!(status, 200, "{v}");
            let cleanup_running = v["cleanup"]["status"] == "running";
            if v["status"] != "running" && !cleanup_running {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "operation {op} never finished: {v}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The feed's events of `kind` about `object` (an id), newest first.
    pub fn events(&self, kind: &str, object: &str) -> Vec<Value> {
        let (status, v) = self.api(
            "GET",
            &format!("/api/v1/events?kind={kind}&object={object}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{v}");
        v["events"].as_array().cloned().unwrap_or_default()
    }

    /// Starts a backup storage set-up (`POST /api/v1/storage/setup`) of a
    /// storage account `name` in westeurope with the container `backups`,
    /// with `extra` fields merged in; answers the 202's operation.
    pub fn start_storage(&self, account: &str, name: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({ "account_id": account, "subscription_id": sim::world::defaults::SUBSCRIPTION, "region": "westeurope", "storage_account": name, "container": "backups" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, op) = self.api(
            "POST",
            "/api/v1/storage/setup",
            BOOTSTRAP_KEY,
            &body.to_string(),
        );
        assert_eq!(status, 202, "{op}");
        op
    }

    /// A set-up of `name` (as `start_storage`) followed to its end.
    pub fn set_up_storage(&self, account: &str, name: &str) -> Value {
        let op = self.start_storage(account, name, Value::Null);
        self.wait_storage(op["id"].as_str().unwrap())
    }

    /// Sets the default network action (`Allow`, `Deny`) of the emulator's
    /// storage account, as its owner would in the portal.
    pub fn set_storage_network(&self, action: &str) {
        self.sim.with_state(|s| {
            let acct = s
                .resources
                .values_mut()
                .find(|r| r.kind == "Microsoft.Storage/storageAccounts")
                .unwrap();
            acct.body["properties"]["networkAcls"] =
                serde_json::json!({ "defaultAction": action, "ipRules": [] });
        });
    }

    /// Polls a storage setup until it ends.
    /// A DNS change's operation, read until it no longer runs (at most
    /// two minutes).
    pub fn wait_dns(&self, id: &str) -> Value {
        self.wait_for(&format!("/api/v1/dns/operations/{id}"), 120, |v| {
            v["status"] != "running"
        })
    }

    pub fn wait_storage(&self, op: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let (status, v) = self.api(
                "GET",
                &format!("/api/v1/storage/operations/{op}"),
                BOOTSTRAP_KEY,
                "",
            );
            assert_eq!(status, 200, "{v}");
            if v["status"] != "running" {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "storage setup {op} never finished: {v}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Chooses the emulator's DNS zone for the organization's domain
    /// through `account` (`POST /api/v1/dns/domains`).
    pub fn choose_zone(&self, account: &str) -> Value {
        use sim::world::defaults::{DNS_RESOURCE_GROUP, DNS_ZONE, SUBSCRIPTION};
        let zone_id = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{DNS_RESOURCE_GROUP}/providers/Microsoft.Network/dnszones/{DNS_ZONE}");
        let (status, d) = self.api(
            "POST",
            "/api/v1/dns/domains",
            BOOTSTRAP_KEY,
            &serde_json::json!({ "account_id": account, "zone_id": zone_id }).to_string(),
        );
        assert_eq!(status, 201, "{d}");
        d
    }

    /// How many resources of `kind` the emulator holds (not being deleted).
    pub fn count(&self, kind: &str) -> usize {
        self.sim
            .inventory()
            .iter()
            .filter(|r| r["type"] == kind && r["provisioningState"] != "Deleting")
            .count()
    }

    /// Starts a connection (or a reconnect) and returns the authorize URL.
    pub fn start_connect(&self, key: &str, reconnect: Option<&str>) -> String {
        let (status, v) = match reconnect {
            Some(id) => self.api("POST", &format!("/api/v1/accounts/{id}/reconnect"), key, ""),
            None => self.api("POST", "/api/v1/accounts/azure/connect", key, ""),
        };
        assert_eq!(status, 201, "{v}");
        v["authorize_url"].as_str().unwrap().to_string()
    }

    /// Clicks through the emulator's consent page as `user`; returns the
    /// callback page the host answers with (status, html, outcome).
    pub fn sign_in(
        &self,
        authorize_url: &str,
        user: &str,
        decision: &str,
    ) -> (u16, String, String) {
        self.callback(&self.sent_back(authorize_url, user, decision))
    }

    /// Answers the emulated Microsoft consent page at `authorize_url` as
    /// `user` with `decision`; the URL the browser is then sent back to,
    /// not yet opened.
    pub fn sent_back(&self, authorize_url: &str, user: &str, decision: &str) -> String {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let page = agent.get(authorize_url).call().expect("the consent page");
        assert_eq!(page.status(), 200);
        let url = url::Url::parse(authorize_url).unwrap();
        let mut fields: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        fields.push(("user".into(), user.into()));
        fields.push(("decision".into(), decision.into()));
        let post_url = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + url.path();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let resp = match agent.post(&post_url).send_form(&pairs) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        let target = if resp.status() == 302 {
            resp.header("location").unwrap().to_string()
        } else {
            // "Need admin approval": follow its link back to the app.
            let html = resp.into_string().unwrap();
            html.split("id=\"return\" href=\"")
                .nth(1)
                .expect("a return link")
                .split('"')
                .next()
                .unwrap()
                .replace("&amp;", "&")
        };
        target
    }

    /// Opens a callback URL on the host.
    pub fn callback(&self, url: &str) -> (u16, String, String) {
        let (status, html) = super::get(url);
        let outcome = html
            .split("data-outcome=\"")
            .nth(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .unwrap_or_default();
        (status, html, outcome)
    }

    /// Connects the default user; returns the account id.
    pub fn connect(&self, key: &str, user: &str) -> String {
        let url = self.start_connect(key, None);
        let (status, html, outcome) = self.sign_in(&url, user, "accept");
        assert_eq!((status, outcome.as_str()), (200, "signed_in"), "{html}");
        let (status, v) = self.claim(key, &html);
        assert!(status == 201 || status == 200, "the claim: {status} {v}");
        assert_eq!(v["outcome"], "connected", "{v}");
        v["account"]["id"].as_str().unwrap().to_string()
    }

    /// The claim a finished sign-in's page carries (what the popup posts to
    /// the window that opened it).
    pub fn claim_of(html: &str) -> String {
        html.split("data-claim=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| panic!("no claim on the page: {html}"))
            .to_string()
    }

    /// Redeems the claim on a finished sign-in's page with `key`.
    pub fn claim(&self, key: &str, html: &str) -> (u16, Value) {
        let body = serde_json::json!({ "claim": Product::claim_of(html) }).to_string();
        self.api("POST", "/api/v1/accounts/azure/claim", key, &body)
    }

    /// Starts a sign-in (or, with `reconnect`, a reconnect) and answers
    /// DigitalOcean's authorization page for `team` with `decision`; gives the
    /// page Skyport's callback answers with and its outcome.
    pub fn sign_in_digitalocean(
        &self,
        reconnect: Option<&str>,
        team: &str,
        decision: &str,
    ) -> (String, String) {
        let url = self.start_connect_digitalocean(BOOTSTRAP_KEY, reconnect);
        self.authorize_digitalocean(&url, team, decision)
    }

    /// Starts a DigitalOcean sign-in (or, with `reconnect`, a reconnect)
    /// with `key`; the authorization page's URL, checked for what Skyport
    /// asks of DigitalOcean.
    pub fn start_connect_digitalocean(&self, key: &str, reconnect: Option<&str>) -> String {
        let (status, v) = match reconnect {
            Some(id) => self.api("POST", &format!("/api/v1/accounts/{id}/reconnect"), key, ""),
            None => self.api("POST", "/api/v1/accounts/digitalocean/connect", key, ""),
        };
        assert_eq!(status, 201, "{v}");
        v["authorize_url"].as_str().unwrap().to_string()
    }

    /// Answers DigitalOcean's authorization page at `url` for `team` with
    /// `decision`; gives the page Skyport's callback answers with and its
    /// outcome.
    pub fn authorize_digitalocean(
        &self,
        url: &str,
        team: &str,
        decision: &str,
    ) -> (String, String) {
        let back = self.sent_back_by_digitalocean(url, team, decision);
        let (status, html, outcome) = self.callback(&back);
        assert_eq!(status, 200, "{html}");
        (html, outcome)
    }

    /// Answers DigitalOcean's authorization page at `url` for `team` with
    /// `decision`; the URL DigitalOcean sends the browser back to, not yet
    /// opened.
    pub fn sent_back_by_digitalocean(&self, url: &str, team: &str, decision: &str) -> String {
        let authorize = url::Url::parse(url).unwrap();
        assert_eq!(authorize.path(), "/v1/oauth/authorize", "{authorize}");
        let asked: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        let param = |k: &str| {
            asked
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        assert_eq!(param("client_id"), sim::digitalocean::SEED_CLIENT_ID);
        assert_eq!(param("scope"), "read write");
        assert_eq!(param("response_type"), "code");
        assert!(
            param("redirect_uri").ends_with("/oauth/digitalocean/callback"),
            "{authorize}"
        );

        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let page = agent
            .get(authorize.as_str())
            .call()
            .expect("the authorization page")
            .into_string()
            .unwrap();
        assert!(
            page.contains(&format!("<option value=\"{team}\"")),
            "the page offers the team: {page}"
        );
        let mut fields = hidden_inputs(&page);
        fields.push(("team".into(), team.into()));
        fields.push(("decision".into(), decision.into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = match agent
            .post(&format!("{}/v1/oauth/authorize", self.sim.url))
            .send_form(&pairs)
        {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(answer.status(), 302, "DigitalOcean sends the browser back");
        answer.header("location").unwrap().to_string()
    }

    pub fn claim_digitalocean(&self, html: &str) -> (u16, Value) {
        self.claim_digitalocean_with(BOOTSTRAP_KEY, html)
    }

    /// Redeems a DigitalOcean sign-in's claim with `key`.
    pub fn claim_digitalocean_with(&self, key: &str, html: &str) -> (u16, Value) {
        let body = serde_json::json!({ "claim": Product::claim_of(html) }).to_string();
        self.api("POST", "/api/v1/accounts/digitalocean/claim", key, &body)
    }

    /// A second organization's API key.
    pub fn new_org(&self, name: &str) -> String {
        let (status, v) = self.api(
            "POST",
            "/api/v1/orgs",
            BOOTSTRAP_KEY,
            &format!("{{\"name\":\"{name}\"}}"),
        );
        assert_eq!(status, 201, "{v}");
        v["api_key"].as_str().unwrap().to_string()
    }

    /// How many refresh-token grants the emulator has answered.
    pub fn refresh_grants(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.grant.as_deref() == Some("refresh_token") && r.status == 200)
            .count()
    }
}

/// The VM among a server's resources (as the API shows the server).
pub fn vm_of(server: &Value) -> String {
    server["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|r| r.contains("/virtualMachines/"))
        .expect("the server has a VM")
        .to_string()
}

/// The values of a page's `<input type="hidden" name="…" value="…">`.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap().to_string();
            let value = rest
                .split("value=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default()
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'");
            (name, value)
        })
        .collect()
}
