//! The providers a scenario runs against, one [`Cloud`] each: how an account
//! is connected, where its servers go, how a fault or a limit is set at the
//! provider, and what the provider holds afterwards. A scenario written once
//! against a `Cloud` runs for Azure and for DigitalOcean, both served by one
//! deployment (the product's spin.toml plus the example's lines).
#![allow(dead_code)]

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sim::digitalocean::{SEED_TEAM, SEED_TOKEN};
use sim::state::{Fault, LroFailure, Revocation};
use sim::world::defaults::{SUBSCRIPTION, USERNAME};
use sim::{Command, World};

use super::product::{fault, with_example, Product, BOOTSTRAP_KEY, SSH_KEY};

/// What differs between providers, as the scenarios need it.
pub struct Cloud {
    pub name: &'static str,
    /// A region servers go in, and a size with two vCPUs.
    pub region: &'static str,
    /// Another region.
    pub other_region: &'static str,
    /// Six regions servers can go in.
    pub regions: [&'static str; 6],
    pub size: &'static str,
    /// Where backup storage goes.
    pub storage_region: &'static str,
    /// Whether a store is filed in a group the request names (Azure's
    /// resource groups); other providers ignore `resource_group`.
    pub store_group: bool,
    /// The user a server is reached as.
    pub admin_username: &'static str,
    /// Whether a stopped server's compute is still billed: a powered-off
    /// droplet is; a VM Skyport stops is deallocated, and is not.
    pub billed_while_stopped: bool,
    /// A write that provisioning a server makes partway through (a path
    /// fragment and its method): where a fault lands mid-server.
    pub mid_provision: (&'static str, &'static str),
    /// Its sign-in by OAuth.
    pub oauth: OAuth,
    /// Connects an account: its id and the scope its resources go in.
    pub connect: fn(&Product) -> (String, String),
    /// Makes the provider fail the next server named `name` for good.
    pub fail_next_server: fn(&Product, &str),
    /// Lets the scope hold `n` two-vCPU servers at most, in `region`.
    pub limit_servers: fn(&Product, u32),
    /// Lets the scope hold as many servers as a test makes, in every region.
    pub lift_limits: fn(&Product),
    /// How many servers the provider holds (VMs, droplets).
    pub servers: fn(&Product) -> usize,
    /// The provider stops honouring the account's grant or token (a
    /// password changed, a token revoked), and words one of which its
    /// reason then carries.
    pub lose_access: fn(&Product),
    pub lost_because: &'static [&'static str],
    /// Words of the advice a deleted account's answer gives on revoking
    /// Skyport's access at the provider.
    pub revoke_words: &'static str,
    /// Every credential the provider has issued to Skyport so far (tokens,
    /// or what every token of its kind starts with), none of which may be
    /// stored or logged in clear.
    pub secrets: fn(&Product) -> Vec<String>,
    /// Makes the set-up of the store `name` end in polls, not in the
    /// request that starts it.
    pub slow_storage: fn(&Product, &str),
    /// Scripts passing failures, once each, on the safe calls of a storage
    /// set-up (reading keys, writing and reading the probe), which the
    /// set-up must ride out; words of the paths they land on.
    pub storage_blips: fn(&Product) -> &'static [&'static str],
    /// Probe objects (blobs) an access check left in the store `name`.
    pub probes_left: fn(&Product, &str) -> usize,
    /// Makes `name` a store name another customer of the provider holds.
    pub take_store_name: fn(&Product, &str),
    /// A store name other providers allow and this one does not, and
    /// words of its rule.
    pub unlawful_store_name: (&'static str, &'static str),
    /// Makes the next request that begins making the store `name` fail
    /// with a 503, once.
    pub blip_store_creation: fn(&Product, &str),
    /// Makes the next folder (container) made fail for good: the set-up
    /// fails after making its store.
    pub fail_next_folder: fn(&Product),
    /// Whether the provider holds the store `name` (not being deleted).
    pub holds_store: fn(&Product, &str) -> bool,
    /// Makes the access check of the store `name` fail (`true`) or pass
    /// again (`false`), as its owner would: Azure's network rules denying,
    /// a Space refusing Skyport's writes.
    pub lock_out_storage: fn(&Product, &str, bool),
    /// What a target locked out so then shows.
    pub locked_out: LockedOut,
    /// Removes the store `name` behind Skyport's back (in the portal); the
    /// closure puts it back as it was.
    pub remove_store: fn(&Product, &str) -> PutBack,
    /// The name servers a zone (or domain) is delegated to: how many, and
    /// the first.
    pub name_servers: (usize, &'static str),
    /// Whether the provider holds a record of `kind` named `name` (relative,
    /// `@` for the apex) in the zone (or domain) `zone`.
    pub has_record: fn(&Product, &str, &str, &str) -> bool,
    /// The provider throttles every write of an `A` record `name` in the
    /// zone (or domain) `zone` (429, try again at once) until its faults
    /// are cleared.
    pub throttle_record_writes: fn(&Product, &str, &str),
    /// Scripts the fault matrix on the provider's API: throttling, server
    /// errors, dropped connections and latency at a probability (seeded) on
    /// each class of call a server, a store and a record make, and what the
    /// provider refuses outright.
    pub fault_matrix: fn(&Product),
    /// Words a failed server's error carries, and words (another
    /// provider's) it never does.
    pub failures_say: &'static str,
    pub failures_never_say: &'static [&'static str],
    /// Whether the user's DNS zone (or domain) `name` is still at the
    /// provider.
    pub has_zone: fn(&Product, &str) -> bool,
    /// Checks that the provider holds one server, with one of each part a
    /// server has, for each of `servers` (platform server ids), and nothing
    /// for any other server: nothing made twice, nothing orphaned.
    pub holds_only: fn(&Product, &BTreeSet<&str>),
    /// How many things provisioning has written at all: what a server
    /// refused before it began must leave at zero.
    pub written: fn(&Product) -> usize,
}

/// Puts back what a test removed behind Skyport's back.
pub type PutBack = Box<dyn FnOnce(&Product)>;

/// What a backup target shows once its store refuses the access check.
pub struct LockedOut {
    pub status: &'static str,
    /// How its reason starts, and words of its remedy.
    pub reason: &'static str,
    pub remedy: &'static str,
    /// The event the change emits.
    pub event: &'static str,
}

/// A provider's sign-in by OAuth, as the console drives it.
pub struct OAuth {
    /// Where a claim is redeemed, and where the provider sends the browser
    /// back.
    pub claim_path: &'static str,
    pub callback_path: &'static str,
    /// Starts a sign-in with an organization's key: the provider's
    /// authorization URL.
    pub start: fn(&Product, &str) -> String,
    /// The user consents at that URL (the seed user, the seed team); the
    /// page Skyport's callback answers with, and its outcome.
    pub consent: fn(&Product, &str) -> (String, String),
    /// The user consents at that URL; where the provider then sends the
    /// browser back (Skyport's callback with a code), not yet opened.
    pub sent_back: fn(&Product, &str) -> String,
    /// Connects an account by OAuth whose access token is about to expire
    /// (within Skyport's refresh margin), later ones living long; its id.
    pub connect_expiring: fn(&Product) -> String,
    /// How many refresh-token grants the provider has answered.
    pub refreshes: fn(&Product) -> usize,
    /// Connects an account by OAuth: its id and its scope.
    pub connect: fn(&Product) -> (String, String),
    /// The provider refuses the access tokens it issued so far before they
    /// expire by its own clock (revoked or rotated early); the grant, and
    /// so a refresh, still works.
    pub expire_access_tokens: fn(&Product),
    /// The provider ends the grant itself: a refresh is refused for good.
    pub end_grant: fn(&Product),
    /// A piece of the path of the provider's token endpoint.
    pub token_path: &'static str,
    /// Starts a reconnect of account `id` with an organization's key: the
    /// provider's authorization URL.
    pub reconnect: fn(&Product, &str, &str) -> String,
}

impl OAuth {
    /// Redeems the claim of a finished sign-in's page with `key`.
    pub fn claim(&self, p: &Product, key: &str, html: &str) -> (u16, Value) {
        let body = json!({ "claim": Product::claim_of(html) }).to_string();
        p.api("POST", self.claim_path, key, &body)
    }
}

/// Tests `azure::<scenario>` and `digitalocean::<scenario>` for each named
/// scenario, a function of the test file taking the `&Cloud` to run on.
#[allow(unused_macros)]
macro_rules! for_each_cloud {
    ($($scenario:ident),* $(,)?) => {
        mod azure {
            $(#[test]
            fn $scenario() {
                super::$scenario(&$crate::support::clouds::AZURE);
            })*
        }
        mod digitalocean {
            $(#[test]
            fn $scenario() {
                super::$scenario(&$crate::support::clouds::DIGITALOCEAN);
            })*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use for_each_cloud;

impl Cloud {
    /// The body of `POST /api/v1/servers` for a server `name` in `scope`.
    pub fn server_spec(&self, account: &str, scope: &str, name: &str) -> String {
        self.server_spec_in(account, scope, name, self.region)
    }

    /// [`Cloud::server_spec`] in `region`.
    pub fn server_spec_in(&self, account: &str, scope: &str, name: &str, region: &str) -> String {
        json!({ "account_id": account, "subscription_id": scope, "region": region, "size": self.size, "name": name, "ssh_public_key": SSH_KEY, "cloud_init": "#cloud-config\npackages: [nginx]\n" }).to_string()
    }

    /// Creates the server `name` and follows its operation to success.
    pub fn provision(&self, p: &Product, account: &str, scope: &str, name: &str) -> Value {
        p.provision_spec(&self.server_spec(account, scope, name), name)
    }

    /// The DNS zones (or domains) the account reaches in `scope`, as the
    /// API lists them.
    pub fn zones(&self, p: &Product, account: &str, scope: &str) -> Vec<Value> {
        let (status, zones) = p.api(
            "GET",
            &format!("/api/v1/accounts/{account}/subscriptions/{scope}/dns/zones"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{zones}");
        zones["zones"].as_array().unwrap().clone()
    }

    /// The store `name` as the API lists the account's stores in `scope`
    /// (with its folders); fails when it is not listed.
    pub fn store(&self, p: &Product, account: &str, scope: &str, name: &str) -> Value {
        let (status, stores) = p.api(
            "GET",
            &format!("/api/v1/accounts/{account}/subscriptions/{scope}/storage/accounts"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{stores}");
        stores["storage_accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not listed: {stores}"))
    }

    /// Chooses the scope's first DNS zone for the organization's domain,
    /// as the console's quick setup does; the domain's name.
    pub fn choose_domain(&self, p: &Product, account: &str, scope: &str) -> String {
        let zones = self.zones(p, account, scope);
        let zone = &zones[0];
        let (status, d) = p.api(
            "POST",
            "/api/v1/dns/domains",
            BOOTSTRAP_KEY,
            &json!({ "account_id": account, "zone_id": zone["id"] }).to_string(),
        );
        assert_eq!(status, 201, "{d}");
        zone["name"].as_str().unwrap().to_string()
    }

    /// Starts a backup storage set-up of a store `name` with the folder
    /// `backups` in `scope`; answers the 202's operation.
    pub fn start_storage(&self, p: &Product, account: &str, scope: &str, name: &str) -> Value {
        p.start_storage(
            account,
            name,
            json!({ "subscription_id": scope, "region": self.storage_region }),
        )
    }
}

/// The product serving both providers, its spin.toml further changed by
/// `edit` (the jobs schedule, say).
pub fn start(edit: impl FnOnce(&str) -> String) -> Product {
    Product::start_with_example_and(World::default(), |m| edit(&with_example(m)))
}

pub const AZURE: Cloud = Cloud {
    name: "Azure",
    region: "eastus",
    other_region: "westus2",
    regions: [
        "eastus",
        "westus2",
        "westeurope",
        "northeurope",
        "southeastasia",
        "australiaeast",
    ],
    size: "Standard_B2s",
    storage_region: "westeurope",
    store_group: true,
    admin_username: "azureuser",
    billed_while_stopped: false,
    mid_provision: ("/publicIPAddresses/", "PUT"),
    oauth: OAuth {
        claim_path: "/api/v1/accounts/azure/claim",
        callback_path: "/oauth/azure/callback",
        start: |p, key| p.start_connect(key, None),
        consent: |p, url| {
            let (status, html, outcome) = p.sign_in(url, USERNAME, "accept");
            assert_eq!(status, 200, "{html}");
            (html, outcome)
        },
        sent_back: |p, url| p.sent_back(url, USERNAME, "accept"),
        connect_expiring: |p| {
            let lifetime = |secs| Command::Settings {
                lro_polls: None,
                registration_polls: None,
                retry_after_secs: None,
                access_token_lifetime_secs: Some(secs),
                page_size: None,
                azurite_url: None,
                refresh_token_idle_secs: None,
            };
            p.sim.command(lifetime(301)).unwrap();
            let id = p.connect(BOOTSTRAP_KEY, USERNAME);
            p.sim.command(lifetime(3599)).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2100));
            id
        },
        refreshes: |p| p.refresh_grants(),
        connect: |p| (p.connect(BOOTSTRAP_KEY, USERNAME), SUBSCRIPTION.into()),
        expire_access_tokens: |p| p.sim.command(Command::ExpireAccessTokens).unwrap(),
        token_path: "/oauth2/v2.0/token",
        reconnect: |p, key, id| p.start_connect(key, Some(id)),
        end_grant: |p| {
            p.sim
                .command(Command::Revoke {
                    user: USERNAME.into(),
                    reason: Revocation::PasswordChange,
                })
                .unwrap();
        },
    },
    connect: |p| (p.connect(BOOTSTRAP_KEY, USERNAME), SUBSCRIPTION.into()),
    fail_next_server: |p, name| {
        p.sim
            .command(Command::FailNextOperation {
                failure: LroFailure {
                    path: format!("virtualMachines/{name}"),
                    code: "AllocationFailed".into(),
                    message: "Allocation failed.".into(),
                },
            })
            .unwrap();
    },
    limit_servers: |p, n| {
        p.sim
            .command(Command::SetQuota {
                subscription: SUBSCRIPTION.into(),
                name: "cores".into(),
                location: Some(AZURE.region.into()),
                limit: 2 * u64::from(n),
            })
            .unwrap();
    },
    has_zone: |p, name| p.sim.inventory().iter().any(|r| r["name"] == name),
    lose_access: |p| {
        p.sim
            .command(Command::Revoke {
                user: USERNAME.into(),
                reason: Revocation::PasswordChange,
            })
            .unwrap();
    },
    lost_because: &["50173", "password"],
    revoke_words: "Enterprise Applications",
    // Refresh tokens by their value; access and ID tokens are JWTs, whose
    // header starts so.
    secrets: |p| {
        let mut all: Vec<String> = p.sim.with_state(|s| s.grants.keys().cloned().collect());
        assert!(!all.is_empty(), "no refresh token was issued");
        all.extend(["eyJ0eXAi".to_string(), "eyJhbGci".to_string()]);
        all
    },
    // Creating a storage account is a long-running operation already.
    slow_storage: |_, _| {},
    fault_matrix: |p| {
        p.sim
            .command(Command::SeedFaults { seed: 20261126 })
            .unwrap();
        for f in [
            fault("/virtualnetworks/", Some(429), false, None, 0.6),
            fault("/publicipaddresses/", Some(503), false, None, 0.3),
            fault("/networkinterfaces/", Some(500), false, None, 0.6),
            fault("/networksecuritygroups/", None, true, None, 0.3),
            fault("/virtualmachines/", None, false, Some(40), 0.5),
            fault("/storageaccounts/", Some(503), false, None, 0.5),
            fault("/dnszones/", Some(429), false, None, 0.3),
        ] {
            p.sim.command(f).unwrap();
        }
    },
    failures_say: "",
    failures_never_say: &[],
    name_servers: (4, "ns1-01.azure-dns.com"),
    has_record: |p, zone, kind, name| {
        let id = format!("{zone}/{kind}/{name}");
        p.sim
            .inventory()
            .iter()
            .any(|r| r["id"].as_str().unwrap_or_default().ends_with(&id))
    },
    // A record set is one PUT, named by type and name.
    throttle_record_writes: |p, zone, name| {
        p.sim
            .command(until_cleared(
                &format!("/dnszones/{zone}/A/{name}"),
                "PUT",
                429,
            ))
            .unwrap();
    },
    storage_blips: |p| {
        p.sim
            .command(once("/listKeys", "POST", Some(503), false))
            .unwrap();
        p.sim
            .command(once("skyport-access-check", "PUT", Some(500), false))
            .unwrap();
        p.sim
            .command(once("skyport-access-check", "GET", None, true))
            .unwrap();
        &["listKeys", "skyport-access-check"]
    },
    probes_left: |p, _| p.sim.with_state(|s| s.blobs.len()),
    take_store_name: |p, name| {
        p.sim
            .with_state(|s| s.world.taken_storage_names.push(name.to_string()))
    },
    unlawful_store_name: ("team-backups", "3–24 lowercase letters and digits"),
    blip_store_creation: |p, name| {
        p.sim
            .command(once(
                &format!("/storageAccounts/{name}"),
                "PUT",
                Some(503),
                false,
            ))
            .unwrap();
    },
    fail_next_folder: |p| {
        p.sim
            .command(once(
                "/blobServices/default/containers/",
                "PUT",
                Some(400),
                false,
            ))
            .unwrap();
    },
    holds_store: |p, name| {
        p.sim.inventory().iter().any(|r| {
            r["type"] == "Microsoft.Storage/storageAccounts"
                && r["name"] == name
                && r["provisioningState"] != "Deleting"
        })
    },
    lock_out_storage: |p, _, locked| p.set_storage_network(if locked { "Deny" } else { "Allow" }),
    locked_out: LockedOut {
        status: "access_denied",
        reason: "Storage access denied",
        remedy: "allow all networks",
        event: "storage.access_denied",
    },
    remove_store: |p, name| {
        let kept = p.sim.with_state(|s| {
            let key = s
                .resources
                .iter()
                .find(|(_, r)| {
                    r.kind == "Microsoft.Storage/storageAccounts" && r.body["name"] == name
                })
                .map(|(k, _)| k.clone())
                .unwrap();
            s.resources.remove(&key).map(|r| (key, r)).unwrap()
        });
        Box::new(move |p| {
            p.sim.with_state(|s| {
                s.resources.insert(kept.0, kept.1);
            })
        })
    },
    lift_limits: |p| {
        for name in ["cores", "virtualMachines", "standardBSFamily"] {
            p.sim
                .command(Command::SetQuota {
                    subscription: SUBSCRIPTION.into(),
                    name: name.into(),
                    location: None,
                    limit: 1000,
                })
                .unwrap();
        }
    },
    servers: |p| p.count("Microsoft.Compute/virtualMachines"),
    holds_only: |p, servers| {
        for kind in [
            "Microsoft.Compute/virtualMachines",
            "Microsoft.Network/publicIPAddresses",
            "Microsoft.Network/networkInterfaces",
        ] {
            let owners: Vec<String> = p
                .sim
                .inventory()
                .iter()
                .filter(|r| r["type"] == kind && r["provisioningState"] != "Deleting")
                .map(|r| {
                    r["tags"]["skyport-server"]
                        .as_str()
                        .unwrap_or("none")
                        .to_string()
                })
                .collect();
            let distinct: BTreeSet<&str> = owners.iter().map(String::as_str).collect();
            assert_eq!(
                (distinct.len(), owners.len()),
                (servers.len(), servers.len()),
                "one {kind} per server, none made twice: {owners:?}"
            );
            assert!(
                distinct.iter().all(|o| servers.contains(o)),
                "{kind} no server owns: {owners:?}"
            );
        }
    },
    written: |p| {
        p.sim
            .inventory()
            .iter()
            .filter(|r| {
                r["type"] == "resourceGroups"
                    && r["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                        .contains("/resourcegroups/skyport-")
            })
            .count()
    },
};

/// How many of `kind` the seed team holds, asked as its owner would.
fn held(p: &Product, kind: &str) -> usize {
    p.digitalocean("GET", &format!("/v2/{kind}"), None)["meta"]["total"]
        .as_u64()
        .unwrap_or_default() as usize
}

/// A fault on the next request whose path holds `path` (and of `method`):
/// `status`, or a dropped connection.
fn once(path: &str, method: &str, status: Option<u16>, drop_connection: bool) -> Command {
    times(1, path, method, status, drop_connection)
}

/// [`once`], for the next `n` such requests.
fn times(n: u32, path: &str, method: &str, status: Option<u16>, drop_connection: bool) -> Command {
    Command::AddFault {
        fault: Fault {
            path: path.into(),
            method: Some(method.into()),
            status,
            count: Some(n),
            probability: None,
            latency_ms: None,
            drop_connection,
            retry_after: None,
        },
    }
}

/// A fault on every request whose path holds `path` (and of `method`),
/// answered `status` (with a retry at once, where the status asks for
/// one) until the test clears the faults.
fn until_cleared(path: &str, method: &str, status: u16) -> Command {
    Command::AddFault {
        fault: Fault {
            path: path.into(),
            method: Some(method.into()),
            status: Some(status),
            count: None,
            probability: None,
            latency_ms: None,
            drop_connection: false,
            retry_after: Some(0),
        },
    }
}

/// The seed team signed in by OAuth and claimed: the account's id.
fn digitalocean_oauth_account(p: &Product) -> String {
    let (html, outcome) = p.sign_in_digitalocean(None, SEED_TEAM, "authorize");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, v) = p.claim_digitalocean(&html);
    assert_eq!(status, 201, "{v}");
    v["account"]["id"].as_str().unwrap().to_string()
}

pub const DIGITALOCEAN: Cloud = Cloud {
    name: "DigitalOcean",
    region: "nyc3",
    other_region: "ams3",
    regions: ["nyc1", "nyc3", "ams3", "sfo3", "lon1", "fra1"],
    size: "s-2vcpu-2gb",
    storage_region: "nyc3",
    store_group: false,
    admin_username: "root",
    billed_while_stopped: true,
    mid_provision: ("/v2/firewalls", "POST"),
    oauth: OAuth {
        claim_path: "/api/v1/accounts/digitalocean/claim",
        callback_path: "/oauth/digitalocean/callback",
        start: |p, key| p.start_connect_digitalocean(key, None),
        consent: |p, url| p.authorize_digitalocean(url, SEED_TEAM, "authorize"),
        sent_back: |p, url| p.sent_back_by_digitalocean(url, SEED_TEAM, "authorize"),
        connect_expiring: |p| {
            let lifetime = |secs| Command::DigitalOceanSettings {
                action_polls: None,
                rate_limit: None,
                oauth_token_seconds: Some(secs),
            };
            p.sim.command(lifetime(301)).unwrap();
            let id = digitalocean_oauth_account(p);
            p.sim.command(lifetime(3600)).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2100));
            id
        },
        // DigitalOcean rotates the refresh token at each use, so two
        // refreshes at once would leave one holding a dead token.
        refreshes: |p| {
            p.sim
                .requests()
                .iter()
                .filter(|r| r.path.starts_with("/v1/oauth/token"))
                .filter(|r| r.grant.as_deref() == Some("refresh_token") && r.status == 200)
                .count()
        },
        connect: |p| (digitalocean_oauth_account(p), SEED_TEAM.into()),
        expire_access_tokens: |p| {
            p.sim
                .command(Command::ExpireDigitalOceanAccessTokens {
                    team: SEED_TEAM.into(),
                })
                .unwrap();
        },
        token_path: "/v1/oauth/token",
        reconnect: |p, key, id| p.start_connect_digitalocean(key, Some(id)),
        end_grant: |p| {
            p.sim
                .command(Command::RevokeDigitalOceanGrants {
                    team: SEED_TEAM.into(),
                })
                .unwrap();
        },
    },
    connect: |p| {
        (
            p.connect_digitalocean()["id"].as_str().unwrap().to_string(),
            SEED_TEAM.into(),
        )
    },
    // DigitalOcean refuses a droplet it cannot place with a 422, for good.
    fail_next_server: |p, _| {
        p.sim
            .command(once("/v2/droplets", "POST", Some(422), false))
            .unwrap();
    },
    limit_servers: |p, n| {
        p.sim.with_state(|s| {
            for t in s.world.digitalocean.teams.iter_mut() {
                // Each server takes a droplet and a reserved IP, and the
                // team's limits bound both (three reserved IPs unless raised).
                if t.uuid == SEED_TEAM {
                    t.droplet_limit = n;
                    t.reserved_ip_limit = n;
                }
            }
        })
    },
    has_zone: |p, name| {
        p.digitalocean("GET", "/v2/domains", None)["domains"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["name"] == name))
    },
    lose_access: |p| {
        p.sim
            .command(Command::RevokeDigitalOceanToken {
                token: SEED_TOKEN.into(),
            })
            .unwrap();
    },
    lost_because: &["token"],
    revoke_words: "API › Tokens",
    // The team's token and every OAuth token issued.
    secrets: |p| {
        let mut all = vec![SEED_TOKEN.to_string()];
        p.sim.with_state(|s| {
            for g in s.digitalocean.oauth_grants.values() {
                all.extend([g.access_token.clone(), g.refresh_token.clone()]);
            }
        });
        all
    },
    // A bucket is made at once; its folder's first writes answer 503 as
    // often as the plugin tries at once (three), so the set-up waits and
    // retries in a later poll.
    // Two reservations refused outright, first (the emulator applies the
    // first rule a request matches): those creations fail, and their undo
    // must take away the droplet, firewall and key they made.
    fault_matrix: |p| {
        p.sim
            .command(Command::SeedFaults { seed: 20261128 })
            .unwrap();
        p.sim
            .command(times(2, "/v2/reserved_ips", "POST", Some(422), false))
            .unwrap();
        for f in [
            fault("/v2/droplets", Some(429), false, None, 0.2),
            fault("/v2/actions/", None, true, None, 0.15),
            fault("/v2/account/keys", Some(500), false, None, 0.2),
            fault("/v2/firewalls", Some(429), false, None, 0.25),
            fault("/v2/reserved_ips", Some(503), false, None, 0.25),
            fault("/v2/tags", None, false, Some(40), 0.5),
            fault("/v2/domains/", Some(429), false, None, 0.2),
            fault("/v2/spaces/keys", Some(503), false, None, 0.3),
            fault("/_spaces/", Some(500), false, None, 0.2),
        ] {
            p.sim.command(f).unwrap();
        }
    },
    failures_say: "Droplet creation failed",
    // In DigitalOcean's words: droplets and teams, not Azure's.
    failures_never_say: &["VM", "subscription"],
    name_servers: (3, "ns1.digitalocean.com"),
    // DigitalOcean's records filter takes the fully qualified name.
    has_record: |p, zone, kind, name| {
        let fqdn = if name == "@" {
            zone.to_string()
        } else {
            format!("{name}.{zone}")
        };
        let v = p.digitalocean(
            "GET",
            &format!("/v2/domains/{zone}/records?type={kind}&name={fqdn}"),
            None,
        );
        !v["domain_records"].as_array().unwrap().is_empty()
    },
    // A new record is a POST to the domain's records, whatever its name.
    throttle_record_writes: |p, zone, _| {
        p.sim
            .command(until_cleared(
                &format!("/v2/domains/{zone}/records"),
                "POST",
                429,
            ))
            .unwrap();
    },
    // Spaces keys are made for each call; the probe is an object.
    storage_blips: |p| {
        p.sim
            .command(once("/v2/spaces/keys", "POST", Some(503), false))
            .unwrap();
        p.sim
            .command(once("skyport-probe", "PUT", Some(500), false))
            .unwrap();
        p.sim
            .command(once("skyport-probe", "GET", None, true))
            .unwrap();
        &["/v2/spaces/keys", "skyport-probe"]
    },
    probes_left: |p, name| {
        p.sim.with_state(|s| {
            s.digitalocean.objects.get(name).map_or(0, |o| {
                o.keys().filter(|k| k.contains("skyport-probe")).count()
            })
        })
    },
    // Bucket names are one namespace across every team.
    take_store_name: |p, name| {
        p.sim.with_state(|s| {
            s.digitalocean.buckets.insert(
                name.to_string(),
                sim::digitalocean::store::Bucket {
                    name: name.to_string(),
                    team: "0f4f3b8e-6c1f-4b0a-9a57-2d4d1f0e7c11".into(),
                    region: "nyc3".into(),
                    created_at: "2026-01-01T00:00:00Z".into(),
                },
            );
        })
    },
    unlawful_store_name: ("two--hyphens", "single hyphens"),
    // Every Spaces call begins by making its key.
    blip_store_creation: |p, _| {
        p.sim
            .command(once("/v2/spaces/keys", "POST", Some(503), false))
            .unwrap();
    },
    // A folder is an empty marker object (`backups/`).
    fail_next_folder: |p| {
        p.sim
            .command(once("/backups/", "PUT", Some(400), false))
            .unwrap();
    },
    holds_store: |p, name| {
        p.sim
            .with_state(|s| s.digitalocean.buckets.contains_key(name))
    },
    // A Space that refuses writes into its folder (a bucket policy, say):
    // S3's AccessDenied, which fails the check in DigitalOcean's words.
    lock_out_storage: |p, name, locked| {
        let command = if locked {
            until_cleared(&format!("/{name}/backups/skyport-probe"), "PUT", 403)
        } else {
            Command::ClearFaults
        };
        p.sim.command(command).unwrap();
    },
    locked_out: LockedOut {
        status: "check_failed",
        reason: "The access check failed",
        remedy: "Spaces Object Storage",
        event: "storage.check_failed",
    },
    remove_store: |p, name| {
        let kept = p.sim.with_state(|s| {
            let d = &mut s.digitalocean;
            (d.buckets.remove(name).unwrap(), d.objects.remove(name))
        });
        let name = name.to_string();
        Box::new(move |p| {
            p.sim.with_state(|s| {
                let d = &mut s.digitalocean;
                d.buckets.insert(name.clone(), kept.0);
                if let Some(objects) = kept.1 {
                    d.objects.insert(name, objects);
                }
            })
        })
    },
    slow_storage: |p, name| {
        p.sim
            .command(times(
                3,
                &format!("/{name}/backups"),
                "PUT",
                Some(503),
                false,
            ))
            .unwrap();
    },
    lift_limits: |p| (DIGITALOCEAN.limit_servers)(p, 1000),
    servers: |p| held(p, "droplets"),
    holds_only: |p, servers| {
        p.digitalocean_holds_only(servers);
    },
    written: |p| {
        held(p, "droplets")
            + held(p, "firewalls")
            + held(p, "reserved_ips")
            + p.digitalocean("GET", "/v2/account/keys", None)["ssh_keys"]
                .as_array()
                .map_or(0, |k| {
                    k.iter()
                        .filter(|k| {
                            k["name"]
                                .as_str()
                                .is_some_and(|n| n.starts_with("skyport-"))
                        })
                        .count()
                })
    },
};
