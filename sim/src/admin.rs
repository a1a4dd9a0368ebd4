//! Scripting the world while it runs: one [`Command`] type serves both the
//! admin HTTP surface (`POST /_sim/commands`) and the Rust API, for Azure and
//! DigitalOcean alike, and the inspection endpoints list what exists and
//! what was asked.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{Req, Resp};
use crate::state::{Fault, LroFailure, Revocation, SignInOutcome, State};
use crate::world::{Quota, RoleAssignment, SkuRestriction, Subscription, User, ROLES};

/// A change to the world.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The next sign-in ends this way instead of with a code.
    NextSignIn {
        outcome: SignInOutcome,
    },
    /// Revokes every grant the user holds (password change, MFA reset, expiry).
    Revoke {
        user: String,
        reason: Revocation,
    },
    /// Gives a user a role on a subscription; `role: null` removes their roles.
    SetRole {
        user: String,
        subscription: String,
        role: Option<String>,
    },
    /// Sets a provider's registration state (e.g. NotRegistered).
    SetProvider {
        subscription: String,
        namespace: String,
        state: String,
    },
    /// Sets a quota limit (`location` defaults to every region).
    SetQuota {
        subscription: String,
        name: String,
        location: Option<String>,
        limit: u64,
    },
    /// Makes a VM size unavailable in some regions.
    RestrictSku {
        subscription: String,
        size: String,
        locations: Vec<String>,
    },
    SetSubscriptionState {
        subscription: String,
        state: String,
    },
    AddFault {
        fault: Fault,
    },
    ClearFaults,
    /// Decides probabilistic faults from this seed from now on.
    SeedFaults {
        seed: u64,
    },
    /// The next operation whose path contains `path` ends Failed.
    FailNextOperation {
        failure: LroFailure,
    },
    /// Every access token issued so far is treated as expired.
    ExpireAccessTokens,
    AddRedirectUri {
        client_id: String,
        redirect_uri: String,
    },
    RequireAdminConsent {
        tenant: String,
        required: bool,
    },
    AddUser {
        user: User,
    },
    AddSubscription {
        subscription: Subscription,
    },
    /// Deletes a resource at once, as someone in the portal would: a
    /// resource group takes everything in it.
    DeleteResource {
        id: String,
    },
    /// Replaces a resource's tags, as someone in the portal would.
    SetTags {
        id: String,
        tags: std::collections::BTreeMap<String, String>,
    },
    /// Sets a VM's power at once (`running`, `stopped`, `deallocated`), as
    /// someone in the portal would.
    SetPower {
        vm: String,
        power: String,
    },
    /// Changes behaviour knobs; absent fields keep their values.
    Settings {
        lro_polls: Option<u32>,
        registration_polls: Option<u32>,
        retry_after_secs: Option<u32>,
        access_token_lifetime_secs: Option<i64>,
        page_size: Option<usize>,
        azurite_url: Option<String>,
        refresh_token_idle_secs: Option<i64>,
    },
    /// Adds a DigitalOcean team with its tokens, or replaces the team with
    /// the same uuid (to change its name, email, Droplet limit or tokens).
    /// Its `domains` not yet seeded are made at once; none may belong to
    /// another team.
    AddDigitalOceanTeam {
        team: crate::digitalocean::Team,
    },
    /// Revokes a DigitalOcean token: it is answered 401 from now on.
    RevokeDigitalOceanToken {
        token: String,
    },
    /// Revokes every OAuth grant a DigitalOcean team (by uuid) gave, as
    /// removing the application under API › Applications in the control
    /// panel does: its access tokens are answered 401 and its refresh tokens
    /// `invalid_grant` from now on.
    RevokeDigitalOceanGrants {
        team: String,
    },
    /// Expires the current OAuth access tokens of a DigitalOcean team (by
    /// uuid) now: they are answered 401, while their refresh tokens still
    /// work, so a client's refresh can be tested without waiting 30 days.
    ExpireDigitalOceanAccessTokens {
        team: String,
    },
    /// Changes the DigitalOcean API's knobs; absent fields keep their values.
    DigitalOceanSettings {
        /// Reads an action stays `in-progress` (0: it completes at once).
        action_polls: Option<u32>,
        /// Requests per token per hour.
        rate_limit: Option<u32>,
        /// The lifetime of OAuth access tokens issued from now on, in
        /// seconds (at least 1).
        #[serde(default)]
        oauth_token_seconds: Option<i64>,
    },
    /// Where the Spaces S3 front door keeps objects from now on: a moto
    /// server's URL, or none for the emulator's memory. Buckets stay the
    /// emulator's; one moto lacks is made there when first used.
    SpacesBackend {
        moto_url: Option<String>,
    },
    /// Sets a Droplet's status at once (`active` or `off`), as someone in the
    /// control panel or at the console would.
    SetDropletStatus {
        droplet: u64,
        status: String,
    },
    /// Destroys a Droplet at once, as someone in the control panel would.
    DestroyDroplet {
        droplet: u64,
    },
}

/// Applies a command; `Err` explains why it cannot be.
pub fn apply(state: &mut State, command: Command) -> Result<(), String> {
    match command {
        Command::NextSignIn { outcome } => state.next_sign_in = Some(outcome),
        Command::Revoke { user, reason } => {
            let id = state
                .user(&user)
                .ok_or(format!("no user `{user}`"))?
                .id
                .clone();
            let seq = state.next_seq();
            state.revocations.insert(id, (seq, reason));
        }
        Command::SetRole {
            user,
            subscription,
            role,
        } => {
            let u = state
                .user(&user)
                .ok_or(format!("no user `{user}`"))?
                .clone();
            state
                .subscription(&subscription)
                .ok_or(format!("no subscription `{subscription}`"))?;
            state.world.role_assignments.retain(|r| {
                !((r.user == u.id || r.user.eq_ignore_ascii_case(&u.username))
                    && r.subscription.eq_ignore_ascii_case(&subscription))
            });
            if let Some(role) = role {
                if !ROLES.iter().any(|(n, _)| *n == role) {
                    return Err(format!("`{role}` is not Owner, Contributor or Reader"));
                }
                state.world.role_assignments.push(RoleAssignment {
                    user: u.id,
                    subscription,
                    role,
                });
            }
        }
        Command::SetProvider {
            subscription,
            namespace,
            state: reg,
        } => {
            let s = state
                .subscription_mut(&subscription)
                .ok_or(format!("no subscription `{subscription}`"))?;
            s.providers.insert(namespace.clone(), reg);
            state
                .registering
                .remove(&(subscription.to_ascii_lowercase(), namespace));
        }
        Command::SetQuota {
            subscription,
            name,
            location,
            limit,
        } => {
            let s = state
                .subscription_mut(&subscription)
                .ok_or(format!("no subscription `{subscription}`"))?;
            let location = location.unwrap_or_else(|| "*".into());
            s.quotas.retain(|q| {
                !(q.name.eq_ignore_ascii_case(&name) && q.location.eq_ignore_ascii_case(&location))
            });
            s.quotas.push(Quota {
                name,
                location,
                limit,
            });
        }
        Command::RestrictSku {
            subscription,
            size,
            locations,
        } => {
            let s = state
                .subscription_mut(&subscription)
                .ok_or(format!("no subscription `{subscription}`"))?;
            s.sku_restrictions.push(SkuRestriction {
                size,
                locations,
                reason: "NotAvailableForSubscription".into(),
            });
        }
        Command::SetSubscriptionState {
            subscription,
            state: st,
        } => {
            state
                .subscription_mut(&subscription)
                .ok_or(format!("no subscription `{subscription}`"))?
                .state = st;
        }
        Command::DeleteResource { id } => {
            let key = id.to_ascii_lowercase();
            let Some(gone) = state.resources.remove(&key) else {
                return Err(format!("no resource {id}"));
            };
            if gone.kind == "resourceGroups" {
                let sub = gone.subscription.clone();
                let rg = gone.body["name"].as_str().unwrap_or_default().to_string();
                state.resources.retain(|_, r| {
                    !(r.subscription.eq_ignore_ascii_case(&sub)
                        && r.resource_group
                            .as_deref()
                            .is_some_and(|g| g.eq_ignore_ascii_case(&rg)))
                });
            }
            state
                .vm_power
                .retain(|vm, _| state.resources.contains_key(vm));
        }
        Command::SetTags { id, tags } => {
            let Some(r) = state.resources.get_mut(&id.to_ascii_lowercase()) else {
                return Err(format!("no resource {id}"));
            };
            r.body["tags"] = json!(tags);
        }
        Command::SetPower { vm, power } => {
            let key = vm.to_ascii_lowercase();
            match state.resources.get(&key) {
                Some(r) if r.kind == "Microsoft.Compute/virtualMachines" => {}
                _ => return Err(format!("no virtual machine {vm}")),
            }
            match power.as_str() {
                "running" => {
                    state.vm_power.remove(&key);
                }
                "stopped" | "deallocated" => {
                    state.vm_power.insert(key, power);
                }
                _ => {
                    return Err(format!(
                        "power `{power}` is none of running, stopped, deallocated"
                    ))
                }
            }
        }
        Command::AddFault { fault } => state.faults.push(fault),
        Command::ClearFaults => state.faults.clear(),
        Command::SeedFaults { seed } => state.fault_rng = Some(seed.max(1)),
        Command::FailNextOperation { failure } => state.lro_failures.push(failure),
        Command::ExpireAccessTokens => state.tokens_expired_before = Some(state.seq),
        Command::AddRedirectUri {
            client_id,
            redirect_uri,
        } => {
            // An Azure app registration, or a DigitalOcean OAuth application.
            let azure = state
                .world
                .apps
                .iter_mut()
                .find(|a| a.client_id.eq_ignore_ascii_case(&client_id))
                .map(|a| &mut a.redirect_uris);
            let uris = match azure {
                Some(uris) => uris,
                None => state
                    .world
                    .digitalocean
                    .apps
                    .iter_mut()
                    .find(|a| a.client_id == client_id)
                    .map(|a| &mut a.redirect_uris)
                    .ok_or(format!("no app `{client_id}`"))?,
            };
            if !uris.contains(&redirect_uri) {
                uris.push(redirect_uri);
            }
        }
        Command::RequireAdminConsent { tenant, required } => {
            state
                .world
                .tenants
                .iter_mut()
                .find(|t| t.id.eq_ignore_ascii_case(&tenant))
                .ok_or(format!("no tenant `{tenant}`"))?
                .admin_consent_required = required;
        }
        Command::AddUser { user } => {
            if !state.world.tenants.iter().any(|t| t.id == user.tenant) {
                return Err(format!("no tenant `{}`", user.tenant));
            }
            state.world.users.retain(|u| u.id != user.id);
            state.world.users.push(user);
        }
        Command::AddSubscription { subscription } => {
            state
                .world
                .subscriptions
                .retain(|s| s.id != subscription.id);
            state.world.subscriptions.push(subscription);
        }
        Command::Settings {
            lro_polls,
            registration_polls,
            retry_after_secs,
            access_token_lifetime_secs,
            page_size,
            azurite_url,
            refresh_token_idle_secs,
        } => {
            let s = &mut state.world.settings;
            if let Some(v) = lro_polls {
                s.lro_polls = v;
            }
            if let Some(v) = registration_polls {
                s.registration_polls = v;
            }
            if let Some(v) = retry_after_secs {
                s.retry_after_secs = v;
            }
            if let Some(v) = access_token_lifetime_secs {
                s.access_token_lifetime_secs = v;
            }
            if let Some(v) = page_size {
                s.page_size = v.max(1);
            }
            if azurite_url.is_some() {
                s.azurite_url = azurite_url;
            }
            if let Some(v) = refresh_token_idle_secs {
                s.refresh_token_idle_secs = v.max(1);
            }
        }
        Command::AddDigitalOceanTeam { team } => {
            let seed = &mut state.world.digitalocean;
            if let Some(other) = seed
                .teams
                .iter()
                .find(|t| t.uuid != team.uuid && t.tokens.iter().any(|k| team.tokens.contains(k)))
            {
                return Err(format!(
                    "a token of this team already belongs to team `{}`",
                    other.name
                ));
            }
            if team.tokens.iter().any(String::is_empty) {
                return Err("a DigitalOcean token cannot be empty".into());
            }
            for d in &team.domains {
                if !crate::digitalocean::domains::valid_domain(d) {
                    return Err(format!("`{d}` is not a domain name"));
                }
                let held = seed.teams.iter().any(|t| {
                    t.uuid != team.uuid && t.domains.iter().any(|o| o.eq_ignore_ascii_case(d))
                });
                let live = state.digitalocean.domains.get(&d.to_ascii_lowercase());
                if held || live.is_some_and(|l| l.team != team.uuid) {
                    return Err(format!("domain `{d}` already belongs to another team"));
                }
            }
            seed.teams.retain(|t| t.uuid != team.uuid);
            seed.teams.push(team);
            crate::digitalocean::domains::seed(state);
        }
        Command::RevokeDigitalOceanToken { token } => {
            let team = state
                .world
                .digitalocean
                .teams
                .iter_mut()
                .find(|t| t.tokens.contains(&token))
                .ok_or("no DigitalOcean team holds that token")?;
            team.tokens.retain(|k| *k != token);
        }
        Command::RevokeDigitalOceanGrants { team } => {
            known_team(state, &team)?;
            crate::digitalocean::oauth::revoke_team(state, &team);
        }
        Command::ExpireDigitalOceanAccessTokens { team } => {
            known_team(state, &team)?;
            crate::digitalocean::oauth::expire_team(state, &team);
        }
        Command::DigitalOceanSettings {
            action_polls,
            rate_limit,
            oauth_token_seconds,
        } => {
            if oauth_token_seconds.is_some_and(|v| v < 1) {
                return Err("oauth_token_seconds must be at least 1".into());
            }
            let s = &mut state.world.digitalocean;
            if let Some(v) = oauth_token_seconds {
                s.oauth_token_seconds = v;
            }
            if let Some(v) = action_polls {
                s.action_polls = v;
            }
            if let Some(v) = rate_limit {
                s.rate_limit = v;
            }
        }
        Command::SpacesBackend { moto_url } => {
            if let Some(u) = &moto_url {
                if !(u.starts_with("http://") && u.len() > "http://".len()) {
                    return Err(format!("moto_url `{u}` is not an http:// URL"));
                }
            }
            state.world.digitalocean.moto_url = moto_url;
        }
        Command::SetDropletStatus { droplet, status } => {
            if status != "active" && status != "off" {
                return Err(format!("status `{status}` is neither active nor off"));
            }
            let live = &mut state.digitalocean;
            let needs_host = live
                .droplets
                .get(&droplet)
                .ok_or(format!("no Droplet {droplet}"))?
                .host
                .is_none();
            // A Droplet made active before its create completed gets its addresses.
            let host = (needs_host && status == "active").then(|| live.host());
            let d = live.droplets.get_mut(&droplet).expect("checked above");
            if host.is_some() {
                d.host = host;
            }
            d.status = status;
        }
        Command::DestroyDroplet { droplet } => {
            if !state.digitalocean.droplets.contains_key(&droplet) {
                return Err(format!("no Droplet {droplet}"));
            }
            crate::digitalocean::droplets::destroy(state, droplet);
        }
    }
    Ok(())
}

/// `Ok` when `uuid` is a DigitalOcean team of the seed.
fn known_team(state: &State, uuid: &str) -> Result<(), String> {
    match state.world.digitalocean.team(uuid) {
        Some(_) => Ok(()),
        None => Err(format!("no DigitalOcean team `{uuid}`")),
    }
}

/// Every resource that exists: id, type and provisioning state.
pub fn inventory(state: &State) -> Vec<Value> {
    state
        .resources
        .values()
        .map(|r| json!({ "id": r.id, "name": r.body["name"], "type": r.kind, "tags": r.body["tags"], "provisioningState": r.body["properties"]["provisioningState"] }))
        .collect()
}

/// `/_sim/…`.
pub fn handle(state: &mut State, req: &Req) -> Resp {
    match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("GET", "/_sim/world") => {
            Resp::json(200, &serde_json::to_value(&state.world).unwrap_or_default())
        }
        ("GET", "/_sim/resources") => Resp::json(200, &json!({ "value": inventory(state) })),
        ("GET", "/_sim/requests") => Resp::json(200, &json!({ "value": state.log })),
        ("DELETE", "/_sim/requests") => {
            state.log.clear();
            Resp::new(204)
        }
        ("POST", "/_sim/commands") => match serde_json::from_slice::<Command>(&req.body) {
            Ok(c) => match apply(state, c) {
                Ok(()) => Resp::new(204),
                Err(e) => Resp::json(409, &json!({ "error": e })),
            },
            Err(e) => Resp::json(400, &json!({ "error": format!("not a command: {e}") })),
        },
        _ => Resp::json(
            404,
            &json!({ "error": "admin endpoints: GET /_sim/world, /_sim/resources, /_sim/requests; POST /_sim/commands" }),
        ),
    }
}
