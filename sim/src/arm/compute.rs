//! Microsoft.Compute: resource SKUs (with the subscription's restrictions),
//! usages and quotas, VM sizes, and virtual machines — checked for size,
//! restriction, quota, image, SSH-only login and NIC before anything is made.

use base64::Engine;
use http::Method;
use serde_json::{json, Value};

use super::errors::{arm_error, invalid_parameter};
use super::network::body_and_location;
use super::store::{self, Group};
use crate::http::{Req, Resp};
use crate::state::{guid, iso_now, OpKind, State};
use crate::world::{REGIONS, VM_SIZES};

pub const VM: &str = "Microsoft.Compute/virtualMachines";
pub const DISK: &str = "Microsoft.Compute/disks";

/// User names Azure refuses for the admin account.
const RESERVED_USERS: &[&str] = &[
    "administrator",
    "admin",
    "user",
    "user1",
    "test",
    "user2",
    "test1",
    "user3",
    "admin1",
    "1",
    "123",
    "a",
    "actuser",
    "adm",
    "admin2",
    "aspnet",
    "backup",
    "console",
    "david",
    "guest",
    "john",
    "owner",
    "root",
    "server",
    "sql",
    "support",
    "support_388945a0",
    "sys",
    "test2",
    "test3",
    "user4",
    "user5",
];

fn size(name: &str) -> Option<&'static (&'static str, &'static str, u64, f64, f64)> {
    VM_SIZES.iter().find(|s| s.0.eq_ignore_ascii_case(name))
}

fn restricted(state: &State, sub: &str, size: &str, loc: &str) -> Option<String> {
    state
        .subscription(sub)?
        .sku_restrictions
        .iter()
        .find(|r| {
            r.size.eq_ignore_ascii_case(size)
                && r.locations.iter().any(|l| l.eq_ignore_ascii_case(loc))
        })
        .map(|r| r.reason.clone())
}

/// `GET …/providers/Microsoft.Compute/skus[?$filter=location eq 'x']`.
pub fn skus(state: &mut State, sub: &str, req: &Req) -> Resp {
    let filter = req.q("$filter").unwrap_or("");
    let only = filter
        .split('\'')
        .nth(1)
        .filter(|_| filter.to_ascii_lowercase().contains("location eq"))
        .map(str::to_ascii_lowercase);
    if !filter.is_empty() && only.is_none() {
        return arm_error(
            400,
            "InvalidFilter",
            "Only the filter \"location eq '<location>'\" is supported.",
        );
    }
    let mut items = Vec::new();
    for region in REGIONS.iter().map(|r| r.name) {
        if only.as_deref().is_some_and(|o| o != region) {
            continue;
        }
        for (name, family, vcpus, mem, _) in VM_SIZES {
            let restrictions: Vec<Value> = restricted(state, sub, name, region)
                .map(|reason| json!({ "type": "Location", "values": [region], "restrictionInfo": { "locations": [region], "zones": [] }, "reasonCode": reason }))
                .into_iter()
                .collect();
            items.push(json!({
                "resourceType": "virtualMachines",
                "name": name,
                "tier": "Standard",
                "size": name.trim_start_matches("Standard_"),
                "family": family,
                "locations": [region],
                "locationInfo": [{ "location": region, "zones": ["1", "2", "3"], "zoneDetails": [] }],
                "capabilities": [
                    { "name": "vCPUs", "value": vcpus.to_string() },
                    { "name": "MemoryGB", "value": mem.to_string() },
                    { "name": "HyperVGenerations", "value": "V1,V2" },
                    { "name": "CpuArchitectureType", "value": "x64" },
                    { "name": "PremiumIO", "value": "True" },
                    { "name": "AcceleratedNetworkingEnabled", "value": if family.contains("BS") { "False" } else { "True" } },
                    { "name": "MaxNetworkInterfaces", "value": "2" },
                ],
                "restrictions": restrictions,
            }));
        }
    }
    store::page(state, req, items)
}

fn quota_label(name: &str) -> String {
    match name {
        "cores" => "Total Regional vCPUs".into(),
        "virtualMachines" => "Virtual Machines".into(),
        f => {
            let core = f.trim_start_matches("standard").trim_end_matches("Family");
            format!("Standard {core} Family vCPUs")
        }
    }
}

/// The limit of quota `name` in `loc` (a regional entry beats `*`).
fn limit(state: &State, sub: &str, name: &str, loc: &str) -> u64 {
    let quotas = state
        .subscription(sub)
        .map(|s| s.quotas.clone())
        .unwrap_or_default();
    quotas
        .iter()
        .find(|q| q.name.eq_ignore_ascii_case(name) && q.location.eq_ignore_ascii_case(loc))
        .or_else(|| {
            quotas
                .iter()
                .find(|q| q.name.eq_ignore_ascii_case(name) && q.location == "*")
        })
        .map(|q| q.limit)
        .unwrap_or(0)
}

/// Current usage of quota `name` in `loc`, from the VMs that exist.
fn usage(state: &State, sub: &str, name: &str, loc: &str, except: Option<&str>) -> u64 {
    state
        .resources
        .values()
        .filter(|r| {
            r.kind == VM
                && r.subscription.eq_ignore_ascii_case(sub)
                && r.body["location"].as_str() == Some(loc)
        })
        .filter(|r| except.is_none_or(|e| !r.id.eq_ignore_ascii_case(e)))
        .filter_map(|r| size(r.body["properties"]["hardwareProfile"]["vmSize"].as_str()?))
        .map(|(_, family, vcpus, _, _)| match name {
            "cores" => *vcpus,
            "virtualMachines" => 1,
            f if f.eq_ignore_ascii_case(family) => *vcpus,
            _ => 0,
        })
        .sum()
}

pub fn usages(state: &mut State, sub: &str, loc: &str, req: &Req) -> Resp {
    let loc = loc.to_ascii_lowercase();
    let mut names = vec!["cores".to_string(), "virtualMachines".to_string()];
    for (_, family, _, _, _) in VM_SIZES {
        if !names.iter().any(|n| n == family) {
            names.push(family.to_string());
        }
    }
    let items: Vec<Value> = names
        .iter()
        .map(|n| json!({ "unit": "Count", "currentValue": usage(state, sub, n, &loc, None), "limit": limit(state, sub, n, &loc), "name": { "value": n, "localizedValue": quota_label(n) } }))
        .collect();
    store::page(state, req, items)
}

/// A `VirtualMachineSize` as both size lists give it.
fn size_body(&(name, _, vcpus, mem, _): &(&str, &str, u64, f64, f64)) -> Value {
    json!({ "name": name, "numberOfCores": vcpus, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 4096 * vcpus, "memoryInMB": (mem * 1024.0) as u64, "maxDataDiskCount": 4 * vcpus })
}

pub fn vm_sizes(state: &mut State, _sub: &str, _loc: &str, req: &Req) -> Resp {
    let items: Vec<Value> = VM_SIZES.iter().map(size_body).collect();
    store::page(state, req, items)
}

/// `GET …/virtualMachines/{vm}/vmSizes`: the sizes the VM can be resized to
/// where it is (every size of its region here, one page, no `nextLink`, as
/// Azure answers it).
pub fn available_sizes(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    if req.method != Method::GET {
        return arm_error(405, "MethodNotAllowed", "The method is not allowed.");
    }
    if store::get(state, &g.id(VM, name)).is_none() {
        return store::not_found(VM, name, &g.rg);
    }
    let items: Vec<Value> = VM_SIZES.iter().map(size_body).collect();
    Resp::json(200, &json!({ "value": items }))
}

/// The first thing wrong with a VM body, as ARM would answer it.
fn check_vm(
    state: &State,
    g: &Group,
    id: &str,
    name: &str,
    loc: &str,
    b: &Value,
) -> Result<(), Resp> {
    let p = &b["properties"];
    let Some(size_name) = p["hardwareProfile"]["vmSize"].as_str() else {
        return Err(invalid_parameter(
            "Required parameter 'hardwareProfile.vmSize' is missing (null).",
            "vmSize",
        ));
    };
    let Some((size_name, family, vcpus, _, _)) = size(size_name) else {
        let valid: Vec<&str> = VM_SIZES.iter().map(|s| s.0).collect();
        return Err(invalid_parameter(&format!("The value {size_name} provided for the VM size is not valid. The valid sizes in the current region are: {}.", valid.join(",")), "vmSize"));
    };
    if restricted(state, &g.sub, size_name, loc).is_some() {
        return Err(arm_error(409, "SkuNotAvailable", &format!("The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: {size_name}' is currently not available in location '{loc}'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.")));
    }
    for (quota, need) in [("cores", *vcpus), (*family, *vcpus), ("virtualMachines", 1)] {
        let used = usage(state, &g.sub, quota, loc, Some(id));
        let lim = limit(state, &g.sub, quota, loc);
        if used + need > lim {
            let what = match quota {
                "cores" => "Total Regional Cores".to_string(),
                "virtualMachines" => "Virtual Machines".to_string(),
                f => f.to_string() + " Cores",
            };
            return Err(arm_error(409, "OperationNotAllowed", &format!("Operation could not be completed as it results in exceeding approved {what} quota. Additional details - Deployment Model: Resource Manager, Location: {loc}, Current Limit: {lim}, Current Usage: {used}, Additional Required: {need}, (Minimum) New Limit Required: {}. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView by specifying parameters listed in the ‘Details’ section for deployment to succeed. Please read more about quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/per-vm-quota-requests", used + need)));
        }
    }
    let image = &p["storageProfile"]["imageReference"];
    if image["id"].is_null()
        && ["publisher", "offer", "sku"]
            .iter()
            .any(|k| image[k].as_str().is_none_or(str::is_empty))
    {
        return Err(invalid_parameter("Required parameter 'storageProfile.imageReference' must name publisher, offer, sku and version.", "imageReference"));
    }
    let os = &p["osProfile"];
    let Some(admin) = os["adminUsername"].as_str() else {
        return Err(invalid_parameter(
            "Required parameter 'adminUsername' is missing (null).",
            "adminUsername",
        ));
    };
    if RESERVED_USERS.contains(&admin.to_ascii_lowercase().as_str())
        || admin.len() > 64
        || admin.is_empty()
    {
        return Err(invalid_parameter(
            "The Admin Username specified is not allowed.",
            "adminUsername",
        ));
    }
    let linux = &os["linuxConfiguration"];
    let keys = linux["ssh"]["publicKeys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if linux["disablePasswordAuthentication"].as_bool() == Some(true) {
        if keys.is_empty() {
            return Err(invalid_parameter("Required parameter 'linuxConfiguration.ssh.publicKeys' is missing: password authentication is disabled, so an SSH key is needed.", "linuxConfiguration.ssh.publicKeys"));
        }
    } else if os["adminPassword"].as_str().is_none() {
        return Err(invalid_parameter(
            "Required parameter 'adminPassword' is missing (null).",
            "adminPassword",
        ));
    }
    let expected_path = format!("/home/{admin}/.ssh/authorized_keys");
    for k in &keys {
        if k["path"].as_str() != Some(expected_path.as_str()) {
            return Err(invalid_parameter(&format!("Destination path for SSH public keys is currently limited to its default value {expected_path} due to a known issue in Linux provisioning agent."), "linuxConfiguration.ssh.publicKeys.path"));
        }
        let data = k["keyData"].as_str().unwrap_or("");
        let ok = ["ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-nistp256 "]
            .iter()
            .any(|p| data.starts_with(p))
            && data
                .split_whitespace()
                .nth(1)
                .is_some_and(|b| base64::engine::general_purpose::STANDARD.decode(b).is_ok());
        if !ok {
            return Err(invalid_parameter(
                "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.",
                "linuxConfiguration.ssh.publicKeys.keyData",
            ));
        }
    }
    if let Some(custom) = os["customData"].as_str() {
        match base64::engine::general_purpose::STANDARD.decode(custom) {
            Ok(d) if d.len() <= 65535 => {}
            Ok(_) => return Err(invalid_parameter("Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.", "customData")),
            Err(_) => return Err(invalid_parameter("Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.", "customData")),
        }
    }
    let nics = p["networkProfile"]["networkInterfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if nics.is_empty() {
        return Err(invalid_parameter("Virtual machine must have at least one network interface: properties.networkProfile.networkInterfaces.", "networkProfile"));
    }
    for n in &nics {
        let nic_id = n["id"].as_str().unwrap_or("");
        let Some(nic) = state.resource(nic_id) else {
            return Err(arm_error(
                404,
                "NotFound",
                &format!("Resource {nic_id} not found."),
            ));
        };
        if nic.body["location"].as_str() != Some(loc) {
            return Err(invalid_parameter(&format!("The network interface {nic_id} is in location '{}', but the virtual machine {name} is in '{loc}'; they must be in the same location.", nic.body["location"].as_str().unwrap_or("")), "networkProfile.networkInterfaces"));
        }
        if let Some(other) = nic.body["properties"]["virtualMachine"]["id"].as_str() {
            if !other.eq_ignore_ascii_case(id) && state.resource(other).is_some() {
                return Err(arm_error(
                    400,
                    "NicInUse",
                    &format!("Network Interface {nic_id} is used by existing resource {other}."),
                ));
            }
        }
    }
    Ok(())
}

pub fn virtual_machine(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(VM, name);
    match req.method {
        Method::GET => get_vm(state, req, g, name),
        Method::PUT => {
            let (b, loc) = match body_and_location(req) {
                Ok(x) => x,
                Err(r) => return r,
            };
            if let Err(r) = check_vm(state, g, &id, name, &loc, &b) {
                return r;
            }
            let existing = state.resource(&id).cloned();
            if existing.is_none() {
                // A new VM of a name used before starts out running.
                state.vm_power.remove(&id.to_ascii_lowercase());
            }
            let p = &b["properties"];
            let mut os = p["osProfile"].clone();
            // ARM never echoes custom data or passwords.
            if let Some(o) = os.as_object_mut() {
                o.remove("customData");
                o.remove("adminPassword");
                o.entry("computerName").or_insert(json!(name));
                o.entry("secrets").or_insert(json!([]));
            }
            let disk_name = existing
                .as_ref()
                .and_then(|e| {
                    e.body["properties"]["storageProfile"]["osDisk"]["name"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format!("{name}_OsDisk_1_{}", guid().replace('-', "")));
            let disk_id = g.id(DISK, &disk_name);
            let mut os_disk = p["storageProfile"]["osDisk"].clone();
            os_disk["name"] = json!(disk_name);
            os_disk["osType"] = json!("Linux");
            os_disk["managedDisk"]["id"] = json!(disk_id);
            let mut out = json!({
                "id": id, "name": name, "type": VM, "location": loc,
                "properties": {
                    "vmId": existing.as_ref().and_then(|e| e.body["properties"]["vmId"].as_str().map(str::to_string)).unwrap_or_else(guid),
                    "hardwareProfile": p["hardwareProfile"],
                    "storageProfile": { "imageReference": p["storageProfile"]["imageReference"], "osDisk": os_disk, "dataDisks": [] },
                    "osProfile": os,
                    "networkProfile": p["networkProfile"],
                    "timeCreated": iso_now(),
                },
            });
            if let Some(tags) = b.get("tags") {
                out["tags"] = tags.clone();
            }
            let resp = store::put_with_operation(state, req, g, VM, out, "Creating");
            // The OS disk exists alongside the VM, and each NIC knows its VM.
            let disk = json!({
                "id": disk_id, "name": disk_name, "type": DISK, "location": loc, "managedBy": id,
                "sku": { "name": p["storageProfile"]["osDisk"]["managedDisk"]["storageAccountType"].as_str().unwrap_or("StandardSSD_LRS") },
                "properties": { "osType": "Linux", "diskSizeGB": p["storageProfile"]["osDisk"]["diskSizeGB"].as_u64().unwrap_or(30), "diskState": "Attached", "provisioningState": "Succeeded" },
            });
            store::put(state, DISK, Some(g), &g.sub, &disk_id, disk);
            for n in p["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(nic) = n["id"]
                    .as_str()
                    .and_then(|i| state.resources.get_mut(&i.to_ascii_lowercase()))
                {
                    nic.body["properties"]["virtualMachine"] = json!({ "id": id });
                }
            }
            resp
        }
        // An update (the portal's and the SDKs' resize): a JSON merge patch
        // of the VM as it is, checked like a PUT, then an operation.
        Method::PATCH => {
            let Some(current) = store::get(state, &id) else {
                return store::not_found(VM, name, &g.rg);
            };
            let patch = match super::body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let mut merged = current;
            merge_patch(&mut merged, &patch);
            let loc = merged["location"].as_str().unwrap_or_default().to_string();
            if let Err(r) = check_vm(state, g, &id, name, &loc, &merged) {
                return r;
            }
            store::put_with_operation(state, req, g, VM, merged, "Updating")
        }
        Method::DELETE => {
            let Some(vm) = state.resource(&id).cloned() else {
                return Resp::new(204);
            };
            let mut ids = vec![id.clone()];
            let os_disk = &vm.body["properties"]["storageProfile"]["osDisk"];
            if os_disk["deleteOption"].as_str() == Some("Delete") {
                if let Some(d) = os_disk["managedDisk"]["id"].as_str() {
                    ids.push(d.to_string());
                }
            } else if let Some(d) = os_disk["managedDisk"]["id"]
                .as_str()
                .and_then(|d| state.resources.get_mut(&d.to_ascii_lowercase()))
            {
                d.body["managedBy"] = Value::Null;
                d.body["properties"]["diskState"] = json!("Unattached");
            }
            for n in vm.body["properties"]["networkProfile"]["networkInterfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let Some(nic_id) = n["id"].as_str() else {
                    continue;
                };
                if n["properties"]["deleteOption"].as_str() == Some("Delete") {
                    ids.push(nic_id.to_string());
                } else if let Some(nic) = state.resources.get_mut(&nic_id.to_ascii_lowercase()) {
                    if let Some(p) = nic.body["properties"].as_object_mut() {
                        p.remove("virtualMachine");
                    }
                }
            }
            store::delete_with_operation(state, req, g, VM, ids)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

/// Applies a JSON merge patch (RFC 7396) to a resource as ARM's PATCH does:
/// objects merge, anything else replaces, `null` removes. What names the
/// resource (`id`, `name`, `type`, `location`) and its provisioning state
/// are not the client's to change.
fn merge_patch(target: &mut Value, patch: &Value) {
    fn merge(target: &mut Value, patch: &Value) {
        match (target.as_object_mut(), patch.as_object()) {
            (Some(t), Some(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
            _ => *target = patch.clone(),
        }
    }
    let mut patch = patch.clone();
    if let Some(p) = patch.as_object_mut() {
        for fixed in ["id", "name", "type", "location"] {
            p.remove(fixed);
        }
        if let Some(props) = p.get_mut("properties").and_then(Value::as_object_mut) {
            props.remove("provisioningState");
        }
    }
    merge(target, &patch);
}

/// A VM's instance view in Azure's `VirtualMachineInstanceView` shape: the
/// provisioning state (with its time) and the power state among `statuses`,
/// the guest agent and the OS disk.
fn instance_view_body(state: &State, vm: &Value) -> Value {
    let props = &vm["properties"];
    let power_now = vm["id"]
        .as_str()
        .and_then(|id| state.vm_power.get(&id.to_ascii_lowercase()));
    let prov = props["provisioningState"]
        .as_str()
        .unwrap_or("Succeeded")
        .to_string();
    let lower = prov.to_ascii_lowercase();
    let time = props["timeCreated"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(iso_now);
    let display = match lower.as_str() {
        "succeeded" => "Provisioning succeeded".to_string(),
        "failed" => "Provisioning failed".to_string(),
        _ => prov.clone(),
    };
    let (power, power_display) = match (lower.as_str(), power_now) {
        (_, Some(p)) => (format!("PowerState/{p}"), format!("VM {p}")),
        ("succeeded", None) => ("PowerState/running".into(), "VM running".into()),
        ("failed", None) => ("PowerState/stopped".into(), "VM stopped".into()),
        ("deleting", None) => ("PowerState/stopping".into(), "VM stopping".into()),
        _ => ("PowerState/starting".into(), "VM starting".into()),
    };
    let level = if lower == "failed" { "Error" } else { "Info" };
    let running = lower == "succeeded" && power_now.is_none();
    let mut view = json!({
        "computerName": props["osProfile"]["computerName"],
        "osName": "ubuntu",
        "osVersion": "24.04",
        "hyperVGeneration": "V2",
        "statuses": [
            { "code": format!("ProvisioningState/{lower}"), "level": level, "displayStatus": display, "time": time },
            { "code": power, "level": "Info", "displayStatus": power_display },
        ],
    });
    if let Some(disk) = props["storageProfile"]["osDisk"]["name"].as_str() {
        view["disks"] = json!([{
            "name": disk,
            "statuses": [{ "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": time }],
        }]);
    }
    if running {
        view["vmAgent"] = json!({
            "vmAgentVersion": "2.13.1.1",
            "statuses": [{ "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready", "message": "Guest Agent is running", "time": iso_now() }],
            "extensionHandlers": [],
        });
    }
    view
}

/// `GET …/virtualMachines/{vm}?$expand=instanceView`: the VM with
/// `properties.instanceView`.
fn get_vm(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let expand = req.q("$expand").is_some_and(|e| {
        e.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("instanceView"))
    });
    match store::get(state, &g.id(VM, name)) {
        Some(mut body) => {
            if expand {
                body["properties"]["instanceView"] = instance_view_body(state, &body);
            }
            Resp::json(200, &body)
        }
        None => store::not_found(VM, name, &g.rg),
    }
}

/// `GET …/virtualMachines/{vm}/instanceView`.
pub fn instance_view(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    if req.method != Method::GET {
        return arm_error(405, "MethodNotAllowed", "The method is not allowed.");
    }
    let id = g.id(VM, name);
    let Some(vm) = store::get(state, &id) else {
        return store::not_found(VM, name, &g.rg);
    };
    Resp::json(200, &instance_view_body(state, &vm))
}

/// `POST …/virtualMachines/{vm}/{powerOff|deallocate|start|restart}`: 202
/// with the operation to poll; the instance view shows the transition
/// (`stopping`, `deallocating`, `starting`) until it ends.
pub fn power_action(state: &mut State, req: &Req, g: &Group, name: &str, action: &str) -> Resp {
    if req.method != Method::POST {
        return arm_error(405, "MethodNotAllowed", "The method is not allowed.");
    }
    let id = g.id(VM, name);
    let Some(vm) = store::get(state, &id) else {
        return store::not_found(VM, name, &g.rg);
    };
    let (during, to) = match action {
        "poweroff" => ("stopping", "stopped"),
        "deallocate" => ("deallocating", "deallocated"),
        _ => ("starting", "running"),
    };
    let location = vm["location"].as_str().unwrap_or("eastus").to_string();
    state
        .vm_power
        .insert(id.to_ascii_lowercase(), during.to_string());
    let op = super::lro::start(
        state,
        &g.sub,
        &location,
        "Microsoft.Compute",
        OpKind::Power {
            vm: id,
            to: to.to_string(),
        },
        &req.path,
    );
    super::lro::headers(state, Resp::new(202), &op, true, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_merges_objects_and_keeps_what_names_the_resource() {
        let mut vm = json!({
            "id": "/x/vm", "name": "vm", "location": "westeurope", "tags": { "a": "1" },
            "properties": { "hardwareProfile": { "vmSize": "Standard_B1s" }, "provisioningState": "Succeeded",
                            "osProfile": { "adminUsername": "azureuser" } },
        });
        merge_patch(
            &mut vm,
            &json!({
                "name": "other", "location": "eastus", "tags": { "a": null, "b": "2" },
                "properties": { "hardwareProfile": { "vmSize": "Standard_B2s" }, "provisioningState": "Failed" },
            }),
        );
        assert_eq!(vm["name"], "vm");
        assert_eq!(vm["location"], "westeurope");
        assert_eq!(vm["tags"], json!({ "b": "2" }));
        assert_eq!(
            vm["properties"]["hardwareProfile"]["vmSize"],
            "Standard_B2s"
        );
        assert_eq!(vm["properties"]["provisioningState"], "Succeeded");
        assert_eq!(vm["properties"]["osProfile"]["adminUsername"], "azureuser");
    }
}
