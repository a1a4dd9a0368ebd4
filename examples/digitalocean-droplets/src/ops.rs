//! Droplets as the contract's compute: the catalogue, and creating,
//! deleting, powering and resizing a droplet as a plan of steps carried in
//! the operation's token, one idempotent step per `advance`.
//!
//! Ownership is a tag: every droplet this plugin creates carries
//! `skyport-server-<owner>`, and nothing without that tag is ever powered,
//! resized or deleted — it counts as missing instead. The cloud firewall
//! made for a server is named `skyport-<owner>` and applies to that tag
//! alone. Reserved IPs carry no tags, so the droplet carries one for its
//! IP (`skyport-ip-<owner>-<a-b-c-d>`): only an IP so named is ever
//! released, and the tag, which outlives a droplet destroyed elsewhere,
//! still names it then.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spin_sdk::http::Method;

use crate::api::{self, detail, numeric_id, slug};
#[cfg(not(feature = "contract-0-2-0"))]
use crate::compute::PowerAction;
use crate::compute::{
    self, Operation, Price, Region, Server, ServerSpec, ServerState, ServerStatus, Size,
};
use crate::Plugin;
use digitalocean_api::types::{Error, Session};

/// The only image offered: the one the product guide's servers run.
const IMAGE: &str = "ubuntu-24-04-x64";

/// One step of a plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "do", rename_all = "snake_case")]
enum Step {
    RegisterKey,
    CreateDroplet,
    WaitActive,
    /// The cloud firewall that lets in SSH, HTTP and HTTPS only.
    Firewall,
    /// A reserved IP assigned to the droplet: the server's address.
    ReserveIp,
    /// The droplet tagged with its reserved IP, the proof that Skyport
    /// reserved it.
    MarkIp,
    /// The droplet exists and is the owner's; a resize plans its power
    /// steps here, once it knows whether the droplet runs.
    Check,
    Act {
        kind: String,
    },
    WaitAction,
    /// Before a deletion: the reserved IP the droplet's tag names.
    FindIp,
    Delete,
    WaitGone,
    ReleaseIp,
    RemoveFirewall,
    RemoveKey,
}

/// A deletion: the IP released while it is still the droplet's, then the
/// droplet, then what was made beside it.
const DELETION: [Step; 7] = [
    Step::Check,
    Step::FindIp,
    Step::ReleaseIp,
    Step::Delete,
    Step::WaitGone,
    Step::RemoveFirewall,
    Step::RemoveKey,
];

/// What to create, kept in the plan until the droplet exists.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
struct Create {
    name: String,
    region: String,
    size: String,
    ssh_public_key: String,
    user_data: Option<String>,
    tags: Vec<String>,
}

/// The operation's token, serialized.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Plan {
    owner: String,
    steps: Vec<Step>,
    at: usize,
    droplet: Option<u64>,
    key: Option<u64>,
    action: Option<u64>,
    resize_to: Option<String>,
    create: Option<Create>,
    server: Option<(String, String, String, Option<String>)>,
    #[serde(default)]
    firewall: Option<String>,
    #[serde(default)]
    reserved_ip: Option<String>,
}

fn tag(owner: &str) -> String {
    format!("skyport-server-{owner}")
}

fn key_name(owner: &str) -> String {
    format!("skyport-{owner}")
}

/// The firewall's name, the same as the key's: DigitalOcean names begin
/// with a letter or digit and go on with letters, digits, dots and dashes.
fn firewall_name(owner: &str) -> String {
    format!("skyport-{owner}")
}

/// Who may reach a server: SSH, HTTP and HTTPS from anywhere, and any
/// traffic out.
fn firewall_body(owner: &str) -> Value {
    let anywhere = json!({ "addresses": ["0.0.0.0/0", "::/0"] });
    let inbound: Vec<Value> = ["22", "80", "443"]
        .iter()
        .map(|port| json!({ "protocol": "tcp", "ports": port, "sources": anywhere }))
        .collect();
    json!({
        "name": firewall_name(owner),
        "inbound_rules": inbound,
        "outbound_rules": [
            { "protocol": "tcp", "ports": "all", "destinations": anywhere },
            { "protocol": "udp", "ports": "all", "destinations": anywhere },
            { "protocol": "icmp", "destinations": anywhere },
        ],
        "tags": [tag(owner)],
    })
}

/// The server's own firewall: its name, and applying to its tag alone.
fn own_firewall(firewall: &Value, owner: &str) -> bool {
    firewall["name"].as_str() == Some(firewall_name(owner).as_str())
        && firewall["tags"] == json!([tag(owner)])
}

/// Whether removing the firewall touches nothing but this server: one
/// someone has since applied to other droplets is left as it is.
fn only_this_servers(firewall: &Value, owner: &str) -> bool {
    own_firewall(firewall, owner)
        && firewall["droplet_ids"]
            .as_array()
            .is_some_and(Vec::is_empty)
}

/// A reserved IP as DigitalOcean answers it, checked before it becomes
/// part of a URL.
fn reserved_ip(v: &Value) -> Option<String> {
    let ip = v.as_str()?;
    ip.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|_| ip.to_string())
}

/// The droplet's tag for the reserved IP Skyport reserved for server
/// `owner` (tags take letters, digits, colons, dashes and underscores). A
/// tag outlives its droplet, so it still names the server's IP when the
/// droplet was destroyed outside Skyport.
fn ip_tag(owner: &str, ip: &str) -> String {
    format!("skyport-ip-{owner}-{}", ip.replace('.', "-"))
}

/// The reserved IP a tag names for `owner`: `skyport-ip-<owner>-a-b-c-d`,
/// or, from before tags named their server, `skyport-ip-a-b-c-d` (which
/// `owner` None accepts alone, for a tag read off the server's droplet).
fn ip_of_tag(tag: &str, owner: Option<&str>) -> Option<String> {
    let rest = tag.strip_prefix("skyport-ip-")?;
    let parts: Vec<&str> = rest.rsplitn(5, '-').collect();
    let (ip, server) = match parts.as_slice() {
        [d, c, b, a] => (format!("{a}.{b}.{c}.{d}"), None),
        [d, c, b, a, server] => (format!("{a}.{b}.{c}.{d}"), Some(*server)),
        _ => return None,
    };
    match (server, owner) {
        (Some(s), Some(o)) if s != o => return None,
        (None, Some(_)) => return None,
        _ => {}
    }
    reserved_ip(&Value::String(ip))
}

/// The reserved IP a droplet's tag names, if it carries one.
fn tagged_ip(droplet: &Value) -> Option<String> {
    droplet["tags"]
        .as_array()?
        .iter()
        .find_map(|t| ip_of_tag(t.as_str()?, None))
}

/// Where a reservation for `droplet` stands: the IP assigned to it, or
/// whether one of the team's IPs is still being assigned (a reservation
/// this step made before a restart shows so until its assignment ends).
fn ip_of(session: &Session, droplet: u64) -> Result<(Option<String>, bool), Error> {
    let ips = api::list(session, "/v2/reserved_ips", "reserved_ips")?;
    let assigned = ips
        .iter()
        .find(|r| r["droplet"]["id"].as_u64() == Some(droplet))
        .and_then(|r| reserved_ip(&r["ip"]));
    let pending = ips
        .iter()
        .any(|r| r["locked"] == true && r["droplet"].is_null());
    Ok((assigned, pending))
}

/// The platform's server id, checked: it becomes a tag and a key's name.
fn owner_ok(owner: &str) -> Result<(), Error> {
    let ok = !owner.is_empty()
        && owner.len() <= 64
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(detail(
            "invalid_owner",
            "The server's id must be letters, digits and hyphens.",
            Some("owner"),
        )))
    }
}

/// A droplet's name: DigitalOcean takes a hostname; Skyport's names are
/// 1–64 lowercase letters, digits and hyphens.
fn name_ok(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(detail("invalid_name", &format!("`{name}` is not a droplet name: 1–64 lowercase letters, digits and hyphens, not starting or ending with a hyphen."), Some("name"))))
    }
}

/// Labels become tags where DigitalOcean's tag alphabet allows.
fn tags(spec: &ServerSpec) -> Vec<String> {
    let fits = |s: &str| {
        !s.is_empty()
            && s.len() <= 255
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
    };
    let mut out = vec!["skyport".to_string(), tag(&spec.owner)];
    out.extend(
        spec.labels
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .filter(|t| fits(t)),
    );
    out
}

fn label(step: &Step) -> String {
    match step {
        Step::RegisterKey => "Registering the SSH key".into(),
        Step::CreateDroplet => "Creating the droplet".into(),
        Step::WaitActive => "Waiting for the droplet to start".into(),
        Step::Firewall => "Opening SSH, HTTP and HTTPS in a cloud firewall".into(),
        Step::ReserveIp => "Reserving its IP address".into(),
        Step::MarkIp => "Noting its reserved IP".into(),
        Step::FindIp => "Finding its reserved IP".into(),
        Step::ReleaseIp => "Releasing its reserved IP".into(),
        Step::RemoveFirewall => "Removing its cloud firewall".into(),
        Step::Check => "Checking the droplet is this server's".into(),
        Step::Act { kind } => match kind.split_once(':') {
            Some((_, size)) => format!("Asking DigitalOcean to resize to {size}"),
            None => format!("Asking DigitalOcean to {}", kind.replace('_', " ")),
        },
        Step::WaitAction => "Waiting for DigitalOcean to finish".into(),
        Step::Delete => "Deleting the droplet".into(),
        Step::WaitGone => "Waiting for the droplet to go".into(),
        Step::RemoveKey => "Removing the SSH key".into(),
    }
}

impl Plan {
    fn new(owner: &str, steps: Vec<Step>) -> Plan {
        Plan {
            owner: owner.into(),
            steps,
            at: 0,
            droplet: None,
            key: None,
            action: None,
            resize_to: None,
            create: None,
            server: None,
            firewall: None,
            reserved_ip: None,
        }
    }

    fn operation(&self) -> Operation {
        let done = self.at >= self.steps.len();
        let step = self.steps.get(self.at).map_or_else(|| "Done".into(), label);
        let server = self.server.clone().map(|(id, name, region, ip)| Server {
            resources: [
                Some(format!("droplets/{id}")),
                self.key.map(|k| format!("account/keys/{k}")),
                self.firewall.as_ref().map(|f| format!("firewalls/{f}")),
                self.reserved_ip
                    .as_ref()
                    .map(|ip| format!("reserved_ips/{ip}")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            size: self
                .create
                .as_ref()
                .map(|c| c.size.clone())
                .unwrap_or_default(),
            id,
            name,
            region,
            public_ip: ip,
        });
        Operation {
            token: serde_json::to_string(self).unwrap_or_default(),
            step,
            step_index: (self.at + 1).min(self.steps.len()) as u32,
            steps: self.steps.len() as u32,
            done,
            server,
        }
    }

    fn droplet(&self) -> Result<u64, Error> {
        self.droplet.ok_or_else(|| {
            Error::Other(detail("bad_token", "The operation lost its droplet.", None))
        })
    }

    fn ip(&self) -> Result<String, Error> {
        self.reserved_ip.clone().ok_or_else(|| {
            Error::Other(detail(
                "bad_token",
                "The operation lost its reserved IP.",
                None,
            ))
        })
    }

    /// What a creation makes, kept until the droplet exists.
    fn spec(&self) -> Result<Create, Error> {
        self.create.clone().ok_or_else(|| {
            Error::Other(detail(
                "bad_token",
                "The operation lost what to create.",
                None,
            ))
        })
    }

    /// A deletion whose droplet is gone already: only what was made beside
    /// it is left to remove (its reserved IP, whose proof was the droplet's
    /// tag, is not), and this step is done.
    fn only_the_rest_left(&mut self) {
        self.steps.truncate(self.at + 1);
        self.steps.extend([
            Step::FindIp,
            Step::ReleaseIp,
            Step::RemoveFirewall,
            Step::RemoveKey,
        ]);
        self.at += 1;
    }
}

/// The droplet this server made, found by its tag (a replayed creation, or
/// an undone one whose droplet was never numbered in the token).
fn tagged(session: &Session, owner: &str) -> Result<Option<u64>, Error> {
    let mine = api::list(
        session,
        &format!("/v2/droplets?tag_name={}", tag(owner)),
        "droplets",
    )?;
    Ok(mine.first().and_then(|d| d["id"].as_u64()))
}

/// A firewall's id as DigitalOcean gives it (a UUID), checked before it
/// becomes part of a URL.
fn uuid_like(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

fn droplet_path(id: u64) -> String {
    format!("/v2/droplets/{id}")
}

/// The droplet, or `None` when DigitalOcean no longer has it.
fn get_droplet(session: &Session, id: u64) -> Result<Option<Value>, Error> {
    match api::call(session, Method::Get, &droplet_path(id), None) {
        Ok(v) => Ok(Some(v["droplet"].clone())),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn owned(droplet: &Value, owner: &str) -> bool {
    droplet["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag(owner).as_str())))
}

fn public_ip(droplet: &Value) -> Option<String> {
    droplet["networks"]["v4"]
        .as_array()?
        .iter()
        .find(|n| n["type"] == "public")?["ip_address"]
        .as_str()
        .map(Into::into)
}

/// The same key's type and data, whatever the comment.
fn same_key(a: &str, b: &str) -> bool {
    a.split_whitespace()
        .take(2)
        .eq(b.split_whitespace().take(2))
}

/// Does one step; a step that waits returns without moving on.
fn step(session: &Session, plan: &mut Plan) -> Result<(), Error> {
    let Some(current) = plan.steps.get(plan.at).cloned() else {
        return Ok(());
    };
    let owner = plan.owner.clone();
    match current {
        Step::RegisterKey => {
            let c = plan.spec()?;
            let body = json!({ "name": key_name(&owner), "public_key": c.ssh_public_key });
            match api::call(session, Method::Post, "/v2/account/keys", Some(body)) {
                Ok(v) => plan.key = v["ssh_key"]["id"].as_u64(),
                // The team has the key already (the user's, or this step's
                // before a restart): use it, and remove it later only if it
                // is the one this server registered.
                Err(Error::InvalidInput(d)) if d.message.contains("already in use") => {
                    let keys = api::list(session, "/v2/account/keys", "ssh_keys")?;
                    plan.key = keys
                        .iter()
                        .find(|k| {
                            same_key(
                                k["public_key"].as_str().unwrap_or_default(),
                                &c.ssh_public_key,
                            )
                        })
                        .and_then(|k| k["id"].as_u64());
                }
                Err(e) => return Err(e),
            }
            // Without its key a droplet would be made with a root password
            // sent by email: never.
            if plan.key.is_none() {
                return Err(Error::Other(detail(
                    "no_ssh_key",
                    "DigitalOcean did not give the SSH key's id, so the droplet is not made without it.",
                    Some("ssh_public_key"),
                )));
            }
        }
        Step::CreateDroplet => {
            let c = plan.spec()?;
            // A droplet this server already made (a step replayed after a
            // restart) is taken up rather than made twice.
            let id = match tagged(session, &owner)? {
                Some(id) => id,
                None => {
                    let body = json!({ "name": c.name, "region": c.region, "size": c.size, "image": IMAGE, "ssh_keys": plan.key.into_iter().collect::<Vec<_>>(), "user_data": c.user_data, "tags": c.tags, "monitoring": true });
                    let v = api::call(session, Method::Post, "/v2/droplets", Some(body))?;
                    v["droplet"]["id"].as_u64().ok_or_else(|| {
                        Error::Other(detail(
                            "bad_answer",
                            "DigitalOcean created a droplet without an id.",
                            None,
                        ))
                    })?
                }
            };
            plan.droplet = Some(id);
            // Named at once, so a clean-up after a failure finds it; the
            // cloud-init document is not kept once the droplet has it.
            if let Some(c) = plan.create.as_mut() {
                c.user_data = None;
            }
            let c = plan.create.clone().unwrap_or_default();
            plan.server = Some((id.to_string(), c.name, c.region, None));
        }
        Step::WaitActive => {
            let id = plan.droplet()?;
            let d = get_droplet(session, id)?.ok_or_else(|| {
                Error::NotFound(detail(
                    "not_found",
                    &format!("Droplet {id} disappeared while it was being created."),
                    None,
                ))
            })?;
            let ip = public_ip(&d);
            if d["status"] != "active" || ip.is_none() {
                return Ok(());
            }
            let c = plan.create.clone().unwrap_or_default();
            plan.server = Some((id.to_string(), c.name, c.region, ip));
        }
        Step::Firewall => {
            // Taken up when a replay finds it made already.
            let all = api::list(session, "/v2/firewalls", "firewalls")?;
            plan.firewall = match all.iter().find(|f| own_firewall(f, &owner)) {
                Some(f) => f["id"].as_str().map(Into::into),
                None => api::call(
                    session,
                    Method::Post,
                    "/v2/firewalls",
                    Some(firewall_body(&owner)),
                )?["firewall"]["id"]
                    .as_str()
                    .map(Into::into),
            };
        }
        Step::ReserveIp => {
            let id = plan.droplet()?;
            // One already assigned to the droplet (a replay) is taken up;
            // while one is still being assigned, the step waits to see.
            let ip = match ip_of(session, id)? {
                (Some(ip), _) => {
                    plan.action = None;
                    ip
                }
                (None, true) => return Ok(()),
                (None, false) => {
                    let v = api::call(
                        session,
                        Method::Post,
                        "/v2/reserved_ips",
                        Some(json!({ "droplet_id": id })),
                    )?;
                    plan.action = v["links"]["actions"]
                        .as_array()
                        .and_then(|a| a.iter().find(|a| a["rel"] == "assign_ip"))
                        .and_then(|a| a["id"].as_u64());
                    reserved_ip(&v["reserved_ip"]["ip"]).ok_or_else(|| {
                        Error::Other(detail(
                            "bad_answer",
                            "DigitalOcean reserved an IP without giving its address.",
                            None,
                        ))
                    })?
                }
            };
            plan.reserved_ip = Some(ip.clone());
            if let Some(server) = plan.server.as_mut() {
                server.3 = Some(ip);
            }
        }
        Step::MarkIp => {
            let (id, ip) = (plan.droplet()?, plan.ip()?);
            let tag = ip_tag(&owner, &ip);
            api::call(
                session,
                Method::Post,
                "/v2/tags",
                Some(json!({ "name": tag })),
            )?;
            let body = json!({ "resources": [{ "resource_id": id.to_string(), "resource_type": "droplet" }] });
            api::call(
                session,
                Method::Post,
                &format!("/v2/tags/{tag}/resources"),
                Some(body),
            )?;
        }
        Step::FindIp => {
            let droplet = match plan.droplet {
                Some(id) => get_droplet(session, id)?,
                None => None,
            };
            plan.reserved_ip = match droplet {
                Some(d) => tagged_ip(&d),
                // Destroyed outside Skyport: its IP was unassigned and is
                // still billed; the tag that named it for this server says
                // which one it is.
                None => api::list(session, "/v2/tags", "tags")?
                    .iter()
                    .find_map(|t| ip_of_tag(t["name"].as_str()?, Some(&owner))),
            };
        }
        Step::ReleaseIp => {
            if let Some(ip) = plan.reserved_ip.clone() {
                let path = format!("/v2/reserved_ips/{ip}");
                match api::call(session, Method::Get, &path, None) {
                    Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                    Ok(v) => {
                        let r = &v["reserved_ip"];
                        let elsewhere = r["droplet"]["id"]
                            .as_u64()
                            .is_some_and(|d| Some(d) != plan.droplet);
                        // Being moved: wait to see where it lands.
                        if r["locked"] == true {
                            return Ok(());
                        }
                        // Assigned to another droplet since, someone took it
                        // over: it is theirs now. Else it goes, unassigned
                        // from this droplet by the deletion itself.
                        if !elsewhere {
                            match api::call(session, Method::Delete, &path, None) {
                                Ok(_) | Err(Error::NotFound(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
            }
        }
        Step::RemoveFirewall => {
            let all = api::list(session, "/v2/firewalls", "firewalls")?;
            for f in all.iter().filter(|f| only_this_servers(f, &owner)) {
                let Some(id) = f["id"].as_str().filter(|id| uuid_like(id)) else {
                    continue;
                };
                match api::call(
                    session,
                    Method::Delete,
                    &format!("/v2/firewalls/{id}"),
                    None,
                ) {
                    Ok(_) | Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Step::Check => {
            // A creation that failed before its droplet was named is
            // cleaned up by its tag: only this server's droplet carries it.
            if plan.droplet.is_none() {
                plan.droplet = tagged(session, &owner)?;
                if plan.droplet.is_none() && plan.steps.contains(&Step::Delete) {
                    plan.only_the_rest_left();
                    return Ok(());
                }
            }
            let id = plan.droplet()?;
            let Some(d) = get_droplet(session, id)? else {
                if plan.steps.contains(&Step::Delete) {
                    plan.only_the_rest_left();
                    return Ok(());
                }
                return Err(Error::NotFound(detail(
                    "not_found",
                    &format!("Droplet {id} no longer exists."),
                    None,
                )));
            };
            if !owned(&d, &owner) {
                return Err(Error::Conflict(detail("not_owned", &format!("Droplet {id} does not carry this server's tag {}; Skyport acts only on droplets it created.", tag(&owner)), None)));
            }
            if let Some(size) = plan.resize_to.clone() {
                // DigitalOcean resizes a droplet that is off.
                let running = d["status"] == "active";
                let mut rest = Vec::new();
                if running {
                    rest.extend([
                        Step::Act {
                            kind: "shutdown".into(),
                        },
                        Step::WaitAction,
                    ]);
                }
                rest.extend([
                    Step::Act {
                        kind: format!("resize:{size}"),
                    },
                    Step::WaitAction,
                ]);
                if running {
                    rest.extend([
                        Step::Act {
                            kind: "power_on".into(),
                        },
                        Step::WaitAction,
                    ]);
                }
                plan.steps.truncate(plan.at + 1);
                plan.steps.extend(rest);
            }
        }
        Step::Act { kind } => {
            let id = plan.droplet()?;
            // A step replayed after a restart must not fail on its own
            // first attempt: an action of the droplet still running is
            // waited for (taken up when it is this one), and a goal that
            // already holds is not asked for again.
            let running = api::call(
                session,
                Method::Get,
                &format!("/v2/droplets/{id}/actions?per_page=20"),
                None,
            )?;
            let busy = running["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["status"] == "in-progress")
                .cloned();
            if let Some(a) = busy {
                if a["type"].as_str() == Some(kind.split(':').next().unwrap_or_default()) {
                    plan.action = a["id"].as_u64();
                    plan.at += 1;
                }
                return Ok(());
            }
            let d = get_droplet(session, id)?.unwrap_or_default();
            let done = match kind.split_once(':') {
                Some(("resize", size)) => d["size_slug"] == size,
                _ => match kind.as_str() {
                    "power_off" | "shutdown" => d["status"] == "off",
                    "power_on" => d["status"] == "active",
                    _ => false,
                },
            };
            if done {
                plan.action = None;
                plan.at += 1;
                return Ok(());
            }
            let body = match kind.split_once(':') {
                Some(("resize", size)) => json!({ "type": "resize", "size": size, "disk": false }),
                _ => json!({ "type": kind }),
            };
            let v = api::call(
                session,
                Method::Post,
                &format!("/v2/droplets/{id}/actions"),
                Some(body),
            )?;
            plan.action = v["action"]["id"].as_u64();
        }
        Step::WaitAction => {
            let Some(action) = plan.action else {
                plan.at += 1;
                return Ok(());
            };
            let v = api::call(session, Method::Get, &format!("/v2/actions/{action}"), None)?;
            match v["action"]["status"].as_str() {
                Some("completed") => {}
                Some("errored") => {
                    // A reservation whose assignment failed is released
                    // here: the token names it, and nothing else would.
                    if v["action"]["type"] == "assign_ip" {
                        if let Some(ip) = plan.reserved_ip.take() {
                            match api::call(
                                session,
                                Method::Delete,
                                &format!("/v2/reserved_ips/{ip}"),
                                None,
                            ) {
                                Ok(_) | Err(Error::NotFound(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    return Err(Error::Other(detail(
                        "action_errored",
                        &format!(
                            "DigitalOcean's {} action failed.",
                            v["action"]["type"].as_str().unwrap_or("droplet")
                        ),
                        None,
                    )));
                }
                _ => return Ok(()),
            }
        }
        Step::Delete => {
            let id = plan.droplet()?;
            match api::call(session, Method::Delete, &droplet_path(id), None) {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Step::WaitGone => {
            if get_droplet(session, plan.droplet()?)?.is_some() {
                return Ok(());
            }
        }
        Step::RemoveKey => {
            let keys = api::list(session, "/v2/account/keys", "ssh_keys")?;
            if let Some(k) = keys
                .iter()
                .find(|k| k["name"].as_str() == Some(key_name(&owner).as_str()))
                .and_then(|k| k["id"].as_u64())
            {
                match api::call(
                    session,
                    Method::Delete,
                    &format!("/v2/account/keys/{k}"),
                    None,
                ) {
                    Ok(_) | Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    plan.at += 1;
    Ok(())
}

#[cfg(not(feature = "contract-0-2-0"))]
fn power_kind(action: PowerAction) -> &'static str {
    match action {
        PowerAction::Start => "power_on",
        PowerAction::Stop => "shutdown",
        PowerAction::Restart => "reboot",
    }
}

fn state_of(droplet: Option<&Value>, owner: &str) -> ServerStatus {
    let status = |state, detail: &str| ServerStatus {
        state,
        detail: detail.into(),
    };
    match droplet {
        None => status(ServerState::Missing, "Droplet deleted"),
        Some(d) if !owned(d, owner) => status(
            ServerState::Missing,
            "The droplet there is not this server's",
        ),
        Some(d) => match d["status"].as_str() {
            Some("active") => status(ServerState::Running, "Droplet active"),
            Some("off") => status(
                ServerState::Stopped,
                "Droplet off (DigitalOcean bills a droplet while it is off)",
            ),
            Some("archive") => status(ServerState::Missing, "Droplet archived"),
            Some(other) => status(ServerState::Changing, &format!("Droplet {other}")),
            None => status(ServerState::Changing, "Droplet state unknown"),
        },
    }
}

pub(crate) fn sizes(session: &Session) -> Result<Vec<Value>, Error> {
    api::list(session, "/v2/sizes", "sizes")
}

fn offered_in(size: &Value, region: &str) -> bool {
    size["available"] == true
        && size["regions"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == region))
}

fn to_size(v: &Value) -> Size {
    Size {
        name: v["slug"].as_str().unwrap_or_default().into(),
        vcpus: v["vcpus"].as_u64().unwrap_or(0) as u32,
        memory_gb: v["memory"].as_f64().unwrap_or(0.0) as f32 / 1024.0,
        family: "droplets".into(),
    }
}

/// The droplet named by the platform's server id, when it is `owner`'s.
#[cfg_attr(feature = "contract-0-2-0", allow(dead_code))]
fn owned_droplet(session: &Session, server_id: &str, owner: &str) -> Result<(u64, Value), Error> {
    owner_ok(owner)?;
    let id = numeric_id("droplet", server_id)?;
    match get_droplet(session, id)? {
        Some(d) if owned(&d, owner) => Ok((id, d)),
        Some(_) => Err(Error::Conflict(detail(
            "not_owned",
            &format!(
                "Droplet {id} does not carry this server's tag {}.",
                tag(owner)
            ),
            None,
        ))),
        None => Err(Error::NotFound(detail(
            "not_found",
            &format!("Droplet {id} no longer exists."),
            None,
        ))),
    }
}

fn checked_spec(spec: &ServerSpec) -> Result<(), Error> {
    owner_ok(&spec.owner)?;
    name_ok(&spec.name)?;
    slug("region", &spec.region)?;
    slug("size", &spec.size)?;
    // The key is installed for root, the one user a droplet has.
    if !spec.admin_username.is_empty() && spec.admin_username != "root" {
        return Err(Error::InvalidInput(detail(
            "admin_username",
            &format!("DigitalOcean droplets are reached as root with the SSH key; there is no user `{}`.", spec.admin_username),
            Some("admin_username"),
        )));
    }
    Ok(())
}

impl compute::Guest for Plugin {
    fn list_regions(session: Session, _scope: String) -> Result<Vec<Region>, Error> {
        let regions = api::list(&session, "/v2/regions", "regions")?;
        Ok(regions
            .iter()
            .filter(|r| r["available"] == true)
            .map(|r| Region {
                name: r["slug"].as_str().unwrap_or_default().into(),
                display_name: r["name"].as_str().unwrap_or_default().into(),
            })
            .collect())
    }

    fn list_sizes(session: Session, _scope: String, region: String) -> Result<Vec<Size>, Error> {
        let region = slug("region", &region)?;
        Ok(sizes(&session)?
            .iter()
            .filter(|s| offered_in(s, &region))
            .map(to_size)
            .collect())
    }

    /// DigitalOcean's prices come with its sizes, behind a token; this
    /// session-less question has no answer here.
    fn hourly_price(_: String, _: String, _: String) -> Result<Option<Price>, Error> {
        Ok(None)
    }

    fn preflight(session: Session, spec: ServerSpec) -> Result<(), Error> {
        checked_spec(&spec)?;
        let all = sizes(&session)?;
        let size = all.iter().find(|s| s["slug"] == spec.size.as_str());
        if !size.is_some_and(|s| offered_in(s, &spec.region)) {
            return Err(Error::SkuNotAvailable(detail(
                "size_unavailable",
                &format!("Size {} is not offered in {}.", spec.size, spec.region),
                Some("size"),
            )));
        }
        let team = api::team_in(&session, &spec.scope)?;
        let limit = team.droplet_limit;
        let existing = api::call(&session, Method::Get, "/v2/droplets?per_page=1", None)?["meta"]
            ["total"]
            .as_u64()
            .unwrap_or(0);
        // The platform counts every creation still running as pending; the
        // ones whose droplet exists (still `new`) are in `existing` already.
        let made = api::list(&session, "/v2/droplets?tag_name=skyport", "droplets")?
            .iter()
            .filter(|d| d["status"] == "new")
            .count();
        let pending = spec.pending.len().saturating_sub(made) as u64;
        if existing + pending + 1 > limit {
            return Err(Error::QuotaExceeded(detail(
                "droplet_limit",
                &format!(
                    "The team may have {limit} droplets and has {existing} (and {pending} being created)."
                ),
                Some("droplets"),
            )));
        }
        // Each server takes a reserved IP; creations still running may not
        // have theirs yet, so they count too (a creation near the limit is
        // refused rather than a droplet made and undone).
        let ips = api::list(&session, "/v2/reserved_ips", "reserved_ips")?.len() as u64;
        let creating = spec.pending.len() as u64;
        if ips + creating + 1 > team.reserved_ip_limit {
            return Err(Error::QuotaExceeded(detail(
                "reserved_ip_limit",
                &format!(
                    "Each server takes a reserved IP, and the team may hold {} and holds {ips} (with {creating} servers being created).",
                    team.reserved_ip_limit
                ),
                Some("reserved_ips"),
            )));
        }
        Ok(())
    }

    fn create_server(_session: Session, spec: ServerSpec) -> Result<Operation, Error> {
        checked_spec(&spec)?;
        let mut plan = Plan::new(
            &spec.owner,
            vec![
                Step::RegisterKey,
                Step::CreateDroplet,
                Step::WaitActive,
                Step::Firewall,
                Step::ReserveIp,
                Step::WaitAction,
                Step::MarkIp,
            ],
        );
        plan.create = Some(Create {
            tags: tags(&spec),
            name: spec.name,
            region: spec.region,
            size: spec.size,
            ssh_public_key: spec.ssh_public_key,
            user_data: spec.cloud_init,
        });
        Ok(plan.operation())
    }

    fn delete_server(
        _session: Session,
        server_id: String,
        owner: String,
    ) -> Result<Operation, Error> {
        owner_ok(&owner)?;
        let mut plan = Plan::new(&owner, DELETION.to_vec());
        // No id: a creation undone before DigitalOcean numbered its droplet.
        if !server_id.is_empty() {
            plan.droplet = Some(numeric_id("droplet", &server_id)?);
        }
        Ok(plan.operation())
    }

    fn inspect_server(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<ServerStatus, Error> {
        owner_ok(&owner)?;
        let d = get_droplet(&session, numeric_id("droplet", &server_id)?)?;
        Ok(state_of(d.as_ref(), &owner))
    }

    #[cfg(not(feature = "contract-0-2-0"))]
    fn power_server(
        _session: Session,
        server_id: String,
        owner: String,
        action: PowerAction,
    ) -> Result<Operation, Error> {
        owner_ok(&owner)?;
        let mut plan = Plan::new(
            &owner,
            vec![
                Step::Check,
                Step::Act {
                    kind: power_kind(action).into(),
                },
                Step::WaitAction,
            ],
        );
        plan.droplet = Some(numeric_id("droplet", &server_id)?);
        Ok(plan.operation())
    }

    #[cfg(not(feature = "contract-0-2-0"))]
    fn resize_sizes(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<Vec<Size>, Error> {
        let (_, d) = owned_droplet(&session, &server_id, &owner)?;
        let region = d["region"]["slug"].as_str().unwrap_or_default().to_string();
        let (current, disk) = (d["size_slug"].clone(), d["disk"].as_u64().unwrap_or(0));
        // A resize keeps the disk, so only sizes with at least as much fit.
        Ok(sizes(&session)?
            .iter()
            .filter(|s| {
                offered_in(s, &region)
                    && s["slug"] != current
                    && s["disk"].as_u64().unwrap_or(0) >= disk
            })
            .map(to_size)
            .collect())
    }

    #[cfg(not(feature = "contract-0-2-0"))]
    fn resize_server(
        _session: Session,
        server_id: String,
        owner: String,
        size: String,
    ) -> Result<Operation, Error> {
        owner_ok(&owner)?;
        let mut plan = Plan::new(&owner, vec![Step::Check]);
        plan.droplet = Some(numeric_id("droplet", &server_id)?);
        plan.resize_to = Some(slug("size", &size)?);
        Ok(plan.operation())
    }

    fn advance(session: Session, token: String) -> Result<Operation, Error> {
        let mut plan: Plan = serde_json::from_str(&token).map_err(|_| {
            Error::InvalidInput(detail(
                "bad_token",
                "That is not an operation token of this plugin.",
                None,
            ))
        })?;
        owner_ok(&plan.owner)?;
        step(&session, &mut plan)?;
        Ok(plan.operation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_survives_its_token_and_counts_its_steps() {
        let mut plan = Plan::new(
            "0f1e2d3c-aaaa-4bbb-8ccc-000000000001",
            vec![
                Step::Check,
                Step::Act {
                    kind: "power_on".into(),
                },
                Step::WaitAction,
            ],
        );
        plan.droplet = Some(42);
        let op = plan.operation();
        assert_eq!((op.step_index, op.steps, op.done), (1, 3, false));
        assert_eq!(op.step, "Checking the droplet is this server's");
        let back: Plan = serde_json::from_str(&op.token).unwrap();
        assert_eq!(back, plan);
        plan.at = 3;
        let op = plan.operation();
        assert!(op.done && op.step_index == 3 && op.step == "Done");
    }

    #[test]
    fn only_droplets_tagged_for_the_server_count_as_it() {
        let owner = "abc-1";
        let mine = json!({ "status": "off", "tags": ["skyport", "skyport-server-abc-1"] });
        let theirs = json!({ "status": "active", "tags": ["skyport-server-abc-2"] });
        assert!(matches!(
            state_of(Some(&mine), owner).state,
            ServerState::Stopped
        ));
        assert!(matches!(
            state_of(Some(&theirs), owner).state,
            ServerState::Missing
        ));
        assert!(matches!(state_of(None, owner).state, ServerState::Missing));
    }

    #[test]
    fn the_firewall_opens_three_ports_and_is_removed_only_when_it_is_the_servers_alone() {
        let owner = "abc-1";
        let body = firewall_body(owner);
        let ports: Vec<&str> = body["inbound_rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ports"].as_str().unwrap())
            .collect();
        assert_eq!(ports, ["22", "80", "443"]);
        assert_eq!(body["tags"], json!(["skyport-server-abc-1"]));
        let made =
            json!({ "name": "skyport-abc-1", "tags": ["skyport-server-abc-1"], "droplet_ids": [] });
        assert!(own_firewall(&made, owner) && only_this_servers(&made, owner));
        let widened = json!({ "name": "skyport-abc-1", "tags": ["skyport-server-abc-1"], "droplet_ids": [7] });
        assert!(own_firewall(&widened, owner) && !only_this_servers(&widened, owner));
        for other in [
            json!({ "name": "skyport-abc-1", "tags": ["skyport-server-abc-1", "web"] }),
            json!({ "name": "skyport-abc-2", "tags": ["skyport-server-abc-1"] }),
            json!({ "name": "skyport-abc-1", "tags": ["skyport-server-abc-2"] }),
        ] {
            assert!(!own_firewall(&other, owner), "{other}");
        }
        assert!(uuid_like("bb4b2611-3d72-467b-8602-280330ecd65c"));
        for bad in [
            "",
            "../droplets",
            "bb4b2611-3d72-467b-8602-280330ecd65c/x",
            "bb4b2611x3d72-467b-8602-280330ecd65c",
        ] {
            assert!(!uuid_like(bad), "{bad}");
        }
        assert_eq!(
            reserved_ip(&json!("192.0.2.7")).as_deref(),
            Some("192.0.2.7")
        );
        // The droplet's tag is the proof of which reserved IP is Skyport's.
        assert_eq!(ip_tag("abc-1", "192.0.2.7"), "skyport-ip-abc-1-192-0-2-7");
        let d =
            json!({ "tags": ["skyport", "skyport-server-abc-1", ip_tag("abc-1", "192.0.2.7")] });
        assert_eq!(tagged_ip(&d).as_deref(), Some("192.0.2.7"));
        // A mark from before marks named their server still reads.
        let d = json!({ "tags": ["skyport-server-abc-1", "skyport-ip-192-0-2-7"] });
        assert_eq!(tagged_ip(&d).as_deref(), Some("192.0.2.7"));
        for tags in [
            json!(["skyport-ip-192-0-2"]),
            json!(["skyport-ip-../keys"]),
            json!(["skyport-ip-abc-1-192-0-2-999"]),
            json!(["web"]),
            json!(null),
        ] {
            assert_eq!(tagged_ip(&json!({ "tags": tags })), None, "{tags}");
        }
        // Found among the team's tags, a mark counts only for its server.
        let mark = ip_tag("abc-1", "192.0.2.7");
        assert_eq!(
            ip_of_tag(&mark, Some("abc-1")).as_deref(),
            Some("192.0.2.7")
        );
        assert_eq!(ip_of_tag(&mark, Some("abc-2")), None);
        assert_eq!(ip_of_tag("skyport-ip-192-0-2-7", Some("abc-1")), None);
        // A firewall whose droplets are not told is not taken as applying
        // to nothing else.
        assert!(!only_this_servers(
            &json!({ "name": "skyport-abc-1", "tags": ["skyport-server-abc-1"] }),
            owner
        ));
        for bad in [
            json!("192.0.2.7/32"),
            json!("../keys"),
            json!(7),
            json!(null),
        ] {
            assert_eq!(reserved_ip(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_deletion_without_its_droplet_still_removes_what_was_made_beside_it() {
        let mut plan = Plan::new("abc-1", DELETION.to_vec());
        plan.only_the_rest_left();
        // Its reserved IP too, found by the mark that named it for this
        // server (the droplet destroyed outside Skyport left it unassigned).
        assert_eq!(
            plan.steps,
            [
                Step::Check,
                Step::FindIp,
                Step::ReleaseIp,
                Step::RemoveFirewall,
                Step::RemoveKey
            ]
        );
        assert_eq!(plan.at, 1);
        // A token written before firewalls and reserved IPs still reads.
        let old = r#"{"owner":"abc-1","steps":[{"do":"check"},{"do":"delete"},{"do":"wait_gone"},{"do":"remove_key"}],"at":1,"droplet":5,"key":null,"action":null,"resize_to":null,"create":null,"server":null}"#;
        let plan: Plan = serde_json::from_str(old).unwrap();
        assert_eq!((plan.firewall, plan.reserved_ip, plan.at), (None, None, 1));
    }

    #[test]
    fn names_owners_and_labels_are_checked_before_they_reach_digitalocean() {
        assert!(name_ok("web-1").is_ok());
        for bad in ["", "-web", "Web", "web_1", "a/b"] {
            assert!(name_ok(bad).is_err(), "{bad}");
        }
        assert!(owner_ok("3f2a-bc").is_ok());
        assert!(owner_ok("x/../y").is_err());
        assert!(same_key("ssh-ed25519 AAAA me@a", "ssh-ed25519 AAAA other"));
        assert!(!same_key("ssh-ed25519 AAAA", "ssh-ed25519 BBBB"));
    }
}
