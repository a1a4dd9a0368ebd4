//! The official example payloads (../shared/reference/azure-examples) as
//! golden data: each request body is accepted, and each response carries at
//! least the fields the example's response has.

mod support;

use std::path::PathBuf;

use serde_json::{json, Value};
use sim::world::defaults::*;
use support::*;

fn example(name: &str) -> Value {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/azure-examples");
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the example payloads must sit beside the repository at {}: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// Paths of `expected`'s object keys (two levels deep, arrays by first item)
/// that `actual` lacks, minus `ignore`.
fn missing(
    expected: &Value,
    actual: &Value,
    prefix: &str,
    depth: usize,
    ignore: &[&str],
    out: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                // The last page of a list carries no nextLink.
                if path == "nextLink"
                    || ignore
                        .iter()
                        .any(|i| path == *i || path.starts_with(&format!("{i}.")))
                {
                    continue;
                }
                match a.get(k) {
                    None => out.push(path),
                    Some(av) if depth > 0 => missing(v, av, &path, depth - 1, ignore, out),
                    Some(_) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ef), Some(af)) = (e.first(), a.first()) {
                missing(ef, af, &format!("{prefix}[]"), depth, ignore, out);
            }
        }
        _ => {}
    }
}

fn assert_shape(name: &str, expected: &Value, actual: &Value, ignore: &[&str]) {
    let mut out = Vec::new();
    missing(expected, actual, "", 3, ignore, &mut out);
    assert!(
        out.is_empty(),
        "{name}: the response lacks {out:?}\nactual: {actual}"
    );
}

fn response(ex: &Value, status: &str) -> Value {
    ex["responses"][status]["body"].clone()
}

#[test]
fn subscription_level_reads_have_the_examples_shape() {
    let sim = start();
    let token = token(&sim);
    let cases: &[(&str, String, Option<&str>, &[&str])] = &[
        ("GetTenants", "/tenants?api-version=2022-12-01".into(), Some("value"), &["value[].tenantBrandingLogoUrl"]),
        ("GetSubscriptions", "/subscriptions?api-version=2022-12-01".into(), Some("value"), &["value[].managedByTenants[]", "value[].tags.tagKey1", "value[].tags.tagKey2", "nextLink"]),
        ("GetProvider", format!("{}/providers/Microsoft.Compute?api-version=2021-04-01", sub()), None, &["resourceTypes[].locationMappings", "resourceTypes[].capabilities"]),
        ("Usage_List_MaximumSet_Gen", format!("{}/providers/Microsoft.Compute/locations/eastus/usages?api-version=2024-11-01", sub()), None, &["nextLink"]),
        ("VirtualMachineSizes_List_MaximumSet_Gen", format!("{}/providers/Microsoft.Compute/locations/westus/vmSizes?api-version=2024-11-01", sub()), None, &[]),
        ("ListAvailableResourceSkusForARegion", format!("{}/providers/Microsoft.Compute/skus?api-version=2021-07-01&$filter=location eq 'westus'", sub()), None, &["value[].locationInfo[].zoneDetails[]"]),
        ("RoleAssignments_ListForScope", format!("{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", sub()), None, &[]),
        ("ListZonesBySubscription", format!("{}/providers/Microsoft.Network/dnszones?api-version=2018-05-01", sub()), None, &["nextLink", "value[].tags.key1"]),
        ("GetZone", format!("{}/providers/Microsoft.Network/dnsZones/{DNS_ZONE}?api-version=2018-05-01", rg(DNS_RESOURCE_GROUP)), None, &["tags.key1"]),
    ];
    for (name, path, _, ignore) in cases {
        let ex = example(name);
        let r = arm(&sim, &token, "GET", path, None);
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_shape(name, &response(&ex, "200"), &r.json(), ignore);
    }
    // GetLocations shows a bare array; ARM wraps it in `value`.
    let ex = example("GetLocations");
    let r = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/locations?api-version=2022-12-01", sub()),
        None,
    )
    .json();
    assert_shape(
        "GetLocations",
        &response(&ex, "200")[0],
        &r["value"][0],
        &[],
    );
}

#[test]
fn example_request_bodies_are_accepted() {
    let sim = start();
    let token = token(&sim);
    let group = "rg1";
    let ex = example("CreateResourceGroup");
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}?api-version=2022-12-01", rg(group)),
        Some(&ex["parameters"]["parameters"]),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_shape("CreateResourceGroup", &response(&ex, "201"), &r.json(), &[]);

    let net = format!("{}/providers/Microsoft.Network", rg(group));
    let put = |name: &str, path: &str, body: &Value, ignore: &[&str]| {
        let r = arm(&sim, &token, "PUT", path, Some(body));
        assert!(
            r.status == 201 || r.status == 200,
            "{name}: {} {}",
            r.status,
            r.body
        );
        let ex = example(name);
        let expected = if ex["responses"]["201"].is_null() {
            response(&ex, "200")
        } else {
            response(&ex, "201")
        };
        let expected = strip_state(expected);
        assert_shape(name, &expected, &strip_state(r.json()), ignore);
        r
    };
    let vnet = example("VirtualNetworkCreateSubnet");
    put(
        "VirtualNetworkCreateSubnet",
        &format!("{net}/virtualNetworks/rg1-vnet"),
        &vnet["parameters"]["parameters"],
        &[],
    );
    // The NIC example names these; make them exist first.
    arm(
        &sim,
        &token,
        "PUT",
        &format!("{net}/virtualNetworks/rg1-vnet/subnets/default"),
        Some(&json!({ "properties": { "addressPrefix": "10.0.1.0/24" } })),
    );
    let pip = example("PublicIpAddressCreateCustomizedValues");
    put(
        "PublicIpAddressCreateCustomizedValues",
        &format!("{net}/publicIPAddresses/test-ip"),
        &pip["parameters"]["parameters"],
        &[
            "properties.ipConfiguration",
            "properties.ddosSettings",
            "zones",
        ],
    );
    let nsg = example("NetworkSecurityGroupCreateWithRule");
    put(
        "NetworkSecurityGroupCreateWithRule",
        &format!("{net}/networkSecurityGroups/testnsg"),
        &nsg["parameters"]["parameters"],
        &["properties.resourceGuid", "etag"],
    );
    let nic = example("NetworkInterfaceCreate");
    let nic_body = substitute(&nic["parameters"]["parameters"]);
    put(
        "NetworkInterfaceCreate",
        &format!("{net}/networkInterfaces/nsgExistingNic"),
        &nic_body,
        &[
            "properties.vnetEncryptionSupported",
            "properties.disableTcpStateTracking",
            "properties.ipConfigurations[].properties.privateIPAddressPrefixLength",
            "properties.auxiliaryMode",
            "properties.auxiliarySku",
            "properties.nicType",
            "properties.allowPort25Out",
        ],
    );

    let vm = example("VirtualMachine_Create_WithSshAuthentication");
    let mut vm_body = substitute(&vm["parameters"]["parameters"]);
    vm_body["location"] = json!("eastus");
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!(
            "{}/providers/Microsoft.Compute/virtualMachines/myVM?api-version=2025-04-01",
            rg(group)
        ),
        Some(&vm_body),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_shape(
        "VirtualMachine_Create_WithSshAuthentication",
        &strip_state(response(&vm, "201")),
        &strip_state(r.json()),
        &[
            "properties.osProfile.allowExtensionOperations",
            "properties.osProfile.requireGuestProvisionSignal",
        ],
    );

    let st = example("StorageAccountCreate");
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!(
            "{}/providers/Microsoft.Storage/storageAccounts/sto4445?api-version=2025-01-01",
            rg(group)
        ),
        Some(&st["parameters"]["parameters"]),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let done = wait(&sim, &token, &r).json();
    let ignore = [
        "extendedLocation",
        "properties.keyPolicy",
        "properties.sasPolicy",
        "properties.isHnsEnabled",
        "properties.isSftpEnabled",
        "properties.routingPreference",
        "properties.primaryEndpoints.microsoftEndpoints",
        "properties.primaryEndpoints.internetEndpoints",
        "properties.encryption",
        "properties.isLocalUserEnabled",
        "properties.defaultToOAuthAuthentication",
        "properties.dnsEndpointType",
        "properties.geoReplicationStats",
        "properties.secondaryLocation",
        "properties.statusOfSecondary",
    ];
    assert_shape(
        "StorageAccountCreate",
        &response(&st, "200"),
        &done,
        &ignore,
    );

    let check = example("StorageAccountCheckNameAvailability");
    let r = arm(
        &sim,
        &token,
        "POST",
        &format!(
            "{}/providers/Microsoft.Storage/checkNameAvailability?api-version=2025-01-01",
            sub()
        ),
        Some(&check["parameters"]["accountName"]),
    );
    assert_shape(
        "StorageAccountCheckNameAvailability",
        &response(&check, "200"),
        &r.json(),
        &[],
    );
    let keys = example("StorageAccountListKeys");
    let r = arm(&sim, &token, "POST", &format!("{}/providers/Microsoft.Storage/storageAccounts/sto4445/listKeys?api-version=2025-01-01", rg(group)), None);
    assert_shape(
        "StorageAccountListKeys",
        &response(&keys, "200"),
        &r.json(),
        &[],
    );
    let c = example("BlobContainersPut");
    let r = arm(&sim, &token, "PUT", &format!("{}/providers/Microsoft.Storage/storageAccounts/sto4445/blobServices/default/containers/container6185?api-version=2025-01-01", rg(group)), Some(&c["parameters"]["blobContainer"]));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_shape("BlobContainersPut", &response(&c, "201"), &r.json(), &[]);

    for name in [
        "CreateOrUpdateARecordset",
        "CreateOrUpdateCNAMERecordset",
        "CreateOrUpdateTXTRecordset",
    ] {
        let ex = example(name);
        let ty = ex["parameters"]["recordType"].as_str().unwrap();
        let rel = if ty == "CNAME" {
            "alias1"
        } else {
            ex["parameters"]["relativeRecordSetName"].as_str().unwrap()
        };
        let path = format!(
            "{}/providers/Microsoft.Network/dnsZones/{DNS_ZONE}/{ty}/{rel}?api-version=2018-05-01",
            rg(DNS_RESOURCE_GROUP)
        );
        let r = arm(
            &sim,
            &token,
            "PUT",
            &path,
            Some(&ex["parameters"]["parameters"]),
        );
        assert_eq!(r.status, 201, "{name}: {}", r.body);
        assert_shape(name, &response(&ex, "201"), &r.json(), &[]);
    }
}

/// Replaces the examples' placeholders with the default world's names.
fn substitute(v: &Value) -> Value {
    let text = v
        .to_string()
        .replace("/subscriptions/subid", &sub())
        .replace("/subscriptions/{subscription-id}", &sub())
        .replace("resourceGroups/myResourceGroup", "resourceGroups/rg1")
        .replace("{existing-nic-name}", "nsgExistingNic");
    serde_json::from_str(&text).unwrap()
}

/// Drops `provisioningState`, which is Creating here and Succeeded in examples.
fn strip_state(mut v: Value) -> Value {
    if let Some(p) = v.get_mut("properties").and_then(|p| p.as_object_mut()) {
        p.remove("provisioningState");
    }
    v
}
