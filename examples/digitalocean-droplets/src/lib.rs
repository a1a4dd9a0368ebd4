//! An example provider plugin: DigitalOcean, signed in by a personal access
//! token, offering servers (droplets) and nothing else. `lib.rs` answers
//! the contract's sign-in and account questions and `ops.rs` runs creating,
//! deleting, powering and resizing a droplet as resumable steps; the API
//! itself is spoken by the `digitalocean-api` client crate.
//!
//! It is what a third party writes to add a provider: one component that
//! spin.toml gives the provider-neutral functions as their dependencies. It
//! holds no state; every call brings the API's base and the token.

mod ops;
#[cfg(not(feature = "contract-0-2-0"))]
mod prices;

pub(crate) use digitalocean_api as api;

#[cfg(not(feature = "contract-0-2-0"))]
wit_bindgen::generate!({
    path: "../../wit",
    inline: "
        package example:digitalocean-droplets;

        world plugin {
            export skyport:api-token/api-token@0.2.0;
            export skyport:identity/identity@0.2.0;
            export skyport:account/scopes@0.2.1;
            export skyport:compute/compute@0.2.1;
            export skyport:prices/prices@0.1.1;
            export skyport:prices/account-prices@0.1.1;
        }
    ",
    world: "example:digitalocean-droplets/plugin",
    generate_all,
    with: { "skyport:types/types@0.2.0": digitalocean_api::types },
});

/// The compute interface this build exports.
#[cfg(not(feature = "contract-0-2-0"))]
use exports::skyport::compute::compute;

// The same plugin as one built against the 0.2.0 contract: it exports
// `skyport:compute/compute@0.2.0` (no power or resize) and
// `skyport:account/account@0.2.0` (no scopes) and
// `skyport:prices/prices@0.1.0` (no account prices), from the released
// interfaces kept in wit/released. The contract's tests build it so to
// prove that such a plugin keeps working (through the adapters).
#[cfg(feature = "contract-0-2-0")]
wit_bindgen::generate!({
    path: [
        "../../wit",
        "../../wit/released/account-0.2.0",
        "../../wit/released/compute-0.2.0",
        "../../wit/released/prices-0.1.0",
    ],
    inline: "
        package example:digitalocean-droplets;

        world plugin {
            export skyport:api-token/api-token@0.2.0;
            export skyport:identity/identity@0.2.0;
            export skyport:account/account@0.2.0;
            export skyport:compute/compute@0.2.0;
            export skyport:prices/prices@0.1.0;
        }
    ",
    world: "example:digitalocean-droplets/plugin",
    generate_all,
    with: { "skyport:types/types@0.2.0": digitalocean_api::types },
});

#[cfg(feature = "contract-0-2-0")]
use exports::skyport::compute0_2_0::compute;

use digitalocean_api::types::{Capability, Cloud, Error, Session};
#[cfg(not(feature = "contract-0-2-0"))]
use exports::skyport::account::scopes;
#[cfg(feature = "contract-0-2-0")]
use exports::skyport::account0_2_0::account;
use exports::skyport::api_token::api_token::{self, Owner};
use exports::skyport::identity::identity::{
    self, CallbackOutcome, OauthEndpoints, Principal, TokenOutcome,
};
#[cfg(feature = "contract-0-2-0")]
use exports::skyport::prices0_1_0::prices::{self, Item, Rate};

struct Plugin;

export!(Plugin);

/// DigitalOcean's personal access tokens: `dop_v1_` and 64 hexadecimal digits.
fn check_format(token: &str) -> Result<(), String> {
    let hex = token.strip_prefix("dop_v1_");
    match hex {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err("That is not a DigitalOcean personal access token: one starts with dop_v1_ followed by 64 hexadecimal characters (API › Tokens › Generate New Token, with read and write scope).".into()),
    }
}

/// The team as the contract's owner. A token acts for its team whoever
/// made it, so the team is the owner's user too: the same team connected by
/// token and by sign-in (whose token names no user) is one account.
fn owner(t: api::Team) -> (Owner, String) {
    (
        Owner {
            user: t.id.clone(),
            id: t.id,
            name: t.name,
        },
        t.status,
    )
}

/// The token's team as the contract's owner, and the account's status.
fn team(session: &Session) -> Result<(Owner, String), Error> {
    api::team(session).map(owner)
}

impl api_token::Guest for Plugin {
    fn check_format(token: String) -> Result<(), String> {
        check_format(&token)
    }

    fn owner_of(cloud: Cloud, token: String) -> Result<Owner, Error> {
        check_format(&token)
            .map_err(|m| Error::InvalidInput(api::detail("invalid_token", &m, None)))?;
        team(&Session {
            cloud,
            access_token: token,
        })
        .map(|(owner, _)| owner)
    }
}

/// DigitalOcean signs in here by token only: the OAuth questions have no
/// answer, and the platform asks them only of OAuth accounts.
impl identity::Guest for Plugin {
    fn endpoints(_: Cloud, _: String) -> OauthEndpoints {
        OauthEndpoints {
            authorize_url: String::new(),
            token_url: String::new(),
            scopes: Vec::new(),
        }
    }
    fn admin_consent_url(_: Cloud, _: String, _: String, _: String, _: String) -> String {
        String::new()
    }
    fn classify_callback(_: String, _: Option<String>, _: Option<String>) -> CallbackOutcome {
        CallbackOutcome::Failed(
            "DigitalOcean accounts connect with an API token here, not a sign-in page.".into(),
        )
    }
    fn classify_token_error(_: u16, _: String) -> TokenOutcome {
        TokenOutcome::Failed(
            "DigitalOcean accounts connect with an API token here; there is no token endpoint."
                .into(),
        )
    }
    fn principal_of(_: String) -> Option<Principal> {
        None
    }
}

/// The team is the one scope a token reaches, and its own directory.
#[cfg(not(feature = "contract-0-2-0"))]
impl scopes::Guest for Plugin {
    fn list_directories(session: Session) -> Result<Vec<scopes::Directory>, Error> {
        let (owner, _) = team(&session)?;
        Ok(vec![scopes::Directory {
            id: owner.id,
            name: owner.name,
            domain: None,
        }])
    }

    fn list_scopes(session: Session) -> Result<Vec<scopes::Scope>, Error> {
        let (owner, status) = team(&session)?;
        Ok(vec![scope(owner, &status)])
    }

    fn check(session: Session, scope_id: String) -> Result<scopes::Prerequisites, Error> {
        let (owner, status) = owner(api::team_in(&session, &scope_id)?);
        Ok(scopes::Prerequisites {
            capabilities: capabilities(&status)
                .map(|(capability, available, reason)| scopes::CapabilityStatus {
                    capability,
                    available,
                    reason,
                })
                .collect(),
            scope: scope(owner, &status),
            role: Some(ROLE.into()),
            can_write: true,
            services: Vec::new(),
        })
    }

    fn enable_service(_: Session, _: String, service: String) -> Result<scopes::Service, Error> {
        Err(nothing_to_enable(&service))
    }
}

#[cfg(not(feature = "contract-0-2-0"))]
fn scope(owner: Owner, status: &str) -> scopes::Scope {
    scopes::Scope {
        state: state(status),
        directory_id: owner.id.clone(),
        id: owner.id,
        name: owner.name,
    }
}

// The same answers as one built before account 0.2.1 existed would give
// them, in `skyport:account/account@0.2.0`'s words: a tenant for the
// directory, a subscription for the scope.
#[cfg(feature = "contract-0-2-0")]
impl account::Guest for Plugin {
    fn list_tenants(session: Session) -> Result<Vec<account::Tenant>, Error> {
        let (owner, _) = team(&session)?;
        Ok(vec![account::Tenant {
            id: owner.id,
            name: owner.name,
            domain: None,
        }])
    }

    fn list_subscriptions(session: Session) -> Result<Vec<account::Subscription>, Error> {
        let (owner, status) = team(&session)?;
        Ok(vec![subscription(owner, &status)])
    }

    fn check(session: Session, subscription_id: String) -> Result<account::Prerequisites, Error> {
        let (owner, status) = owner(api::team_in(&session, &subscription_id)?);
        Ok(account::Prerequisites {
            capabilities: capabilities(&status)
                .map(
                    |(capability, available, reason)| account::CapabilityStatus {
                        capability,
                        available,
                        reason,
                    },
                )
                .collect(),
            subscription: subscription(owner, &status),
            role: Some(ROLE.into()),
            can_write: true,
            providers: Vec::new(),
        })
    }

    fn register_provider(
        _: Session,
        _: String,
        namespace: String,
    ) -> Result<account::Provider, Error> {
        Err(nothing_to_enable(&namespace))
    }
}

#[cfg(feature = "contract-0-2-0")]
fn subscription(owner: Owner, status: &str) -> account::Subscription {
    account::Subscription {
        state: state(status),
        tenant_id: owner.id.clone(),
        id: owner.id,
        name: owner.name,
    }
}

/// What a token is to the platform. DigitalOcean does not tell a token's
/// scopes: a read-only one is found at its first write (403, answered with
/// the fix).
const ROLE: &str = "API token";

/// The team's state in the words the platform reads as usable (`Enabled`),
/// or DigitalOcean's own when it is not active.
fn state(status: &str) -> String {
    if status == "active" {
        "Enabled".into()
    } else {
        status.to_string()
    }
}

/// Whether the team can serve each capability, and why not. DNS and backup
/// storage are every account's: the deployment lines serve them with
/// plugins/digitalocean-dns and plugins/digitalocean-spaces.
fn capabilities(status: &str) -> impl Iterator<Item = (Capability, bool, Option<String>)> {
    let active = status == "active";
    let reason = (!active).then(|| format!("The DigitalOcean account is {status}; droplets can be created and domains changed only when it is active (Billing, or the account's email verification)."));
    [Capability::Compute, Capability::Dns, Capability::Storage]
        .into_iter()
        .map(move |c| (c, active, reason.clone()))
}

/// DigitalOcean has nothing to switch on before a capability works.
fn nothing_to_enable(name: &str) -> Error {
    Error::InvalidInput(api::detail(
        "not_applicable",
        "DigitalOcean has no services to switch on: its capabilities need only an active account.",
        Some(name),
    ))
}

/// The 0.2.0 build's prices: none. Its droplets' prices need a session,
/// which `prices@0.1.0` does not give (0.1.1's `account-prices` does).
#[cfg(feature = "contract-0-2-0")]
impl prices::Guest for Plugin {
    fn rates(_: String, _: String, _: Item) -> Result<Vec<Rate>, Error> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personal_access_token_has_its_prefix_and_64_hex_digits() {
        assert!(check_format(&format!("dop_v1_{}", "a1".repeat(32))).is_ok());
        for bad in [
            "",
            "dop_v1_",
            "doo_v1_".to_string().as_str(),
            &format!("dop_v1_{}", "g".repeat(64)),
            &format!("dop_v1_{}", "a".repeat(63)),
        ] {
            let e = check_format(bad).unwrap_err();
            assert!(e.contains("dop_v1_") && e.contains("API › Tokens"), "{e}");
        }
    }
}
