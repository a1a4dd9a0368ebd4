//! The DigitalOcean part of the world's seed: the teams whose personal
//! access tokens the API accepts, the domains they start with, the OAuth
//! applications that may ask a team for access, and the knobs of its
//! behaviour. It lives
//! in [`crate::World`] (its `digitalocean` section) beside the Azure seed.

use serde::{Deserialize, Serialize};

/// The default world's one personal access token. DigitalOcean prefixes
/// personal access tokens with `dop_v1_` (OAuth ones `doo_v1_`) followed by
/// 64 lowercase hex digits.
pub const SEED_TOKEN: &str =
    "dop_v1_201c43f8c5e6cd2550f0987d63ca778f706fc6b645c698912f16f3a281fdac90";

/// The default world's team (DigitalOcean writes these uuids as 40 hex digits).
pub const SEED_TEAM: &str = "a29f554f9dd6b4e35b7b17f2bdbb9467cd857347";

/// The email of the default team's account.
pub const SEED_EMAIL: &str = "sammy@example.com";

/// The default team's domain, with DigitalOcean's NS and SOA records and an
/// A record for its apex (`@` → 203.0.113.10).
pub const SEED_DOMAIN: &str = "sammy-apps.com";

/// The client id of the default world's OAuth application ("Skyport").
/// DigitalOcean shows client ids and secrets as 64 lowercase hex digits.
pub const SEED_CLIENT_ID: &str = "f68d37d1d50d8df0de8e869d5d4a2201e15d11e9b71b4f9c632f9a60c85815bd";

/// The client secret of the default world's OAuth application.
pub const SEED_CLIENT_SECRET: &str =
    "48f0293e333e406386869ea0cc6059d3cb9c11f62e3bc9adda9e82b8360e0cd1";

/// An OAuth application registered with DigitalOcean (API › Applications in
/// the control panel): who may send a user to `/v1/oauth/authorize`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthApp {
    /// Shown on the authorization page.
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Callback URLs, each matched exactly (port and path), as DigitalOcean
    /// matches the one an application registered; a test registers its
    /// host's with `add_redirect_uri`.
    pub redirect_uris: Vec<String>,
}

/// A team (an account's context): who the tokens speak for and its limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// The team's uuid; a fresh one when left out.
    #[serde(default = "new_team_uuid")]
    pub uuid: String,
    pub name: String,
    /// The email of the account the tokens belong to.
    pub email: String,
    /// How many Droplets the team may have at once (`account.droplet_limit`).
    #[serde(default = "droplet_limit")]
    pub droplet_limit: u32,
    /// How many reserved IPs the team may hold at once
    /// (`account.floating_ip_limit`). DigitalOcean allows three per account
    /// unless more are asked for; absent from worlds written before reserved
    /// IPs, which get that default.
    #[serde(default = "reserved_ip_limit")]
    pub reserved_ip_limit: u32,
    /// Personal access tokens that authenticate as this team.
    pub tokens: Vec<String>,
    /// Domains the team starts with, each made as `POST /v2/domains` with
    /// an `ip_address` would make it (see `domains::seed`).
    #[serde(default)]
    pub domains: Vec<String>,
}

fn new_team_uuid() -> String {
    let tail = uuid::Uuid::new_v4().simple().to_string();
    format!("{}{}", uuid::Uuid::new_v4().simple(), &tail[..8])
}

fn droplet_limit() -> u32 {
    25
}

fn reserved_ip_limit() -> u32 {
    3
}

/// The seed of the DigitalOcean API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// How many reads (of the action, or of its Droplet) an action stays
    /// `in-progress` before it completes; 0 completes it at once. Reads, not
    /// time, so tests are fast and deterministic — as `lro_polls` is for ARM.
    #[serde(default = "two")]
    pub action_polls: u32,
    /// Requests per token per hour (`ratelimit-limit`).
    #[serde(default = "hourly")]
    pub rate_limit: u32,
    /// How long an OAuth access token lives (`expires_in`): DigitalOcean's
    /// are good for 30 days.
    #[serde(default = "thirty_days")]
    pub oauth_token_seconds: i64,
    /// Where a real S3 implementation (moto's server mode) keeps the
    /// Spaces buckets' objects, e.g. `http://127.0.0.1:41235`; absent, the
    /// emulator keeps them in memory. The emulator checks every request
    /// (signature, grants, which team owns a bucket) either way.
    #[serde(default)]
    pub moto_url: Option<String>,
    #[serde(default = "seed_teams")]
    pub teams: Vec<Team>,
    /// Registered OAuth applications; by default Skyport's
    /// ([`SEED_CLIENT_ID`]).
    #[serde(default = "seed_apps")]
    pub apps: Vec<OAuthApp>,
}

fn two() -> u32 {
    2
}

fn hourly() -> u32 {
    5000
}

fn thirty_days() -> i64 {
    30 * 24 * 3600
}

fn seed_apps() -> Vec<OAuthApp> {
    vec![OAuthApp {
        name: "Skyport".into(),
        client_id: SEED_CLIENT_ID.into(),
        client_secret: SEED_CLIENT_SECRET.into(),
        redirect_uris: vec![
            "http://127.0.0.1/oauth/digitalocean/callback".into(),
            "http://localhost/oauth/digitalocean/callback".into(),
        ],
    }]
}

fn seed_teams() -> Vec<Team> {
    vec![Team {
        uuid: SEED_TEAM.into(),
        name: "Example Team".into(),
        email: SEED_EMAIL.into(),
        droplet_limit: droplet_limit(),
        reserved_ip_limit: reserved_ip_limit(),
        tokens: vec![SEED_TOKEN.into()],
        domains: vec![SEED_DOMAIN.into()],
    }]
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            action_polls: two(),
            rate_limit: hourly(),
            oauth_token_seconds: thirty_days(),
            moto_url: None,
            teams: seed_teams(),
            apps: seed_apps(),
        }
    }
}

impl Seed {
    /// The team a token authenticates as.
    pub fn team_of(&self, token: &str) -> Option<&Team> {
        self.teams
            .iter()
            .find(|t| t.tokens.iter().any(|k| k == token))
    }

    pub fn team(&self, uuid: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.uuid == uuid)
    }

    /// The OAuth application with this client id.
    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// No token speaks for two teams, and none is empty; every domain is a
    /// domain name, held by one team only; every OAuth application has a
    /// client id of its own, a secret and a redirect URI.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for a in &self.apps {
            if a.client_id.is_empty() || a.client_secret.is_empty() {
                return Err(format!(
                    "OAuth application `{}` needs a client id and a secret",
                    a.name
                ));
            }
            if a.redirect_uris.is_empty() {
                return Err(format!(
                    "OAuth application `{}` has no redirect URI",
                    a.name
                ));
            }
            if !ids.insert(a.client_id.as_str()) {
                return Err(format!(
                    "client id `{}` is given to two OAuth applications",
                    a.client_id
                ));
            }
        }
        if self.oauth_token_seconds < 1 {
            return Err("oauth_token_seconds must be at least 1".into());
        }
        let mut seen = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for t in &self.teams {
            for d in &t.domains {
                if !super::domains::valid_domain(d) {
                    return Err(format!("team `{}`: `{d}` is not a domain name", t.name));
                }
                if !names.insert(d.to_ascii_lowercase()) {
                    return Err(format!("domain `{d}` is given to two teams"));
                }
            }
            for k in &t.tokens {
                if k.is_empty() {
                    return Err(format!("team `{}` has an empty token", t.name));
                }
                if !seen.insert(k.as_str()) {
                    return Err(format!("a token of team `{}` is used twice", t.name));
                }
            }
        }
        Ok(())
    }
}
