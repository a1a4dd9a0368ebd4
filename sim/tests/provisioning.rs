//! A Linux VM the way Skyport builds it — resource group, VNet + subnet,
//! Standard static IP, NSG, NIC, VM — with every semantic that catches a
//! client bug: dependencies, quotas, SKU restrictions, idempotent PUTs,
//! long-running operations, scripted failures and cascading deletes.

mod support;

use serde_json::{json, Value};
use sim::state::LroFailure;
use sim::world::defaults::*;
use sim::Command;
use support::*;

const NET: &str = "providers/Microsoft.Network";

fn put(sim: &sim::Sim, token: &str, path: &str, body: Value) -> Reply {
    let r = arm(sim, token, "PUT", path, Some(&body));
    assert!(
        r.status == 200 || r.status == 201,
        "PUT {path}: {} {}",
        r.status,
        r.body
    );
    r
}

fn put_and_wait(sim: &sim::Sim, token: &str, path: &str, body: Value) -> Value {
    let r = put(sim, token, path, body);
    assert!(
        r.header("azure-asyncoperation").is_some(),
        "PUT {path} is asynchronous"
    );
    let done = wait(sim, token, &r);
    assert_eq!(done.json()["status"], "Succeeded", "{}", done.body);
    let got = arm(sim, token, "GET", path, None).json();
    assert_eq!(got["properties"]["provisioningState"], "Succeeded", "{got}");
    got
}

fn vm_body(size: &str, loc: &str, nic: &str) -> Value {
    json!({
        "location": loc,
        "properties": {
            "hardwareProfile": { "vmSize": size },
            "storageProfile": {
                "imageReference": { "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest" },
                "osDisk": { "createOption": "FromImage", "deleteOption": "Delete", "managedDisk": { "storageAccountType": "StandardSSD_LRS" } }
            },
            "osProfile": {
                "computerName": "web1", "adminUsername": "azureuser", "customData": "I2Nsb3VkLWNvbmZpZwo=",
                "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/azureuser/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0c2t5cG9ydA== me@host" }] } }
            },
            "networkProfile": { "networkInterfaces": [{ "id": nic, "properties": { "primary": true, "deleteOption": "Delete" } }] }
        }
    })
}

/// Creates the network for a VM in `group`; returns the NIC id.
fn network(sim: &sim::Sim, token: &str, group: &str, loc: &str) -> String {
    put(sim, token, &rg(group), json!({ "location": loc }));
    let base = format!("{}/{NET}", rg(group));
    put_and_wait(
        sim,
        token,
        &format!("{base}/virtualNetworks/vnet"),
        json!({ "location": loc, "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] }, "subnets": [{ "name": "default", "properties": { "addressPrefix": "10.0.0.0/24" } }] } }),
    );
    let pip = put_and_wait(
        sim,
        token,
        &format!("{base}/publicIPAddresses/ip"),
        json!({ "location": loc, "sku": { "name": "Standard", "tier": "Regional" }, "properties": { "publicIPAllocationMethod": "Static" } }),
    );
    assert!(
        pip["properties"]["ipAddress"]
            .as_str()
            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()),
        "{pip}"
    );
    let rule = |name: &str, p: u32, port: &str| json!({ "name": name, "properties": { "priority": p, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": port } });
    let nsg = put_and_wait(
        sim,
        token,
        &format!("{base}/networkSecurityGroups/nsg"),
        json!({ "location": loc, "properties": { "securityRules": [rule("ssh", 1000, "22"), rule("http", 1010, "80"), rule("https", 1020, "443")] } }),
    );
    assert_eq!(
        nsg["properties"]["defaultSecurityRules"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let nic = put_and_wait(
        sim,
        token,
        &format!("{base}/networkInterfaces/nic"),
        json!({
            "location": loc,
            "properties": {
                "networkSecurityGroup": { "id": format!("{base}/networkSecurityGroups/nsg") },
                "ipConfigurations": [{ "name": "ipconfig1", "properties": { "subnet": { "id": format!("{base}/virtualNetworks/vnet/subnets/default") }, "privateIPAllocationMethod": "Dynamic", "publicIPAddress": { "id": format!("{base}/publicIPAddresses/ip") } } }]
            }
        }),
    );
    nic["id"].as_str().unwrap().to_string()
}

fn kinds(sim: &sim::Sim) -> Vec<String> {
    let mut k: Vec<String> = sim
        .inventory()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

#[test]
fn a_vm_comes_up_and_its_group_deletes_cleanly() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "web", "westeurope");
    let vm_path = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/web1",
        rg("web")
    );
    let r = put(
        &sim,
        &token,
        &vm_path,
        vm_body("Standard_B2s", "westeurope", &nic),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["properties"]["provisioningState"], "Creating");
    assert!(
        r.json()["properties"]["osProfile"]
            .get("customData")
            .is_none(),
        "custom data is never echoed"
    );
    assert!(r.header("retry-after").is_some());
    // Idempotent: the same PUT again is an update, not a second VM.
    assert_eq!(
        put(
            &sim,
            &token,
            &vm_path,
            vm_body("Standard_B2s", "westeurope", &nic)
        )
        .status,
        200
    );
    let done = wait(&sim, &token, &r);
    assert_eq!(done.json()["status"], "Succeeded");
    let vm = arm(&sim, &token, "GET", &vm_path, None).json();
    assert_eq!(
        vm["properties"]["hardwareProfile"]["vmSize"],
        "Standard_B2s"
    );
    assert_eq!(
        vm["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"],
        true
    );
    let view = arm(
        &sim,
        &token,
        "GET",
        &format!("{vm_path}/instanceView"),
        None,
    )
    .json();
    assert_eq!(view["statuses"][1]["code"], "PowerState/running");
    assert_eq!(
        kinds(&sim)
            .iter()
            .filter(|k| k.starts_with("Microsoft."))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            "Microsoft.Compute/disks",
            "Microsoft.Compute/virtualMachines",
            "Microsoft.Network/dnsZones",
            "Microsoft.Network/dnsZones/NS",
            "Microsoft.Network/dnsZones/SOA",
            "Microsoft.Network/networkInterfaces",
            "Microsoft.Network/networkSecurityGroups",
            "Microsoft.Network/publicIPAddresses",
            "Microsoft.Network/virtualNetworks"
        ]
    );

    // Usage counts the VM.
    let usages = arm(
        &sim,
        &token,
        "GET",
        &format!(
            "{}/providers/Microsoft.Compute/locations/westeurope/usages",
            sub()
        ),
        None,
    )
    .json();
    let cores = usages["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"]["value"] == "cores")
        .unwrap();
    assert_eq!(cores["currentValue"], 2);

    // In-use resources refuse deletion; the group takes everything with it.
    let base = format!("{}/{NET}", rg("web"));
    assert_eq!(
        arm(
            &sim,
            &token,
            "DELETE",
            &format!("{base}/publicIPAddresses/ip"),
            None
        )
        .json()["error"]["code"],
        "PublicIPAddressCannotBeDeleted"
    );
    assert_eq!(
        arm(
            &sim,
            &token,
            "DELETE",
            &format!("{base}/networkInterfaces/nic"),
            None
        )
        .json()["error"]["code"],
        "NicInUse"
    );
    let r = arm(&sim, &token, "DELETE", &rg("web"), None);
    assert_eq!(r.status, 202);
    assert_eq!(wait(&sim, &token, &r).status, 200);
    assert_eq!(arm(&sim, &token, "GET", &rg("web"), None).status, 404);
    assert!(
        sim.inventory()
            .iter()
            .all(|r| !r["id"].as_str().unwrap().contains("/resourceGroups/web")),
        "{:?}",
        sim.inventory()
    );
}

#[test]
fn deleting_a_vm_cascades_to_its_disk_and_nic() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "one", "eastus");
    let vm_path = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/web1",
        rg("one")
    );
    wait(
        &sim,
        &token,
        &put(
            &sim,
            &token,
            &vm_path,
            vm_body("Standard_B1s", "eastus", &nic),
        ),
    );
    let r = arm(&sim, &token, "DELETE", &vm_path, None);
    assert_eq!(r.status, 202);
    assert!(r.header("azure-asyncoperation").is_some() && r.header("location").is_some());
    wait(&sim, &token, &r);
    let left = kinds(&sim);
    assert!(
        !left.iter().any(|k| k == "Microsoft.Compute/disks"
            || k == "Microsoft.Compute/virtualMachines"
            || k == "Microsoft.Network/networkInterfaces"),
        "{left:?}"
    );
    assert!(
        left.iter()
            .any(|k| k == "Microsoft.Network/publicIPAddresses"),
        "the IP stays: {left:?}"
    );
}

#[test]
fn refusals_before_anything_is_made() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "q", "eastus");
    let vm = |name: &str| {
        format!(
            "{}/providers/Microsoft.Compute/virtualMachines/{name}",
            rg("q")
        )
    };

    sim.command(Command::SetQuota {
        subscription: SUBSCRIPTION.into(),
        name: "standardBSFamily".into(),
        location: Some("eastus".into()),
        limit: 1,
    })
    .unwrap();
    let r = arm(
        &sim,
        &token,
        "PUT",
        &vm("a"),
        Some(&vm_body("Standard_B2s", "eastus", &nic)),
    );
    assert_eq!(r.status, 409);
    let e = r.json();
    assert_eq!(e["error"]["code"], "OperationNotAllowed");
    let m = e["error"]["message"].as_str().unwrap();
    assert!(m.contains("exceeding approved standardBSFamily Cores quota") && m.contains("Location: eastus, Current Limit: 1, Current Usage: 0, Additional Required: 2, (Minimum) New Limit Required: 2"), "{m}");

    sim.command(Command::RestrictSku {
        subscription: SUBSCRIPTION.into(),
        size: "Standard_D2s_v5".into(),
        locations: vec!["eastus".into()],
    })
    .unwrap();
    let r = arm(
        &sim,
        &token,
        "PUT",
        &vm("b"),
        Some(&vm_body("Standard_D2s_v5", "eastus", &nic)),
    );
    assert_eq!(r.json()["error"]["code"], "SkuNotAvailable");
    let skus = arm(&sim, &token, "GET", &format!("{}/providers/Microsoft.Compute/skus?api-version=2021-07-01&$filter=location eq 'eastus'", sub()), None).json();
    let d2 = skus["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Standard_D2s_v5")
        .unwrap();
    assert_eq!(
        d2["restrictions"][0]["reasonCode"],
        "NotAvailableForSubscription"
    );
    assert_eq!(d2["restrictions"][0]["type"], "Location");

    let mut bad = vm_body("Standard_F2s_v2", "eastus", &nic);
    bad["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["path"] =
        json!("/root/.ssh/authorized_keys");
    assert_eq!(
        arm(&sim, &token, "PUT", &vm("c"), Some(&bad)).json()["error"]["target"],
        "linuxConfiguration.ssh.publicKeys.path"
    );
    let mut bad = vm_body("Standard_F2s_v2", "eastus", &nic);
    bad["properties"]["osProfile"]["adminUsername"] = json!("admin");
    assert_eq!(
        arm(&sim, &token, "PUT", &vm("d"), Some(&bad)).json()["error"]["target"],
        "adminUsername"
    );
    let missing_nic = format!("{}/{NET}/networkInterfaces/nope", rg("q"));
    assert_eq!(
        arm(
            &sim,
            &token,
            "PUT",
            &vm("e"),
            Some(&vm_body("Standard_F2s_v2", "eastus", &missing_nic))
        )
        .status,
        404
    );

    // A NIC needs its subnet.
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/{NET}/networkInterfaces/nic2", rg("q")),
        Some(
            &json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "c", "properties": { "subnet": { "id": format!("{}/{NET}/virtualNetworks/none/subnets/default", rg("q")) } } }] } }),
        ),
    );
    assert_eq!(r.json()["error"]["code"], "InvalidResourceReference");
    // A Standard IP must be static.
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/{NET}/publicIPAddresses/ip2", rg("q")),
        Some(
            &json!({ "location": "eastus", "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Dynamic" } }),
        ),
    );
    assert_eq!(r.status, 400);
    // A missing resource group.
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/{NET}/publicIPAddresses/ip", rg("nowhere")),
        Some(&json!({ "location": "eastus" })),
    );
    assert_eq!(r.json()["error"]["code"], "ResourceGroupNotFound");

    // Nothing was made by any refused request.
    assert!(!kinds(&sim)
        .iter()
        .any(|k| k == "Microsoft.Compute/virtualMachines"));
}

#[test]
fn a_scripted_failure_ends_the_operation_failed() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "f", "eastus");
    sim.command(Command::FailNextOperation { failure: LroFailure { path: "virtualMachines/web1".into(), code: "AllocationFailed".into(), message: "Allocation failed. We do not have sufficient capacity for the requested VM size in this region.".into() } }).unwrap();
    let vm_path = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/web1",
        rg("f")
    );
    let r = put(
        &sim,
        &token,
        &vm_path,
        vm_body("Standard_B1s", "eastus", &nic),
    );
    let done = wait(&sim, &token, &r).json();
    assert_eq!(done["status"], "Failed");
    assert_eq!(done["error"]["code"], "AllocationFailed");
    assert_eq!(
        arm(&sim, &token, "GET", &vm_path, None).json()["properties"]["provisioningState"],
        "Failed"
    );
}

#[test]
fn instance_view_in_azures_shape_directly_and_through_expand() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "view", "westeurope");
    let vm_path = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/web1",
        rg("view")
    );
    let r = put(
        &sim,
        &token,
        &vm_path,
        vm_body("Standard_B2s", "westeurope", &nic),
    );
    // While it is being created, the views say so.
    let early = arm(
        &sim,
        &token,
        "GET",
        &format!("{vm_path}?$expand=instanceView"),
        None,
    )
    .json();
    let statuses = &early["properties"]["instanceView"]["statuses"];
    assert_eq!(statuses[0]["code"], "ProvisioningState/creating", "{early}");
    assert_eq!(statuses[1]["code"], "PowerState/starting", "{early}");
    assert_eq!(wait(&sim, &token, &r).json()["status"], "Succeeded");

    // A plain GET has no instance view.
    let plain = arm(&sim, &token, "GET", &vm_path, None).json();
    assert!(plain["properties"].get("instanceView").is_none(), "{plain}");

    let expanded = arm(
        &sim,
        &token,
        "GET",
        &format!("{vm_path}?$expand=instanceView"),
        None,
    );
    assert_eq!(expanded.status, 200, "{}", expanded.body);
    let vm = expanded.json();
    assert_eq!(vm["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        vm["properties"]["hardwareProfile"]["vmSize"],
        "Standard_B2s"
    );
    let view = &vm["properties"]["instanceView"];
    assert_eq!(view["computerName"], "web1");
    assert_eq!(view["osName"], "ubuntu");
    let statuses = view["statuses"].as_array().expect("statuses");
    assert_eq!(statuses.len(), 2, "{view}");
    assert_eq!(statuses[0]["code"], "ProvisioningState/succeeded");
    assert_eq!(statuses[0]["level"], "Info");
    assert_eq!(statuses[0]["displayStatus"], "Provisioning succeeded");
    assert!(
        chrono::DateTime::parse_from_rfc3339(statuses[0]["time"].as_str().unwrap()).is_ok(),
        "{view}"
    );
    assert_eq!(
        statuses[1],
        json!({ "code": "PowerState/running", "level": "Info", "displayStatus": "VM running" })
    );
    assert_eq!(
        view["disks"][0]["name"],
        vm["properties"]["storageProfile"]["osDisk"]["name"]
    );
    assert_eq!(view["vmAgent"]["statuses"][0]["displayStatus"], "Ready");

    // `…/instanceView` answers the same view on its own.
    let direct = arm(
        &sim,
        &token,
        "GET",
        &format!("{vm_path}/instanceView"),
        None,
    );
    assert_eq!(direct.status, 200);
    let direct = direct.json();
    assert_eq!(direct["statuses"][0], view["statuses"][0]);
    assert_eq!(direct["statuses"][1], view["statuses"][1]);
    assert_eq!(direct["computerName"], "web1");

    // The case of `$expand` and its value does not matter; a missing VM is 404.
    let lower = arm(
        &sim,
        &token,
        "GET",
        &format!("{vm_path}?$EXPAND=instanceview"),
        None,
    )
    .json();
    assert!(lower["properties"]["instanceView"]["statuses"].is_array());
    let missing = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/nope/instanceView",
        rg("view")
    );
    let r = arm(&sim, &token, "GET", &missing, None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "ResourceNotFound");
}

#[test]
fn power_actions_are_operations_the_instance_view_follows() {
    let sim = start();
    let token = token(&sim);
    let nic = network(&sim, &token, "power", "westeurope");
    let vm_path = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/web1",
        rg("power")
    );
    let r = put(
        &sim,
        &token,
        &vm_path,
        vm_body("Standard_B2s", "westeurope", &nic),
    );
    assert_eq!(wait(&sim, &token, &r).json()["status"], "Succeeded");
    let power = |sim: &sim::Sim| {
        arm(sim, &token, "GET", &format!("{vm_path}/instanceView"), None).json()["statuses"][1]
            ["code"]
            .clone()
    };
    for (action, during, after) in [
        (
            "deallocate",
            "PowerState/deallocating",
            "PowerState/deallocated",
        ),
        ("start", "PowerState/starting", "PowerState/running"),
        ("powerOff", "PowerState/stopping", "PowerState/stopped"),
        ("restart", "PowerState/starting", "PowerState/running"),
    ] {
        let r = arm(&sim, &token, "POST", &format!("{vm_path}/{action}"), None);
        assert_eq!(r.status, 202, "{action}: {}", r.body);
        assert!(r.header("azure-asyncoperation").is_some(), "{action}");
        assert!(r.header("location").is_some(), "{action}");
        assert_eq!(power(&sim), during, "{action}");
        assert_eq!(wait(&sim, &token, &r).json()["status"], "Succeeded");
        assert_eq!(power(&sim), after, "{action}");
    }
    // Only POST, and only on a VM that exists.
    let r = arm(&sim, &token, "GET", &format!("{vm_path}/deallocate"), None);
    assert_eq!(r.status, 405);
    let nope = format!(
        "{}/providers/Microsoft.Compute/virtualMachines/nope/start",
        rg("power")
    );
    assert_eq!(arm(&sim, &token, "POST", &nope, None).status, 404);
}
