//! Regions, sizes, prices and the preflight checks.

use azure_arm::{retail, ArmError};
use serde_json::Value;

use crate::exports::skyport::compute::compute::{
    Guest, Operation, PowerAction, Price, Region, ServerSpec, ServerStatus, Size,
};
use crate::{actions, steps, with_arm, Plugin};
use azure_arm::contract::types::{self as wit, Session};
use azure_arm::names::{self, Name};

const COMPUTE_API: &str = "2024-07-01";
const SKUS_API: &str = "2021-07-01";
const SUBSCRIPTIONS_API: &str = "2022-12-01";
const RESOURCES_API: &str = "2021-04-01";

/// The regions the guide names, offered first in this order.
const GUIDE_REGIONS: &[&str] = &[
    "eastus",
    "westus2",
    "westeurope",
    "northeurope",
    "southeastasia",
    "australiaeast",
];

fn fail(status: u16, code: &str, message: String, target: Option<&str>) -> ArmError {
    ArmError {
        status,
        code: code.into(),
        message,
        target: target.map(str::to_string),
        retry_after: None,
    }
}

/// The VM SKUs offered in `region`, with whether the subscription may use each.
pub(crate) fn skus(
    arm: &azure_arm::Arm<'_, azure_arm::spin_transport::SpinTransport>,
    scope: &str,
    region: &str,
) -> Result<Vec<(Value, bool)>, ArmError> {
    let all = arm.list(&format!("/subscriptions/{scope}/providers/Microsoft.Compute/skus?$filter=location%20eq%20'{region}'"), SKUS_API)?;
    Ok(all
        .into_iter()
        .filter(|s| s["resourceType"] == "virtualMachines")
        .map(|s| {
            let restricted = s["restrictions"].as_array().is_some_and(|r| {
                r.iter().any(|x| {
                    x["type"] == "Location"
                        && x["values"].as_array().is_some_and(|v| {
                            v.iter()
                                .any(|l| l.as_str().is_some_and(|l| l.eq_ignore_ascii_case(region)))
                        })
                })
            });
            (s, !restricted)
        })
        .collect())
}

fn capability(s: &Value, name: &str) -> Option<String> {
    s["capabilities"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["value"].as_str())
        .map(str::to_string)
}

/// Every part of a spec that reaches a URL or the VM, checked before any call.
fn check_spec(spec: &ServerSpec) -> Result<(), ArmError> {
    names::check(Name::Subscription, &spec.scope)?;
    names::check(Name::Region, &spec.region)?;
    names::check(Name::VmSize, &spec.size)?;
    names::check(Name::Server, &spec.name)?;
    let owner_ok = (8..=64).contains(&spec.owner.len())
        && spec
            .owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !owner_ok {
        return Err(fail(
            400,
            "InvalidOwner",
            "The server's owner id must be 8–64 letters, digits and hyphens.".into(),
            Some("owner"),
        ));
    }
    if spec.pending.len() > 100_000
        || spec
            .pending
            .iter()
            .any(|p| names::check(Name::VmSize, p).is_err())
    {
        return Err(fail(
            400,
            "InvalidPending",
            "Pending sizes are at most 100000 VM size names.".into(),
            Some("pending"),
        ));
    }
    let labels_ok = spec.labels.len() <= 10
        && spec.labels.iter().all(|(k, v)| {
            (1..=128).contains(&k.len())
                && v.len() <= 256
                && !k.contains(['<', '>', '%', '&', '\\', '?', '/'])
        });
    if !labels_ok {
        return Err(fail(
            400,
            "InvalidLabels",
            "Labels are at most 10 tags, names of 1–128 characters without <>%&\\?/ and values of at most 256.".into(),
            Some("labels"),
        ));
    }
    let admin = &spec.admin_username;
    let admin_ok = (1..=32).contains(&admin.len())
        && admin.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && admin
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !["root", "admin", "administrator", "guest", "user", "test"].contains(&admin.as_str());
    if !admin_ok {
        return Err(fail(
            400,
            "InvalidAdminUsername",
            format!("`{}` is not a usable Linux admin user name: use 1–32 lowercase letters, digits, `_` and `-`, starting with a letter or `_`, other than root, admin, administrator, guest, user or test.", admin.chars().take(40).collect::<String>().escape_debug()),
            Some("admin_username"),
        ));
    }
    let key = spec.ssh_public_key.trim();
    let mut parts = key.split_whitespace();
    let key_ok = key.len() <= 16 * 1024
        && parts.next().is_some_and(|t| {
            [
                "ssh-rsa",
                "ssh-ed25519",
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp384",
                "ecdsa-sha2-nistp521",
            ]
            .contains(&t)
        })
        && parts.next().is_some_and(|b| {
            b.len() >= 16
                && b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
        })
        && !key.contains(['\n', '\r']);
    if !key_ok {
        return Err(fail(
            400,
            "InvalidSshPublicKey",
            "The SSH public key is not an OpenSSH public key (`ssh-ed25519 AAAA… comment` or `ssh-rsa AAAA…`).".into(),
            Some("ssh_public_key"),
        ));
    }
    Ok(())
}

impl Guest for Plugin {
    fn list_regions(session: Session, scope: String) -> Result<Vec<Region>, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            let all = arm.list(
                &format!("/subscriptions/{scope}/locations"),
                SUBSCRIPTIONS_API,
            )?;
            let mut regions: Vec<Region> = all
                .iter()
                .filter(|l| {
                    l["metadata"]["regionType"]
                        .as_str()
                        .is_none_or(|t| t == "Physical")
                })
                .map(|l| Region {
                    name: l["name"].as_str().unwrap_or_default().to_string(),
                    display_name: l["displayName"].as_str().unwrap_or_default().to_string(),
                })
                .collect();
            regions.sort_by_key(|r| {
                (
                    GUIDE_REGIONS
                        .iter()
                        .position(|g| *g == r.name)
                        .unwrap_or(usize::MAX),
                    r.name.clone(),
                )
            });
            Ok(regions)
        })
    }

    fn list_sizes(
        session: Session,
        scope: String,
        region: String,
    ) -> Result<Vec<Size>, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            names::check(Name::Region, &region)?;
            Ok(skus(arm, &scope, &region)?
                .into_iter()
                .filter(|(_, usable)| *usable)
                .map(|(s, _)| Size {
                    name: s["name"].as_str().unwrap_or_default().to_string(),
                    vcpus: capability(&s, "vCPUs")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    memory_gb: capability(&s, "MemoryGB")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0),
                    family: s["family"].as_str().unwrap_or_default().to_string(),
                })
                .collect())
        })
    }

    fn hourly_price(
        prices_endpoint: String,
        region: String,
        size: String,
    ) -> Result<Option<Price>, wit::Error> {
        retail::size_price(
            &azure_arm::spin_transport::SpinTransport,
            &prices_endpoint,
            &region,
            &size,
        )
        .map(|p| p.map(|(hourly, currency)| Price { hourly, currency }))
        .map_err(azure_arm::contract::to_wit)
    }

    fn preflight(session: Session, spec: ServerSpec) -> Result<(), wit::Error> {
        with_arm(&session, |arm| {
            check_spec(&spec)?;
            // Nothing that is not this server's may stand where it would be made.
            let group = steps::ids(&spec.scope, &spec.name, &spec.owner).group;
            steps::refuse_foreign_group(arm, &group, &spec.owner)?;
            let sub = arm.get(&format!("/subscriptions/{}", spec.scope), SUBSCRIPTIONS_API)?;
            let state = sub["state"].as_str().unwrap_or("Unknown");
            if state != "Enabled" && state != "Warned" {
                return Err(fail(
                    409,
                    "SubscriptionNotActive",
                    format!("The subscription is {state}; it must be Enabled to create resources."),
                    Some("subscription"),
                ));
            }
            for ns in ["Microsoft.Compute", "Microsoft.Network"] {
                let p = arm.get(
                    &format!("/subscriptions/{}/providers/{ns}", spec.scope),
                    RESOURCES_API,
                )?;
                if p["registrationState"] != "Registered" {
                    return Err(fail(
                        409,
                        "MissingSubscriptionRegistration",
                        format!("The subscription is not registered to use namespace '{ns}'."),
                        Some(ns),
                    ));
                }
            }
            let offered = skus(arm, &spec.scope, &spec.region)?;
            let Some((sku, usable)) = offered.iter().find(|(s, _)| {
                s["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&spec.size))
            }) else {
                return Err(fail(
                    409,
                    "SkuNotAvailable",
                    format!("The size {} is not offered in {}.", spec.size, spec.region),
                    Some("size"),
                ));
            };
            if !usable {
                return Err(fail(
                    409,
                    "SkuNotAvailable",
                    format!(
                        "The size {} is not available to this subscription in {}.",
                        spec.size, spec.region
                    ),
                    Some("size"),
                ));
            }
            let cores = |s: &Value| -> u64 {
                capability(s, "vCPUs")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1)
            };
            let vcpus = cores(sku);
            let family = sku["family"].as_str().unwrap_or_default();
            // Servers still being created are not in the usage yet: count them.
            let (mut pending_total, mut pending_family) = (0u64, 0u64);
            for size in &spec.pending {
                if let Some((p, _)) = offered.iter().find(|(s, _)| {
                    s["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(size))
                }) {
                    pending_total += cores(p);
                    if p["family"].as_str() == Some(family) {
                        pending_family += cores(p);
                    }
                }
            }
            let usages = arm.list(
                &format!(
                    "/subscriptions/{}/providers/Microsoft.Compute/locations/{}/usages",
                    spec.scope, spec.region
                ),
                COMPUTE_API,
            )?;
            for (quota, label, pending) in [
                ("cores", "Total Regional vCPUs", pending_total),
                (family, family, pending_family),
            ] {
                if let Some(u) = usages.iter().find(|u| {
                    u["name"]["value"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(quota))
                }) {
                    let (current, limit) = (
                        u["currentValue"].as_u64().unwrap_or(0),
                        u["limit"].as_u64().unwrap_or(0),
                    );
                    if current + pending + vcpus > limit {
                        let creating = if pending > 0 {
                            format!(", {pending} more for servers still being created")
                        } else {
                            String::new()
                        };
                        return Err(fail(409, "QuotaExceeded", format!("{label} quota in {}: limit {limit}, in use {current}{creating}; this server needs {vcpus} more.", spec.region), Some(quota)));
                    }
                }
            }
            Ok(())
        })
    }

    fn create_server(_session: Session, spec: ServerSpec) -> Result<Operation, wit::Error> {
        check_spec(&spec).map_err(azure_arm::contract::to_wit)?;
        Ok(steps::plan_create(&spec))
    }

    fn delete_server(
        _session: Session,
        server_id: String,
        owner: String,
    ) -> Result<Operation, wit::Error> {
        steps::plan_delete(&server_id, &owner)
    }

    fn inspect_server(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<ServerStatus, wit::Error> {
        with_arm(&session, |arm| steps::inspect(arm, &server_id, &owner))
    }

    fn power_server(
        _session: Session,
        server_id: String,
        owner: String,
        action: PowerAction,
    ) -> Result<Operation, wit::Error> {
        actions::plan_power(&server_id, &owner, action)
    }

    fn resize_sizes(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<Vec<Size>, wit::Error> {
        with_arm(&session, |arm| {
            actions::resize_sizes(arm, &server_id, &owner)
        })
    }

    fn resize_server(
        _session: Session,
        server_id: String,
        owner: String,
        size: String,
    ) -> Result<Operation, wit::Error> {
        actions::plan_resize(&server_id, &owner, &size)
    }

    fn advance(session: Session, token: String) -> Result<Operation, wit::Error> {
        steps::advance(&session, &token)
    }
}
