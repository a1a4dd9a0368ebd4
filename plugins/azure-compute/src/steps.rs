//! A server's creation and deletion as a state machine. The token is the
//! whole state (JSON); each `advance` either checks the long-running
//! operation in flight or makes the next idempotent PUT, so replaying a step
//! after a crash re-asserts what exists instead of making it twice.

use azure_arm::{Arm, ArmError};
use base64::Engine;
use serde_json::{json, Value};

use crate::exports::skyport::compute::compute::{
    Operation, Server, ServerSpec, ServerState, ServerStatus,
};
use crate::with_arm;
use azure_arm::contract::types::{self as wit, Session};
use azure_arm::power::Power;

const NETWORK_API: &str = "2024-05-01";
const COMPUTE_API: &str = "2024-07-01";
const GROUPS_API: &str = "2021-04-01";

const CREATE_STEPS: &[&str] = &[
    "Creating the resource group",
    "Creating the virtual network",
    "Creating the public IP address",
    "Creating the network security group",
    "Creating the network interface",
    "Creating the virtual machine",
    "Reading the public IP address",
];

pub struct Ids {
    pub group: String,
    vnet: String,
    ip: String,
    nsg: String,
    nic: String,
    vm: String,
}

/// The tag that says which server a resource belongs to.
pub const OWNER_TAG: &str = "skyport-server";

/// The server's own resource group: its name and a short form of its owner
/// id, so two servers of one name (in any region) never share a group.
pub fn group_name(name: &str, owner: &str) -> String {
    let short: String = owner
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("skyport-{name}-{short}")
}

/// Whether a resource (as ARM returns it) carries `owner`'s tag.
pub fn owned_by(resource: &Value, owner: &str) -> bool {
    !owner.is_empty() && resource["tags"][OWNER_TAG].as_str() == Some(owner)
}

pub fn ids(scope: &str, name: &str, owner: &str) -> Ids {
    let group = format!(
        "/subscriptions/{scope}/resourceGroups/{}",
        group_name(name, owner)
    );
    let net = format!("{group}/providers/Microsoft.Network");
    Ids {
        vnet: format!("{net}/virtualNetworks/{name}-vnet"),
        ip: format!("{net}/publicIPAddresses/{name}-ip"),
        nsg: format!("{net}/networkSecurityGroups/{name}-nsg"),
        nic: format!("{net}/networkInterfaces/{name}-nic"),
        vm: format!("{group}/providers/Microsoft.Compute/virtualMachines/{name}"),
        group,
    }
}

fn server(t: &Value, public_ip: Option<String>) -> Server {
    let name = t["name"].as_str().unwrap_or_default();
    let i = ids(
        t["scope"].as_str().unwrap_or_default(),
        name,
        t["owner"].as_str().unwrap_or_default(),
    );
    Server {
        id: i.vm.clone(),
        name: name.to_string(),
        region: t["region"].as_str().unwrap_or_default().to_string(),
        size: t["size"].as_str().unwrap_or_default().to_string(),
        public_ip,
        resources: vec![i.group, i.vnet, i.ip, i.nsg, i.nic, i.vm],
    }
}

fn operation(t: &Value, done: bool, public_ip: Option<String>) -> Operation {
    let create = t["kind"] == "create";
    let step = t["step"].as_u64().unwrap_or(1) as usize;
    let steps: &[&str] = if create {
        CREATE_STEPS
    } else {
        &["Checking and deleting the server's resource group"]
    };
    let index = step.clamp(1, steps.len());
    Operation {
        token: t.to_string(),
        step: if done {
            if create {
                "Server ready".into()
            } else {
                "Server deleted".into()
            }
        } else {
            steps[index - 1].to_string()
        },
        step_index: index as u32,
        steps: steps.len() as u32,
        done,
        server: create.then(|| server(t, public_ip)),
    }
}

pub fn plan_create(spec: &ServerSpec) -> Operation {
    let labels: serde_json::Map<String, Value> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let t = json!({
        "kind": "create", "scope": spec.scope, "region": spec.region, "size": spec.size, "name": spec.name,
        "admin": spec.admin_username, "key": spec.ssh_public_key, "cloud_init": spec.cloud_init, "step": 1, "poll": null,
        "owner": spec.owner, "labels": labels,
    });
    operation(&t, false, None)
}

pub fn plan_delete(server_id: &str, owner: &str) -> Result<Operation, wit::Error> {
    let bad = || {
        wit::Error::InvalidInput(wit::Detail {
            code: "BadServerId".into(),
            message: format!("`{server_id}` is not a server id of this plugin"),
            target: None,
        })
    };
    let id = azure_arm::names::resource_id(
        server_id,
        "Microsoft.Compute",
        "virtualMachines",
        azure_arm::names::Name::Server,
        None,
    )
    .map_err(|_| bad())?;
    let (scope, group, name) = (id.subscription, id.resource_group, id.name);
    let t = json!({ "kind": "delete", "scope": scope, "group": group, "name": name, "owner": owner, "step": 1, "poll": null });
    Ok(operation(&t, false, None))
}

/// A server's state as Azure sees it: its VM by id (checked like every id
/// before it reaches a URL), then the VM's instance view. A VM that is gone,
/// or that stands where the server's was without its owner tag, is missing.
pub fn inspect(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    server_id: &str,
    owner: &str,
) -> Result<ServerStatus, ArmError> {
    azure_arm::names::resource_id(
        server_id,
        "Microsoft.Compute",
        "virtualMachines",
        azure_arm::names::Name::Server,
        None,
    )?;
    let missing = |detail: &str| ServerStatus {
        state: ServerState::Missing,
        detail: detail.to_string(),
    };
    let Some(vm) = arm.find(server_id, COMPUTE_API)? else {
        return Ok(missing("The virtual machine no longer exists"));
    };
    if !owned_by(&vm, owner) {
        return Ok(missing(
            "A virtual machine that is not this server's stands in its place",
        ));
    }
    let view = match arm.find(&format!("{server_id}/instanceView"), COMPUTE_API)? {
        Some(v) => v,
        None => return Ok(missing("The virtual machine no longer exists")),
    };
    let (power, detail) = azure_arm::power::power(&view);
    let state = match power {
        Power::Running => ServerState::Running,
        Power::Changing => ServerState::Changing,
        Power::Stopped => ServerState::Stopped,
        Power::Deallocated => ServerState::Deallocated,
    };
    Ok(ServerStatus { state, detail })
}

/// The refusal to touch a group Skyport cannot prove is this server's.
pub fn not_owned(group: &str) -> ArmError {
    ArmError {
        status: 409,
        code: "ResourceGroupNotOwned".into(),
        message: format!("The resource group {group} exists and does not belong to this server (its `{OWNER_TAG}` tag differs), so Skyport leaves it alone."),
        target: Some(group.to_string()),
        retry_after: None,
    }
}

/// Refuses when a group exists where the server's would be and is not the
/// server's: Skyport never writes into it (preflight, and step 1 again).
pub fn refuse_foreign_group(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    group: &str,
    owner: &str,
) -> Result<(), ArmError> {
    match arm.find(group, GROUPS_API)? {
        Some(g) if !owned_by(&g, owner) => Err(not_owned(group)),
        _ => Ok(()),
    }
}

/// Checks that everything in the server's group is the server's: tagged with
/// its owner id, or managed by something that is (the VM's OS disk).
fn check_group_is_ours(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    group: &str,
    owner: &str,
) -> Result<bool, ArmError> {
    let Some(g) = arm.find(group, GROUPS_API)? else {
        return Ok(false);
    };
    if !owned_by(&g, owner) {
        return Err(not_owned(group));
    }
    let inside = arm.list(&format!("{group}/resources"), GROUPS_API)?;
    let ours: Vec<String> = inside
        .iter()
        .filter(|r| owned_by(r, owner))
        .filter_map(|r| r["id"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let foreign: Vec<&str> = inside
        .iter()
        .filter(|r| !owned_by(r, owner))
        .filter(|r| {
            !r["managedBy"]
                .as_str()
                .is_some_and(|m| ours.contains(&m.to_ascii_lowercase()))
        })
        .filter_map(|r| r["name"].as_str())
        .collect();
    if !foreign.is_empty() {
        return Err(ArmError {
            status: 409,
            code: "ResourceGroupHoldsOtherResources".into(),
            message: format!(
                "The server's resource group also holds {} that Skyport did not create for this server, so Skyport does not delete the group.",
                foreign.join(", ")
            ),
            target: Some(group.to_string()),
            retry_after: None,
        });
    }
    Ok(true)
}

/// The state of the long-running operation at `url`.
pub(crate) enum Poll {
    Running,
    Done,
    Failed(ArmError),
}

pub(crate) fn poll(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    url: &str,
) -> Result<Poll, ArmError> {
    let resp = match arm.send("GET", url, COMPUTE_API, None) {
        Ok(r) => r,
        // A Location poll reports a failure as an error status.
        Err(e) if e.status >= 400 && e.status < 500 && e.status != 429 => {
            return Ok(Poll::Failed(e))
        }
        Err(e) => return Err(e),
    };
    if resp.status == 202 {
        return Ok(Poll::Running);
    }
    let body = resp.json().unwrap_or(Value::Null);
    Ok(match body["status"].as_str() {
        None | Some("Succeeded") => Poll::Done,
        Some("Failed") | Some("Canceled") | Some("Cancelled") => Poll::Failed(ArmError {
            status: 409,
            code: body["error"]["code"]
                .as_str()
                .unwrap_or("OperationFailed")
                .to_string(),
            message: body["error"]["message"]
                .as_str()
                .unwrap_or("the operation failed")
                .to_string(),
            target: None,
            retry_after: None,
        }),
        Some(_) => Poll::Running,
    })
}

/// PUTs a resource; returns the operation to poll when it is still being made.
fn put(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    id: &str,
    api: &str,
    body: &Value,
) -> Result<Option<String>, ArmError> {
    let resp = arm.send("PUT", id, api, Some(body))?;
    let state = resp.json().and_then(|b| {
        b["properties"]["provisioningState"]
            .as_str()
            .map(str::to_string)
    });
    if state.as_deref() == Some("Succeeded") {
        return Ok(None);
    }
    Ok(poll_url(&resp))
}

/// The long-running operation an accepted write left to poll, if any.
pub(crate) fn poll_url(resp: &azure_arm::Response) -> Option<String> {
    resp.header("azure-asyncoperation")
        .or(resp.header("location"))
        .map(str::to_string)
}

fn rule(name: &str, priority: u32, port: &str) -> Value {
    json!({ "name": name, "properties": { "priority": priority, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": port } })
}

/// The PUT that makes step `step` of a creation.
fn create_step(
    arm: &Arm<'_, azure_arm::spin_transport::SpinTransport>,
    t: &Value,
    step: u64,
) -> Result<Option<String>, ArmError> {
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
    let (region, name, owner) = (s("region"), s("name"), s("owner"));
    let i = ids(&s("scope"), &name, &owner);
    let mut tags = json!({ "managed-by": "skyport", OWNER_TAG: owner, "skyport-name": name });
    if let Some(labels) = t["labels"].as_object() {
        for (k, v) in labels {
            tags[k] = v.clone();
        }
    }
    match step {
        1 => {
            refuse_foreign_group(arm, &i.group, &owner)?;
            put(
                arm,
                &i.group,
                GROUPS_API,
                &json!({ "location": region, "tags": tags }),
            )
        }
        2 => put(
            arm,
            &i.vnet,
            NETWORK_API,
            &json!({ "location": region, "tags": tags, "properties": {
            "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
            "subnets": [{ "name": "default", "properties": { "addressPrefix": "10.0.0.0/24" } }] } }),
        ),
        3 => put(
            arm,
            &i.ip,
            NETWORK_API,
            &json!({ "location": region, "tags": tags, "sku": { "name": "Standard", "tier": "Regional" },
            "properties": { "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4" } }),
        ),
        4 => put(
            arm,
            &i.nsg,
            NETWORK_API,
            &json!({ "location": region, "tags": tags, "properties": {
            "securityRules": [rule("ssh", 1000, "22"), rule("http", 1010, "80"), rule("https", 1020, "443")] } }),
        ),
        5 => put(
            arm,
            &i.nic,
            NETWORK_API,
            &json!({ "location": region, "tags": tags, "properties": {
            "networkSecurityGroup": { "id": i.nsg },
            "ipConfigurations": [{ "name": "ipconfig1", "properties": {
                "subnet": { "id": format!("{}/subnets/default", i.vnet) }, "privateIPAllocationMethod": "Dynamic", "publicIPAddress": { "id": i.ip } } }] } }),
        ),
        6 => {
            let admin = s("admin");
            let mut os = json!({
                "computerName": name, "adminUsername": admin,
                "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": format!("/home/{admin}/.ssh/authorized_keys"), "keyData": s("key") }] } },
            });
            if let Some(ci) = t["cloud_init"].as_str() {
                os["customData"] = json!(base64::engine::general_purpose::STANDARD.encode(ci));
            }
            put(
                arm,
                &i.vm,
                COMPUTE_API,
                &json!({ "location": region, "tags": tags, "properties": {
                "hardwareProfile": { "vmSize": s("size") },
                "storageProfile": {
                    "imageReference": { "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest" },
                    "osDisk": { "createOption": "FromImage", "caching": "ReadWrite", "deleteOption": "Delete", "managedDisk": { "storageAccountType": "StandardSSD_LRS" } } },
                "osProfile": os,
                "networkProfile": { "networkInterfaces": [{ "id": i.nic, "properties": { "primary": true, "deleteOption": "Delete" } }] } } }),
            )
        }
        _ => Ok(None),
    }
}

pub fn advance(session: &Session, token: &str) -> Result<Operation, wit::Error> {
    let mut t: Value = serde_json::from_str(token).map_err(|_| {
        wit::Error::InvalidInput(wit::Detail {
            code: "BadToken".into(),
            message: "not an operation token of this plugin".into(),
            target: None,
        })
    })?;
    with_arm(session, |arm| {
        if t["kind"] == "power" || t["kind"] == "resize" {
            return crate::actions::advance(arm, t);
        }
        if let Some(url) = t["poll"].as_str().map(str::to_string) {
            match poll(arm, &url)? {
                Poll::Running => return Ok(operation(&t, false, None)),
                Poll::Failed(e) => return Err(e),
                Poll::Done => {
                    t["poll"] = Value::Null;
                    if t["kind"] == "delete" {
                        return Ok(operation(&t, true, None));
                    }
                    // The next step starts on the next advance, after the
                    // platform has persisted this one: a failure is then
                    // always reported against the step that failed.
                    t["step"] = json!(t["step"].as_u64().unwrap_or(1) + 1);
                    return Ok(operation(&t, false, None));
                }
            }
        }
        let step = t["step"].as_u64().unwrap_or(1);
        if t["kind"] == "delete" {
            let group = format!(
                "/subscriptions/{}/resourceGroups/{}",
                t["scope"].as_str().unwrap_or_default(),
                t["group"].as_str().unwrap_or_default()
            );
            // Only a group that is wholly this server's is deleted; one that
            // is already gone is done.
            if !check_group_is_ours(arm, &group, t["owner"].as_str().unwrap_or_default())? {
                return Ok(operation(&t, true, None));
            }
            let resp = arm.send("DELETE", &group, GROUPS_API, None)?;
            if resp.status == 202 {
                t["poll"] = json!(resp
                    .header("location")
                    .or(resp.header("azure-asyncoperation"))
                    .unwrap_or_default());
                return Ok(operation(&t, false, None));
            }
            return Ok(operation(&t, true, None));
        }
        if step as usize >= CREATE_STEPS.len() {
            let name = t["name"].as_str().unwrap_or_default().to_string();
            let ip = arm.get(
                &ids(
                    t["scope"].as_str().unwrap_or_default(),
                    &name,
                    t["owner"].as_str().unwrap_or_default(),
                )
                .ip,
                NETWORK_API,
            )?;
            let address = ip["properties"]["ipAddress"].as_str().map(str::to_string);
            return Ok(operation(&t, address.is_some(), address));
        }
        match create_step(arm, &t, step)? {
            Some(url) => t["poll"] = json!(url),
            None => t["step"] = json!(step + 1),
        }
        Ok(operation(&t, false, None))
    })
}
