//! The seed of the emulated world: tenants, users, app registrations,
//! subscriptions, role assignments, provider registration, quotas, SKU
//! restrictions and DNS zones — and DigitalOcean's teams and tokens — read
//! from a TOML file or built by default.
//!
//! The default world is what `skyport sim` and `skyport up --sandbox` start
//! with: one tenant, one user who owns one enabled subscription with Compute,
//! Storage and Network registered, the guide's six regions and one DNS zone;
//! and one DigitalOcean team whose token is [`crate::digitalocean::SEED_TOKEN`],
//! with one OAuth application, Skyport's ([`crate::digitalocean::SEED_CLIENT_ID`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Roles the emulator knows, with their built-in role definition ids.
pub const ROLES: &[(&str, &str)] = &[
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
];

/// The resource providers Skyport needs.
pub const PROVIDERS: &[&str] = &[
    "Microsoft.Compute",
    "Microsoft.Network",
    "Microsoft.Storage",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub domain: String,
    /// Users may not consent to apps themselves; an admin must (AADSTS90094).
    #[serde(default)]
    pub admin_consent_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The object id (`oid`).
    pub id: String,
    pub name: String,
    /// The sign-in name, e.g. `ada@contoso.onmicrosoft.com`.
    pub username: String,
    /// The home tenant.
    pub tenant: String,
    /// Tenants the user is a guest in.
    #[serde(default)]
    pub guest_of: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub client_id: String,
    pub name: String,
    /// Empty for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Multi-tenant apps may use `/common` and `/organizations`.
    #[serde(default = "yes")]
    pub multi_tenant: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// `cores`, `virtualMachines`, or a family such as `standardBSFamily`.
    pub name: String,
    /// A region, or `*` for every region.
    #[serde(default = "any")]
    pub location: String,
    pub limit: u64,
}

fn any() -> String {
    "*".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuRestriction {
    pub size: String,
    pub locations: Vec<String>,
    #[serde(default = "not_available")]
    pub reason: String,
}

fn not_available() -> String {
    "NotAvailableForSubscription".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub tenant: String,
    /// Enabled, Warned, PastDue, Disabled or Deleted.
    #[serde(default = "enabled")]
    pub state: String,
    /// Namespace → registration state; a missing namespace is NotRegistered.
    #[serde(default)]
    pub providers: BTreeMap<String, String>,
    #[serde(default)]
    pub quotas: Vec<Quota>,
    #[serde(default)]
    pub sku_restrictions: Vec<SkuRestriction>,
}

fn enabled() -> String {
    "Enabled".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    /// A user id or username.
    pub user: String,
    pub subscription: String,
    /// Owner, Contributor or Reader.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsZone {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    #[serde(default = "westeurope")]
    pub resource_group_location: String,
}

fn westeurope() -> String {
    "westeurope".into()
}

/// Knobs of the world's behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of access tokens, in seconds (`expires_in`).
    #[serde(default = "hour")]
    pub access_token_lifetime_secs: i64,
    /// How many polls a long-running operation stays InProgress.
    #[serde(default = "two")]
    pub lro_polls: u32,
    /// How many polls a provider stays Registering.
    #[serde(default = "two")]
    pub registration_polls: u32,
    /// The `Retry-After` the emulator advertises, in seconds.
    #[serde(default)]
    pub retry_after_secs: u32,
    /// Items per page of list responses (`nextLink` beyond).
    #[serde(default = "page")]
    pub page_size: usize,
    /// A running Azurite's blob endpoint (`http://127.0.0.1:10000`), which the
    /// blob front door forwards to; without it blobs are kept in memory.
    #[serde(default)]
    pub azurite_url: Option<String>,
    /// How long a refresh token may go unused before it dies (AADSTS700082);
    /// Entra's default is 90 days.
    #[serde(default = "ninety_days")]
    pub refresh_token_idle_secs: i64,
}

fn hour() -> i64 {
    3599
}
fn ninety_days() -> i64 {
    90 * 24 * 3600
}
fn two() -> u32 {
    2
}
fn page() -> usize {
    50
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            access_token_lifetime_secs: hour(),
            lro_polls: two(),
            registration_polls: two(),
            retry_after_secs: 0,
            page_size: page(),
            azurite_url: None,
            refresh_token_idle_secs: ninety_days(),
        }
    }
}

/// The whole seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub apps: Vec<App>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    #[serde(default)]
    pub dns_zones: Vec<DnsZone>,
    /// Storage account names that exist elsewhere in Azure (taken).
    #[serde(default)]
    pub taken_storage_names: Vec<String>,
    #[serde(default)]
    pub settings: Settings,
    /// The DigitalOcean API's teams, tokens and knobs; a world file without
    /// the section gets the default team.
    #[serde(default)]
    pub digitalocean: crate::digitalocean::Seed,
}

/// Ids of the default world, for tests and documentation.
pub mod defaults {
    pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    pub const USER: &str = "3f1c0f4a-6b9e-4d52-9b3a-51d2a7c9e001";
    pub const USERNAME: &str = "ada@contoso.onmicrosoft.com";
    pub const SUBSCRIPTION: &str = "8d2c1e44-1f3b-4c55-a3f2-6c1b9a0e7d10";
    pub const CLIENT_ID: &str = "5b7e4c1d-2a9f-4e83-b6d0-9c3f1a2e8b47";
    pub const CLIENT_SECRET: &str = "sim-secret~Sk7.Qp2vL9xR4tW8yZ1";
    pub const DNS_ZONE: &str = "contoso-apps.com";
    pub const DNS_RESOURCE_GROUP: &str = "dns";
}

/// A region: name, display name, geography, physical location, latitude, longitude, paired region.
pub struct Region {
    pub name: &'static str,
    pub display: &'static str,
    pub geography: &'static str,
    pub physical: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
    pub paired: &'static str,
}

const fn region(
    name: &'static str,
    display: &'static str,
    geography: &'static str,
    physical: &'static str,
    latitude: &'static str,
    longitude: &'static str,
    paired: &'static str,
) -> Region {
    Region {
        name,
        display,
        geography,
        physical,
        latitude,
        longitude,
        paired,
    }
}

/// The guide's six regions first, then others the emulator offers.
pub const REGIONS: &[Region] = &[
    region(
        "eastus", "East US", "US", "Virginia", "37.3719", "-79.8164", "westus",
    ),
    region(
        "westus2",
        "West US 2",
        "US",
        "Washington",
        "47.233",
        "-119.852",
        "westcentralus",
    ),
    region(
        "westeurope",
        "West Europe",
        "Europe",
        "Netherlands",
        "52.3667",
        "4.9",
        "northeurope",
    ),
    region(
        "northeurope",
        "North Europe",
        "Europe",
        "Ireland",
        "53.3478",
        "-6.2597",
        "westeurope",
    ),
    region(
        "southeastasia",
        "Southeast Asia",
        "Asia Pacific",
        "Singapore",
        "1.283",
        "103.833",
        "eastasia",
    ),
    region(
        "australiaeast",
        "Australia East",
        "Asia Pacific",
        "New South Wales",
        "-33.86",
        "151.2094",
        "australiasoutheast",
    ),
    region(
        "westus",
        "West US",
        "US",
        "California",
        "37.783",
        "-122.417",
        "eastus",
    ),
    region(
        "centralus",
        "Central US",
        "US",
        "Iowa",
        "41.5908",
        "-93.6208",
        "eastus2",
    ),
    region(
        "uksouth", "UK South", "Europe", "London", "50.941", "-0.799", "ukwest",
    ),
    region(
        "japaneast",
        "Japan East",
        "Asia Pacific",
        "Tokyo, Saitama",
        "35.68",
        "139.77",
        "japanwest",
    ),
];

/// Whether `name` is a region the emulator offers.
pub fn is_region(name: &str) -> bool {
    REGIONS.iter().any(|r| r.name == name)
}

/// Region names, comma-separated, for error messages.
pub fn region_list() -> String {
    REGIONS.iter().map(|r| r.name).collect::<Vec<_>>().join(",")
}

/// A VM size the emulator offers: name, family, vCPUs, memory GiB, Linux $/hour in eastus.
pub const VM_SIZES: &[(&str, &str, u64, f64, f64)] = &[
    ("Standard_B1s", "standardBSFamily", 1, 1.0, 0.0104),
    ("Standard_B1ms", "standardBSFamily", 1, 2.0, 0.0207),
    ("Standard_B2s", "standardBSFamily", 2, 4.0, 0.0416),
    ("Standard_B2ms", "standardBSFamily", 2, 8.0, 0.0832),
    ("Standard_B4ms", "standardBSFamily", 4, 16.0, 0.166),
    ("Standard_D2s_v5", "standardDSv5Family", 2, 8.0, 0.096),
    ("Standard_D4s_v5", "standardDSv5Family", 4, 16.0, 0.192),
    ("Standard_F2s_v2", "standardFSv2Family", 2, 4.0, 0.0846),
    ("Standard_D1_v2", "standardDv2Family", 1, 3.5, 0.057),
];

impl Default for World {
    fn default() -> Self {
        use defaults::*;
        let registered = super::world::PROVIDERS
            .iter()
            .map(|p| (p.to_string(), "Registered".to_string()))
            .collect();
        World {
            tenants: vec![Tenant {
                id: TENANT.into(),
                name: "Contoso".into(),
                domain: "contoso.onmicrosoft.com".into(),
                admin_consent_required: false,
            }],
            users: vec![User {
                id: USER.into(),
                name: "Ada Lovelace".into(),
                username: USERNAME.into(),
                tenant: TENANT.into(),
                guest_of: vec![],
            }],
            apps: vec![App {
                client_id: CLIENT_ID.into(),
                name: "Skyport".into(),
                client_secret: Some(CLIENT_SECRET.into()),
                redirect_uris: vec![
                    "http://localhost:3000/oauth/azure/callback".into(),
                    "http://127.0.0.1:3000/oauth/azure/callback".into(),
                ],
                multi_tenant: true,
            }],
            subscriptions: vec![Subscription {
                id: SUBSCRIPTION.into(),
                name: "Contoso Production".into(),
                tenant: TENANT.into(),
                state: "Enabled".into(),
                providers: registered,
                quotas: vec![
                    Quota {
                        name: "cores".into(),
                        location: "*".into(),
                        limit: 20,
                    },
                    Quota {
                        name: "virtualMachines".into(),
                        location: "*".into(),
                        limit: 25,
                    },
                    Quota {
                        name: "standardBSFamily".into(),
                        location: "*".into(),
                        limit: 10,
                    },
                    Quota {
                        name: "standardDSv5Family".into(),
                        location: "*".into(),
                        limit: 10,
                    },
                    Quota {
                        name: "standardFSv2Family".into(),
                        location: "*".into(),
                        limit: 10,
                    },
                    Quota {
                        name: "standardDv2Family".into(),
                        location: "*".into(),
                        limit: 10,
                    },
                ],
                sku_restrictions: vec![],
            }],
            role_assignments: vec![RoleAssignment {
                user: USER.into(),
                subscription: SUBSCRIPTION.into(),
                role: "Owner".into(),
            }],
            dns_zones: vec![DnsZone {
                subscription: SUBSCRIPTION.into(),
                resource_group: DNS_RESOURCE_GROUP.into(),
                name: DNS_ZONE.into(),
                resource_group_location: "westeurope".into(),
            }],
            taken_storage_names: vec!["contoso".into(), "backups".into()],
            settings: Settings::default(),
            digitalocean: Default::default(),
        }
    }
}

impl World {
    /// Reads a world file; missing sections keep their empty defaults.
    pub fn from_toml(text: &str) -> Result<World, String> {
        let w: World = toml::from_str(text).map_err(|e| e.to_string())?;
        w.check()?;
        Ok(w)
    }

    /// Cross-references: every user, subscription and assignment points at
    /// something that exists; no DigitalOcean token speaks for two teams.
    pub fn check(&self) -> Result<(), String> {
        self.digitalocean.check()?;
        let tenant = |id: &str| self.tenants.iter().any(|t| t.id == id);
        for u in &self.users {
            if !tenant(&u.tenant) {
                return Err(format!(
                    "user `{}` names unknown tenant `{}`",
                    u.username, u.tenant
                ));
            }
        }
        for s in &self.subscriptions {
            if !tenant(&s.tenant) {
                return Err(format!(
                    "subscription `{}` names unknown tenant `{}`",
                    s.id, s.tenant
                ));
            }
        }
        for r in &self.role_assignments {
            if !ROLES.iter().any(|(n, _)| *n == r.role) {
                return Err(format!(
                    "role `{}` is not Owner, Contributor or Reader",
                    r.role
                ));
            }
            if !self
                .users
                .iter()
                .any(|u| u.id == r.user || u.username == r.user)
            {
                return Err(format!("role assignment names unknown user `{}`", r.user));
            }
            if !self.subscriptions.iter().any(|s| s.id == r.subscription) {
                return Err(format!(
                    "role assignment names unknown subscription `{}`",
                    r.subscription
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_is_consistent() {
        World::default().check().unwrap();
    }

    #[test]
    fn world_file_round_trips() {
        let text = toml::to_string(&World::default()).unwrap();
        let w = World::from_toml(&text).unwrap();
        assert_eq!(
            w.subscriptions[0].providers["Microsoft.Compute"],
            "Registered"
        );
    }

    #[test]
    fn dangling_references_are_refused() {
        let mut w = World::default();
        w.role_assignments[0].user = "nobody".into();
        assert!(w.check().unwrap_err().contains("nobody"));
    }
}
