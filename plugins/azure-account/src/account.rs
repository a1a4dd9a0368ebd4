//! `skyport:account` through Azure Resource Manager.

use azure_arm::names::{self, Name};
use azure_arm::rbac;
use serde_json::Value;

use crate::exports::skyport::account::account::{
    CapabilityStatus, Guest, Prerequisites, Provider, Subscription, Tenant,
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

fn subscription(v: &Value) -> Subscription {
    Subscription {
        id: v["subscriptionId"].as_str().unwrap_or_default().to_string(),
        name: v["displayName"].as_str().unwrap_or_default().to_string(),
        tenant_id: v["tenantId"].as_str().unwrap_or_default().to_string(),
        state: v["state"].as_str().unwrap_or("Unknown").to_string(),
    }
}

/// The token's object id, to find the caller's own role assignments.
fn caller_oid(token: &str) -> Option<String> {
    <Plugin as crate::exports::skyport::identity::identity::Guest>::principal_of(token.to_string())
        .map(|p| p.user_id)
}

impl Guest for Plugin {
    fn list_tenants(session: Session) -> Result<Vec<Tenant>, Error> {
        with_arm(&session, |arm| arm.list("/tenants", SUBSCRIPTIONS_API)).map(|items| {
            items
                .iter()
                .map(|t| Tenant {
                    id: t["tenantId"].as_str().unwrap_or_default().to_string(),
                    name: t["displayName"].as_str().unwrap_or_default().to_string(),
                    domain: t["defaultDomain"].as_str().map(str::to_string),
                })
                .collect()
        })
    }

    fn list_subscriptions(session: Session) -> Result<Vec<Subscription>, Error> {
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
                providers.push(Provider {
                    namespace: ns.to_string(),
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
                    let missing: Vec<&str> = needs.iter().copied().filter(|ns| providers.iter().any(|p| p.namespace == *ns && p.state != "Registered")).collect();
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
                subscription: sub,
                role,
                can_write,
                providers,
                capabilities,
            })
        })
    }

    fn register_provider(
        session: Session,
        subscription_id: String,
        namespace: String,
    ) -> Result<Provider, Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &subscription_id)?;
            names::check(Name::ProviderNamespace, &namespace)?;
            let p = arm.post(
                &format!("/subscriptions/{subscription_id}/providers/{namespace}/register"),
                RESOURCES_API,
                None,
            )?;
            Ok(Provider {
                namespace: p["namespace"].as_str().unwrap_or(&namespace).to_string(),
                state: p["registrationState"]
                    .as_str()
                    .unwrap_or("Registering")
                    .to_string(),
            })
        })
    }
}
