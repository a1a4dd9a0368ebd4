//! `skyport:account/scopes` through Azure Resource Manager: the scopes are
//! subscriptions, their directories tenants, and the services a capability
//! waits for resource providers to register.

use azure_arm::names::{self, Name};
use azure_arm::rbac;
use serde_json::Value;

use crate::exports::skyport::account::scopes::{
    CapabilityStatus, Directory, Guest, Prerequisites, Scope, Service,
};
use crate::Plugin;
use azure_arm::contract::types::{Capability, Error, Session};
use azure_arm::contract::with_arm;

const SUBSCRIPTIONS_API: &str = "2022-12-01";
const RESOURCES_API: &str = "2021-04-01";
const AUTHORIZATION_API: &str = "2022-04-01";

/// The providers each capability needs.
const NEEDS: &[(Capability, &[&str], &str)] = &[
    (
        Capability::Compute,
        &["Microsoft.Compute", "Microsoft.Network"],
        "Microsoft.Compute/virtualMachines/write",
    ),
    (
        Capability::Storage,
        &["Microsoft.Storage"],
        "Microsoft.Storage/storageAccounts/write",
    ),
    (
        Capability::Dns,
        &["Microsoft.Network"],
        "Microsoft.Network/dnsZones/write",
    ),
];

/// A subscription as a scope.
fn subscription(v: &Value) -> Scope {
    Scope {
        id: v["subscriptionId"].as_str().unwrap_or_default().to_string(),
        name: v["displayName"].as_str().unwrap_or_default().to_string(),
        directory_id: v["tenantId"].as_str().unwrap_or_default().to_string(),
        state: v["state"].as_str().unwrap_or("Unknown").to_string(),
    }
}

/// The token's object id, to find the caller's own role assignments.
fn caller_oid(token: &str) -> Option<String> {
    <Plugin as crate::exports::skyport::identity::identity::Guest>::principal_of(token.to_string())
        .map(|p| p.user_id)
}

impl Guest for Plugin {
    /// The tenants the user belongs to.
    fn list_directories(session: Session) -> Result<Vec<Directory>, Error> {
        with_arm(&session, |arm| arm.list("/tenants", SUBSCRIPTIONS_API)).map(|items| {
            items
                .iter()
                .map(|t| Directory {
                    id: t["tenantId"].as_str().unwrap_or_default().to_string(),
                    name: t["displayName"].as_str().unwrap_or_default().to_string(),
                    domain: t["defaultDomain"].as_str().map(str::to_string),
                })
                .collect()
        })
    }

    /// The subscriptions of the token's tenant that the user has a role on.
    fn list_scopes(session: Session) -> Result<Vec<Scope>, Error> {
        with_arm(&session, |arm| {
            arm.list("/subscriptions", SUBSCRIPTIONS_API)
        })
        .map(|items| items.iter().map(subscription).collect())
    }

    fn check(session: Session, subscription_id: String) -> Result<Prerequisites, Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &subscription_id)?;
            let sub = subscription(&arm.get(
                &format!("/subscriptions/{subscription_id}"),
                SUBSCRIPTIONS_API,
            )?);
            let permissions = arm.list(&format!("/subscriptions/{subscription_id}/providers/Microsoft.Authorization/permissions"), AUTHORIZATION_API)?;
            let role = match caller_oid(&session.access_token) {
                Some(oid) => {
                    let filter = format!("atScope()%20and%20assignedTo('{oid}')");
                    let assignments = arm.list(&format!("/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleAssignments?$filter={filter}"), AUTHORIZATION_API)?;
                    rbac::strongest_role(&assignments).map(str::to_string)
                }
                None => None,
            };
            let can_write = rbac::allows(
                &permissions,
                "Microsoft.Resources/subscriptions/resourceGroups/write",
            );
            let mut providers = Vec::new();
            for ns in [
                "Microsoft.Compute",
                "Microsoft.Network",
                "Microsoft.Storage",
            ] {
                let p = arm.get(
                    &format!("/subscriptions/{subscription_id}/providers/{ns}"),
                    RESOURCES_API,
                )?;
                providers.push(Service {
                    name: ns.to_string(),
                    state: p["registrationState"]
                        .as_str()
                        .unwrap_or("NotRegistered")
                        .to_string(),
                });
            }
            let usable_state = matches!(sub.state.as_str(), "Enabled" | "Warned");
            let capabilities = NEEDS
                .iter()
                .map(|(cap, needs, action)| {
                    let missing: Vec<&str> = needs.iter().copied().filter(|ns| providers.iter().any(|p| p.name == *ns && p.state != "Registered")).collect();
                    let reason = if !usable_state {
                        Some(format!("The subscription is {}; it must be Enabled.", sub.state))
                    } else if !rbac::allows(&permissions, action) {
                        Some(format!(
                            "Your role on this subscription ({}) cannot create resources; Owner or Contributor is needed.",
                            role.as_deref().unwrap_or("none")
                        ))
                    } else if !missing.is_empty() {
                        Some(format!("The resource provider {} is not registered.", missing.join(" and ")))
                    } else {
                        None
                    };
                    CapabilityStatus { capability: *cap, available: reason.is_none(), reason }
                })
                .collect();
            Ok(Prerequisites {
                scope: sub,
                role,
                can_write,
                services: providers,
                capabilities,
            })
        })
    }

    /// Registers a resource provider.
    fn enable_service(
        session: Session,
        subscription_id: String,
        namespace: String,
    ) -> Result<Service, Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &subscription_id)?;
            names::check(Name::ProviderNamespace, &namespace)?;
            let p = arm.post(
                &format!("/subscriptions/{subscription_id}/providers/{namespace}/register"),
                RESOURCES_API,
                None,
            )?;
            Ok(Service {
                name: p["namespace"].as_str().unwrap_or(&namespace).to_string(),
                state: p["registrationState"]
                    .as_str()
                    .unwrap_or("Registering")
                    .to_string(),
            })
        })
    }
}
