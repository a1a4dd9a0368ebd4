//! Power actions (start, stop with deallocation, restart) and resizing of a
//! server's VM, each a one-step operation through the same token and
//! `advance` as creation and deletion.
//!
//! Every step first reads the VM and acts only when it carries the server's
//! owner tag, so an action never lands on a machine Skyport did not make for
//! this server; a resize PATCHes the size alone and never re-PUTs the VM. A
//! step replayed after a crash reads the VM's state first and waits for or
//! accepts work already under way (a restart cannot be told from a running
//! VM, so a replayed restart may restart it once more).

use azure_arm::names::{self, Name};
use azure_arm::{Arm, ArmError};
use serde_json::{json, Value};

use crate::exports::skyport::compute::compute::{Operation, PowerAction, Size};
use crate::steps::{owned_by, poll, poll_url, Poll, OWNER_TAG};
use azure_arm::contract::types as wit;
use azure_arm::power::Power;

const COMPUTE_API: &str = "2024-07-01";

type SpinArm<'a> = Arm<'a, azure_arm::spin_transport::SpinTransport>;

/// The VM id checked like every id before it reaches a URL: its canonical
/// path, and its parts.
fn checked_vm(server_id: &str) -> Result<(String, names::ResourceId), ArmError> {
    let id = names::resource_id(
        server_id,
        "Microsoft.Compute",
        "virtualMachines",
        Name::Server,
        None,
    )?;
    Ok((id.to_path("Microsoft.Compute", "virtualMachines"), id))
}

fn bad_id(server_id: &str) -> wit::Error {
    wit::Error::InvalidInput(wit::Detail {
        code: "BadServerId".into(),
        message: format!("`{server_id}` is not a server id of this plugin"),
        target: None,
    })
}

/// What the ARM action of a power action is called, and the step's words.
fn verb(action: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match action {
        "start" => Some(("start", "Starting the virtual machine", "Server started")),
        "stop" => Some((
            "deallocate",
            "Stopping and deallocating the virtual machine",
            "Server stopped and deallocated",
        )),
        "restart" => Some((
            "restart",
            "Restarting the virtual machine",
            "Server restarted",
        )),
        _ => None,
    }
}

/// The operation a token stands for, at its one step.
fn operation(t: &Value, done: bool) -> Operation {
    let (step, finished) = if t["kind"] == "resize" {
        let size = t["size"].as_str().unwrap_or_default();
        (
            format!("Changing the virtual machine's size to {size}"),
            format!("Server resized to {size}"),
        )
    } else {
        let (_, step, finished) = verb(t["action"].as_str().unwrap_or_default()).unwrap_or((
            "",
            "Changing the virtual machine's power",
            "Done",
        ));
        (step.to_string(), finished.to_string())
    };
    Operation {
        token: t.to_string(),
        step: if done { finished } else { step },
        step_index: 1,
        steps: 1,
        done,
        server: None,
    }
}

fn action_name(action: PowerAction) -> &'static str {
    match action {
        PowerAction::Start => "start",
        PowerAction::Stop => "stop",
        PowerAction::Restart => "restart",
    }
}

/// Plans a power action; writes nothing.
pub fn plan_power(
    server_id: &str,
    owner: &str,
    action: PowerAction,
) -> Result<Operation, wit::Error> {
    let (vm, _) = checked_vm(server_id).map_err(|_| bad_id(server_id))?;
    let t = json!({ "kind": "power", "action": action_name(action), "vm": vm, "owner": owner, "poll": null });
    Ok(operation(&t, false))
}

/// Plans a resize; writes nothing. The size is a plain name, checked here
/// because it goes into the PATCH body.
pub fn plan_resize(server_id: &str, owner: &str, size: &str) -> Result<Operation, wit::Error> {
    let (vm, _) = checked_vm(server_id).map_err(|_| bad_id(server_id))?;
    if !valid_size(size) {
        return Err(wit::Error::InvalidInput(wit::Detail {
            code: "BadSize".into(),
            message: format!("`{size}` is not a VM size name"),
            target: Some("size".into()),
        }));
    }
    let t = json!({ "kind": "resize", "vm": vm, "owner": owner, "size": size, "poll": null });
    Ok(operation(&t, false))
}

/// A VM size name as Azure spells them (`Standard_B2s`, `Standard_D2s_v5`).
fn valid_size(size: &str) -> bool {
    (1..=64).contains(&size.len())
        && size
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The refusal to act on a VM that is not this server's.
fn not_owned(vm: &str) -> ArmError {
    ArmError {
        status: 409,
        code: "VirtualMachineNotOwned".into(),
        message: format!("The virtual machine {vm} does not belong to this server (its `{OWNER_TAG}` tag differs), so Skyport leaves it alone."),
        target: Some(vm.to_string()),
        retry_after: None,
    }
}

/// The server's VM, only if it is the server's.
fn owned_vm(arm: &SpinArm<'_>, vm: &str, owner: &str) -> Result<Value, ArmError> {
    let Some(found) = arm.find(vm, COMPUTE_API)? else {
        return Err(ArmError {
            status: 404,
            code: "ResourceNotFound".into(),
            message: format!("The virtual machine {vm} no longer exists."),
            target: Some(vm.to_string()),
            retry_after: None,
        });
    };
    if !owned_by(&found, owner) {
        return Err(not_owned(vm));
    }
    Ok(found)
}

/// One `advance` of a power or resize token.
pub fn advance(arm: &SpinArm<'_>, mut t: Value) -> Result<Operation, ArmError> {
    if let Some(url) = t["poll"].as_str().map(str::to_string) {
        return match poll(arm, &url)? {
            Poll::Running => Ok(operation(&t, false)),
            Poll::Failed(e) => Err(e),
            Poll::Done => {
                t["poll"] = Value::Null;
                Ok(operation(&t, true))
            }
        };
    }
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
    // The token came from this plugin, but it is checked again: it is
    // stored outside the plugin between steps.
    let (vm, _) = checked_vm(&s("vm"))?;
    let current = owned_vm(arm, &vm, &s("owner"))?;
    let resp = if t["kind"] == "resize" {
        let size = s("size");
        if !valid_size(&size) {
            return Err(ArmError::other(
                "BadToken",
                "the token's size is not a size name",
            ));
        }
        let now = current["properties"]["hardwareProfile"]["vmSize"].as_str();
        if now.is_some_and(|n| n.eq_ignore_ascii_case(&size)) {
            return Ok(operation(&t, true));
        }
        // An update already running (this one, replayed after a crash, or
        // another): wait for it rather than send a second.
        if current["properties"]["provisioningState"].as_str() == Some("Updating") {
            return Ok(operation(&t, false));
        }
        // Only the size changes: a merge patch of the hardware profile.
        let patch = json!({ "properties": { "hardwareProfile": { "vmSize": size } } });
        let resp = arm.send("PATCH", &vm, COMPUTE_API, Some(&patch))?;
        let state = resp.json().and_then(|b| {
            b["properties"]["provisioningState"]
                .as_str()
                .map(str::to_string)
        });
        if state.as_deref() == Some("Succeeded") {
            return Ok(operation(&t, true));
        }
        resp
    } else {
        let action = s("action");
        let Some((arm_action, _, _)) = verb(&action) else {
            return Err(ArmError::other(
                "BadToken",
                "the token names no power action",
            ));
        };
        // A step replayed after a crash finds its own work under way or
        // done (the request went out, its poll was never stored): it waits
        // for it or ends, instead of asking Azure again.
        let view = arm.get(&format!("{vm}/instanceView"), COMPUTE_API)?;
        match (action.as_str(), azure_arm::power::power(&view).0) {
            (_, Power::Changing) => return Ok(operation(&t, false)),
            ("start", Power::Running) | ("stop", Power::Deallocated) => {
                return Ok(operation(&t, true))
            }
            _ => {}
        }
        arm.send("POST", &format!("{vm}/{arm_action}"), COMPUTE_API, None)?
    };
    match poll_url(&resp) {
        Some(url) if resp.status == 202 || resp.status == 201 || t["kind"] == "resize" => {
            t["poll"] = json!(url);
            Ok(operation(&t, false))
        }
        _ => Ok(operation(&t, true)),
    }
}

/// The sizes the server's VM can change to: Azure's list for that VM, less
/// the sizes the subscription may not use in its region, with each size's
/// family from the region's SKUs.
pub fn resize_sizes(
    arm: &SpinArm<'_>,
    server_id: &str,
    owner: &str,
) -> Result<Vec<Size>, ArmError> {
    let (vm, id) = checked_vm(server_id)?;
    let found = owned_vm(arm, &vm, owner)?;
    let region = found["location"].as_str().unwrap_or_default().to_string();
    names::check(Name::Region, &region)?;
    let offered = crate::catalogue::skus(arm, &id.subscription, &region)?;
    let available = arm.list(&format!("{vm}/vmSizes"), COMPUTE_API)?;
    let current = found["properties"]["hardwareProfile"]["vmSize"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(merge_sizes(&available, &offered, &current))
}

/// The VM's available sizes that the region's SKUs allow, the current one
/// left out, smallest first.
fn merge_sizes(available: &[Value], offered: &[(Value, bool)], current: &str) -> Vec<Size> {
    let mut sizes: Vec<Size> = available
        .iter()
        .filter_map(|a| {
            let name = a["name"].as_str()?;
            if name.eq_ignore_ascii_case(current) {
                return None;
            }
            let (sku, usable) = offered.iter().find(|(s, _)| {
                s["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })?;
            usable.then(|| Size {
                name: name.to_string(),
                vcpus: a["numberOfCores"].as_u64().unwrap_or(0) as u32,
                memory_gb: a["memoryInMB"].as_f64().unwrap_or(0.0) as f32 / 1024.0,
                family: sku["family"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect();
    sizes.sort_by(|a, b| {
        (a.vcpus, a.memory_gb, &a.name)
            .partial_cmp(&(b.vcpus, b.memory_gb, &b.name))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/skyport-web-abc/providers/Microsoft.Compute/virtualMachines/web";

    #[test]
    fn plans_write_nothing_and_name_their_one_step() {
        let op = plan_power(VM, "srv1", PowerAction::Stop).unwrap();
        assert!(!op.done);
        assert_eq!((op.step_index, op.steps), (1, 1));
        assert_eq!(op.step, "Stopping and deallocating the virtual machine");
        let t: Value = serde_json::from_str(&op.token).unwrap();
        assert_eq!(t["action"], "stop");
        assert_eq!(t["owner"], "srv1");
        let op = plan_resize(VM, "srv1", "Standard_B2s").unwrap();
        assert_eq!(
            op.step,
            "Changing the virtual machine's size to Standard_B2s"
        );
    }

    #[test]
    fn ids_and_sizes_that_could_bend_a_url_or_body_are_refused() {
        for bad in [
            "/subscriptions/x/../other",
            "https://evil.example/vm",
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
        ] {
            assert!(plan_power(bad, "o", PowerAction::Start).is_err(), "{bad}");
        }
        for bad in [
            "",
            "Standard B2s",
            "Standard_B2s?x=1",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(plan_resize(VM, "o", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resize_sizes_are_the_vms_less_restricted_and_current_smallest_first() {
        let available = vec![
            json!({ "name": "Standard_D4s_v5", "numberOfCores": 4, "memoryInMB": 16384 }),
            json!({ "name": "Standard_B1s", "numberOfCores": 1, "memoryInMB": 1024 }),
            json!({ "name": "Standard_B2s", "numberOfCores": 2, "memoryInMB": 4096 }),
            json!({ "name": "Standard_NC6", "numberOfCores": 6, "memoryInMB": 57344 }),
            json!({ "name": "Standard_Unlisted", "numberOfCores": 2, "memoryInMB": 2048 }),
        ];
        let offered = vec![
            (
                json!({ "name": "Standard_B1s", "family": "standardBSFamily" }),
                true,
            ),
            (
                json!({ "name": "Standard_B2s", "family": "standardBSFamily" }),
                true,
            ),
            (
                json!({ "name": "Standard_D4s_v5", "family": "standardDSv5Family" }),
                true,
            ),
            (
                json!({ "name": "Standard_NC6", "family": "standardNCFamily" }),
                false,
            ),
        ];
        let sizes = merge_sizes(&available, &offered, "standard_b1s");
        let names: Vec<&str> = sizes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Standard_B2s", "Standard_D4s_v5"]);
        assert_eq!(sizes[0].family, "standardBSFamily");
        assert_eq!(sizes[0].memory_gb, 4.0);
    }
}
