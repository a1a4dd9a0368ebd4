//! Microsoft.Network: virtual networks and subnets, public IPs, network
//! security groups and network interfaces, with the checks that catch client
//! bugs — a NIC needs its subnet, a Standard IP must be Static, a resource in
//! use cannot be deleted.

use http::Method;
use ipnet::Ipv4Net;
use serde_json::{json, Value};

use super::body;
use super::errors::{arm_error, invalid_parameter};
use super::store::{self, Group};
use crate::http::{Req, Resp};
use crate::state::State;
use crate::world::{is_region, region_list};

pub const VNET: &str = "Microsoft.Network/virtualNetworks";
pub const PIP: &str = "Microsoft.Network/publicIPAddresses";
pub const NSG: &str = "Microsoft.Network/networkSecurityGroups";
pub const NIC: &str = "Microsoft.Network/networkInterfaces";

/// Reads a PUT's JSON body and its `location`.
pub fn body_and_location(req: &Req) -> Result<(Value, String), Resp> {
    let b = body(req)?;
    let loc = location(&b)?;
    Ok((b, loc))
}

/// Reads and checks `location`; every regional resource needs one.
pub fn location(b: &Value) -> Result<String, Resp> {
    let Some(loc) = b["location"]
        .as_str()
        .map(|l| l.to_ascii_lowercase().replace(' ', ""))
    else {
        return Err(arm_error(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    if !is_region(&loc) {
        return Err(arm_error(400, "LocationNotAvailableForResourceType", &format!("The provided location '{loc}' is not available for resource type. List of available regions is '{}'.", region_list())));
    }
    Ok(loc)
}

fn base(g: &Group, kind: &str, name: &str, loc: &str, b: &Value) -> Value {
    let mut out = json!({ "id": g.id(kind, name), "name": name, "type": kind, "location": loc, "properties": {} });
    if let Some(tags) = b.get("tags") {
        out["tags"] = tags.clone();
    }
    out
}

fn cidr(text: &str, target: &str) -> Result<Ipv4Net, Resp> {
    text.parse::<Ipv4Net>().map_err(|_| {
        invalid_parameter(
            &format!("Value '{text}' is not a valid IPv4 address prefix."),
            target,
        )
    })
}

fn subnet_json(vnet_id: &str, name: &str, prefix: &str) -> Value {
    json!({
        "id": format!("{vnet_id}/subnets/{name}"),
        "name": name,
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": { "addressPrefix": prefix, "provisioningState": "Succeeded" },
    })
}

/// Checks a VNet's address space and subnets; returns the normalised subnets.
fn check_subnets(vnet_id: &str, space: &[Ipv4Net], subnets: &[Value]) -> Result<Vec<Value>, Resp> {
    let mut seen: Vec<(String, Ipv4Net)> = Vec::new();
    let mut out = Vec::new();
    for (i, s) in subnets.iter().enumerate() {
        let target = format!("properties.subnets[{i}]");
        let Some(name) = s["name"].as_str() else {
            return Err(invalid_parameter("A subnet needs a name.", &target));
        };
        let Some(prefix) = s["properties"]["addressPrefix"].as_str() else {
            return Err(invalid_parameter(
                &format!("Subnet '{name}' needs properties.addressPrefix."),
                &target,
            ));
        };
        let net = cidr(prefix, &format!("{target}.properties.addressPrefix"))?;
        if !space.iter().any(|sp| sp.contains(&net)) {
            return Err(arm_error(400, "NetcfgSubnetRangeOutsideVnet", &format!("Subnet '{name}' is not valid because its IP address range is outside the IP address range of virtual network '{vnet_id}'.")));
        }
        if let Some((other, _)) = seen
            .iter()
            .find(|(_, n)| n.contains(&net.network()) || net.contains(&n.network()))
        {
            return Err(arm_error(400, "NetcfgSubnetRangesOverlap", &format!("Subnet '{name}' is not valid because its IP address range overlaps with that of an existing subnet '{other}' in the virtual network.")));
        }
        seen.push((name.to_string(), net));
        out.push(subnet_json(vnet_id, name, prefix));
    }
    Ok(out)
}

pub fn virtual_network(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(VNET, name);
    match req.method {
        Method::GET => store::read(state, g, VNET, name),
        Method::PUT => {
            let (b, loc) = match body_and_location(req) {
                Ok(x) => x,
                Err(r) => return r,
            };
            let prefixes: Vec<&str> = b["properties"]["addressSpace"]["addressPrefixes"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            if prefixes.is_empty() {
                return invalid_parameter(
                    "A virtual network needs properties.addressSpace.addressPrefixes.",
                    "properties.addressSpace",
                );
            }
            let mut space = Vec::new();
            for p in &prefixes {
                match cidr(p, "properties.addressSpace.addressPrefixes") {
                    Ok(n) => space.push(n),
                    Err(r) => return r,
                }
            }
            let subnets = b["properties"]["subnets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let subnets = match check_subnets(&id, &space, &subnets) {
                Ok(s) => s,
                Err(r) => return r,
            };
            // A subnet a NIC uses cannot disappear in an update.
            if let Some(old) = state.resource(&id) {
                for s in old.body["properties"]["subnets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let sid = s["id"].as_str().unwrap_or_default();
                    let kept = subnets.iter().any(|n| {
                        n["id"]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(sid))
                    });
                    if !kept && !store::referrers(state, sid, NIC).is_empty() {
                        return arm_error(400, "InUseSubnetCannotBeDeleted", &format!("Subnet {} is in use by a network interface and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.", s["name"].as_str().unwrap_or("")));
                    }
                }
            }
            let mut out = base(g, VNET, name, &loc, &b);
            out["properties"] = json!({ "addressSpace": { "addressPrefixes": prefixes }, "subnets": subnets, "virtualNetworkPeerings": [] });
            store::put_with_operation(state, req, g, VNET, out, "Updating")
        }
        Method::DELETE => {
            if state.resource(&id).is_none() {
                return Resp::new(204);
            }
            if let Some(nic) = store::referrers(state, &id, NIC).first() {
                return arm_error(400, "InUseSubnetCannotBeDeleted", &format!("Subnet default is in use by {nic}/ipConfigurations/ipconfig1 and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet."));
            }
            store::delete_with_operation(state, req, g, VNET, vec![id])
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

/// `…/virtualNetworks/{vnet}/subnets/{name}`: a subnet as a child resource.
pub fn subnet(state: &mut State, req: &Req, g: &Group, vnet: &str, name: &str) -> Resp {
    let vnet_id = g.id(VNET, vnet);
    let Some(v) = state.resource(&vnet_id).cloned() else {
        return store::not_found(VNET, vnet, &g.rg);
    };
    let sid = format!("{}/subnets/{name}", v.id);
    let subnets = v.body["properties"]["subnets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let existing = subnets
        .iter()
        .find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .cloned();
    match req.method {
        Method::GET => existing
            .map(|s| Resp::json(200, &s))
            .unwrap_or_else(|| arm_error(404, "NotFound", &format!("Resource {sid} not found."))),
        Method::PUT => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let mut list: Vec<Value> = subnets
                .into_iter()
                .filter(|s| {
                    !s["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .collect();
            list.push(json!({ "name": name, "properties": { "addressPrefix": b["properties"]["addressPrefix"].clone() } }));
            let space: Vec<Ipv4Net> = v.body["properties"]["addressSpace"]["addressPrefixes"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p.as_str()?.parse().ok()).collect())
                .unwrap_or_default();
            let checked = match check_subnets(&v.id, &space, &list) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let created = checked
                .iter()
                .find(|s| s["name"] == name)
                .cloned()
                .unwrap_or_default();
            if let Some(r) = state.resources.get_mut(&vnet_id.to_ascii_lowercase()) {
                r.body["properties"]["subnets"] = Value::Array(checked);
            }
            Resp::json(if existing.is_some() { 200 } else { 201 }, &created)
        }
        Method::DELETE => {
            if existing.is_none() {
                return Resp::new(204);
            }
            if !store::referrers(state, &sid, NIC).is_empty() {
                return arm_error(400, "InUseSubnetCannotBeDeleted", &format!("Subnet {name} is in use and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet."));
            }
            if let Some(r) = state.resources.get_mut(&vnet_id.to_ascii_lowercase()) {
                let kept: Vec<Value> = subnets
                    .into_iter()
                    .filter(|s| {
                        !s["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                    .collect();
                r.body["properties"]["subnets"] = Value::Array(kept);
            }
            Resp::new(200)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

pub fn public_ip(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(PIP, name);
    match req.method {
        Method::GET => store::read(state, g, PIP, name),
        Method::PUT => {
            let (b, loc) = match body_and_location(req) {
                Ok(x) => x,
                Err(r) => return r,
            };
            let sku = b["sku"]["name"].as_str().unwrap_or("Basic");
            if sku != "Basic" && sku != "Standard" {
                return invalid_parameter(
                    &format!("The SKU '{sku}' is not valid; use Basic or Standard."),
                    "sku.name",
                );
            }
            let default_method = if sku == "Standard" {
                "Static"
            } else {
                "Dynamic"
            };
            let method = b["properties"]["publicIPAllocationMethod"]
                .as_str()
                .unwrap_or(default_method);
            if sku == "Standard" && method != "Static" {
                return arm_error(
                    400,
                    "StandardSkuPublicIPAddressesMustBeStatic",
                    &format!(
                        "Standard sku publicIp {id} must have AllocationMethod set to Static."
                    ),
                );
            }
            let mut out = base(g, PIP, name, &loc, &b);
            out["sku"] =
                json!({ "name": sku, "tier": b["sku"]["tier"].as_str().unwrap_or("Regional") });
            if let Some(z) = b.get("zones") {
                out["zones"] = z.clone();
            }
            let mut props = json!({
                "publicIPAddressVersion": b["properties"]["publicIPAddressVersion"].as_str().unwrap_or("IPv4"),
                "publicIPAllocationMethod": method,
                "idleTimeoutInMinutes": b["properties"]["idleTimeoutInMinutes"].as_u64().unwrap_or(4),
            });
            if let Some(label) = b["properties"]["dnsSettings"]["domainNameLabel"].as_str() {
                props["dnsSettings"] = json!({ "domainNameLabel": label, "fqdn": format!("{label}.{loc}.cloudapp.azure.com") });
            }
            // An update keeps the address the resource already has.
            if let Some(old) = state.resource(&id) {
                for k in ["ipAddress", "ipConfiguration"] {
                    if let Some(v) = old.body["properties"].get(k) {
                        props[k] = v.clone();
                    }
                }
            }
            out["properties"] = props;
            store::put_with_operation(state, req, g, PIP, out, "Updating")
        }
        Method::DELETE => {
            if state.resource(&id).is_none() {
                return Resp::new(204);
            }
            if let Some(nic) = store::referrers(state, &id, NIC).first() {
                return arm_error(400, "PublicIPAddressCannotBeDeleted", &format!("Public IP address {id} can not be deleted since it is still allocated to resource {nic}/ipConfigurations/ipconfig1. In order to delete the public IP, disassociate/detach the Public IP address from the resource."));
            }
            store::delete_with_operation(state, req, g, PIP, vec![id])
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

fn default_rules(nsg_id: &str) -> Vec<Value> {
    [
        ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork", "Allow inbound traffic from all VMs in VNET"),
        ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*", "Allow inbound traffic from azure load balancer"),
        ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
        ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork", "Allow outbound traffic from all VMs to all VMs in VNET"),
        ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet", "Allow outbound traffic from all VMs to Internet"),
        ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
    ]
    .iter()
    .map(|(name, priority, direction, access, src, dst, description)| {
        json!({
            "name": name, "id": format!("{nsg_id}/defaultSecurityRules/{name}"),
            "properties": {
                "provisioningState": "Succeeded", "description": description, "protocol": "*",
                "sourcePortRange": "*", "destinationPortRange": "*", "sourceAddressPrefix": src,
                "destinationAddressPrefix": dst, "access": access, "priority": priority, "direction": direction,
            }
        })
    })
    .collect()
}

fn check_rules(nsg_id: &str, rules: &[Value]) -> Result<Vec<Value>, Resp> {
    let mut out = Vec::new();
    let mut used: Vec<(String, u64)> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let t = format!("properties.securityRules[{i}]");
        let Some(name) = r["name"].as_str() else {
            return Err(invalid_parameter("A security rule needs a name.", &t));
        };
        let p = &r["properties"];
        let priority = p["priority"].as_u64().unwrap_or(0);
        if !(100..=4096).contains(&priority) {
            return Err(arm_error(400, "SecurityRuleInvalidPriority", &format!("Security rule {name} has invalid Priority. Value provided: {priority}. Allowed range 100-4096.")));
        }
        let direction = p["direction"].as_str().unwrap_or("");
        if direction != "Inbound" && direction != "Outbound" {
            return Err(invalid_parameter(
                &format!("Security rule {name} needs direction Inbound or Outbound."),
                &format!("{t}.properties.direction"),
            ));
        }
        if !matches!(p["access"].as_str(), Some("Allow" | "Deny")) {
            return Err(invalid_parameter(
                &format!("Security rule {name} needs access Allow or Deny."),
                &format!("{t}.properties.access"),
            ));
        }
        if !matches!(
            p["protocol"].as_str(),
            Some("Tcp" | "Udp" | "Icmp" | "Esp" | "Ah" | "*")
        ) {
            return Err(invalid_parameter(
                &format!("Security rule {name} has an invalid protocol."),
                &format!("{t}.properties.protocol"),
            ));
        }
        if p["destinationPortRange"].is_null() && p["destinationPortRanges"].is_null() {
            return Err(invalid_parameter(
                &format!(
                    "Security rule {name} needs destinationPortRange or destinationPortRanges."
                ),
                &format!("{t}.properties"),
            ));
        }
        if let Some((other, _)) = used
            .iter()
            .find(|(d, pr)| d == direction && *pr == priority)
        {
            return Err(arm_error(400, "SecurityRuleConflict", &format!("Security rule {name} conflicts with rule {other}. Rules cannot have the same Priority and Direction.")));
        }
        used.push((direction.to_string(), priority));
        let mut props = p.clone();
        props["provisioningState"] = json!("Succeeded");
        out.push(json!({ "name": name, "id": format!("{nsg_id}/securityRules/{name}"), "type": "Microsoft.Network/networkSecurityGroups/securityRules", "properties": props }));
    }
    Ok(out)
}

pub fn security_group(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(NSG, name);
    match req.method {
        Method::GET => store::read(state, g, NSG, name),
        Method::PUT => {
            let (b, loc) = match body_and_location(req) {
                Ok(x) => x,
                Err(r) => return r,
            };
            let rules = match check_rules(
                &id,
                b["properties"]["securityRules"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            ) {
                Ok(r) => r,
                Err(r) => return r,
            };
            let mut out = base(g, NSG, name, &loc, &b);
            out["properties"] =
                json!({ "securityRules": rules, "defaultSecurityRules": default_rules(&id) });
            store::put_with_operation(state, req, g, NSG, out, "Updating")
        }
        Method::DELETE => {
            if state.resource(&id).is_none() {
                return Resp::new(204);
            }
            if let Some(nic) = store::referrers(state, &id, NIC).first() {
                return arm_error(400, "InUseNetworkSecurityGroupCannotBeDeleted", &format!("Network security group {id} cannot be deleted because it is in use by the following resources: {nic}. In order to delete the Network security group, remove the association with the resource(s)."));
            }
            store::delete_with_operation(state, req, g, NSG, vec![id])
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

/// Finds a subnet by id; returns (vnet location, subnet prefix).
fn find_subnet(state: &State, subnet_id: &str) -> Option<(String, String)> {
    let (vnet_id, name) = subnet_id.rsplit_once("/subnets/")?;
    let v = state.resource(vnet_id)?;
    let s = v.body["properties"]["subnets"]
        .as_array()?
        .iter()
        .find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })?;
    Some((
        v.body["location"].as_str()?.to_string(),
        s["properties"]["addressPrefix"].as_str()?.to_string(),
    ))
}

fn missing_reference(referenced: &str, by: &str) -> Resp {
    arm_error(400, "InvalidResourceReference", &format!("Resource {referenced} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."))
}

pub fn interface(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(NIC, name);
    match req.method {
        Method::GET => store::read(state, g, NIC, name),
        Method::PUT => {
            let (b, loc) = match body_and_location(req) {
                Ok(x) => x,
                Err(r) => return r,
            };
            let configs = b["properties"]["ipConfigurations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if configs.is_empty() {
                return invalid_parameter(
                    "A network interface needs at least one IP configuration.",
                    "properties.ipConfigurations",
                );
            }
            let mut out_configs = Vec::new();
            // A secondary configuration without a subnet takes the primary's.
            let primary_subnet = configs[0]["properties"]["subnet"]["id"]
                .as_str()
                .map(str::to_string);
            for (i, c) in configs.iter().enumerate() {
                let cname = c["name"].as_str().unwrap_or("ipconfig1").to_string();
                let p = &c["properties"];
                let Some(subnet_id) = p["subnet"]["id"].as_str().or(if i > 0 {
                    primary_subnet.as_deref()
                } else {
                    None
                }) else {
                    return invalid_parameter(
                        &format!("IP configuration {cname} needs a subnet."),
                        &format!("properties.ipConfigurations[{i}].properties.subnet"),
                    );
                };
                let Some((vnet_loc, prefix)) = find_subnet(state, subnet_id) else {
                    return missing_reference(subnet_id, &id);
                };
                if vnet_loc != loc {
                    return arm_error(400, "InvalidResourceReference", &format!("Resource {subnet_id} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."));
                }
                let mut props = json!({
                    "provisioningState": "Succeeded",
                    "privateIPAllocationMethod": p["privateIPAllocationMethod"].as_str().unwrap_or("Dynamic"),
                    "subnet": { "id": subnet_id },
                    "primary": i == 0,
                    "privateIPAddressVersion": "IPv4",
                    "privateIPAddress": prefix.parse::<Ipv4Net>().ok().and_then(|n| n.hosts().nth(3 + i)).map(|a| a.to_string()).unwrap_or_default(),
                });
                if let Some(pip_id) = p["publicIPAddress"]["id"].as_str() {
                    let Some(pip) = state.resource(pip_id) else {
                        return missing_reference(pip_id, &id);
                    };
                    if pip.body["location"].as_str() != Some(loc.as_str()) {
                        return missing_reference(pip_id, &id);
                    }
                    let users = store::referrers(state, pip_id, NIC);
                    if users.iter().any(|u| !u.eq_ignore_ascii_case(&id)) {
                        return arm_error(
                            400,
                            "PublicIPAddressInUse",
                            &format!("Resource {pip_id} is already in use by {}.", users[0]),
                        );
                    }
                    props["publicIPAddress"] = json!({ "id": pip_id });
                }
                out_configs.push(json!({ "name": cname, "id": format!("{id}/ipConfigurations/{cname}"), "type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": props }));
            }
            let mut out = base(g, NIC, name, &loc, &b);
            let mut props = json!({
                "ipConfigurations": out_configs,
                "dnsSettings": { "dnsServers": [], "appliedDnsServers": [] },
                "enableAcceleratedNetworking": b["properties"]["enableAcceleratedNetworking"].as_bool().unwrap_or(false),
                "enableIPForwarding": false,
            });
            if let Some(nsg_id) = b["properties"]["networkSecurityGroup"]["id"].as_str() {
                if state.resource(nsg_id).is_none() {
                    return missing_reference(nsg_id, &id);
                }
                props["networkSecurityGroup"] = json!({ "id": nsg_id });
            }
            if let Some(vm) = state
                .resource(&id)
                .and_then(|r| r.body["properties"].get("virtualMachine").cloned())
            {
                props["virtualMachine"] = vm;
            }
            out["properties"] = props;
            store::put_with_operation(state, req, g, NIC, out, "Updating")
        }
        Method::DELETE => {
            let Some(nic) = state.resource(&id).cloned() else {
                return Resp::new(204);
            };
            if let Some(vm) = nic.body["properties"]["virtualMachine"]["id"].as_str() {
                if state.resource(vm).is_some() {
                    return arm_error(400, "NicInUse", &format!("Network Interface {id} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic."));
                }
            }
            store::delete_with_operation(state, req, g, NIC, vec![id])
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

/// Completes what creation does beyond the body: a public IP gets its address.
pub fn on_created(state: &mut State, id: &str) {
    let is_pip = state
        .resource(id)
        .is_some_and(|r| r.kind == PIP && r.body["properties"].get("ipAddress").is_none());
    if is_pip {
        let ip = state.allocate_ip();
        if let Some(r) = state.resources.get_mut(&id.to_ascii_lowercase()) {
            r.body["properties"]["ipAddress"] = Value::String(ip);
        }
    }
}
