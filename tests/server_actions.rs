//! A server stopped, started, resized and restarted through the API: each an
//! operation that changes the VM in the emulator and nothing else, one at a
//! time per server, refused where the server's status does not allow it; an
//! action Azure fails leaves the server as it was; a VM that is not the
//! server's is never touched; an action whose work is already done (a step
//! replayed after a crash) asks Azure nothing.

mod support;

use serde_json::{json, Value};
use sim::state::LroFailure;
use sim::world::defaults::*;
use sim::Command;
use support::product::{vm_of, Product, BOOTSTRAP_KEY};

/// A product with one running server `name`: the product, the server's id
/// and its VM's resource id. Its jobs never run, so an operation moves only
/// when the test polls it.
fn running_server(name: &str) -> (Product, String, String) {
    let p = Product::without_jobs(sim::World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let done = p.provision(
        &account,
        name,
        "westeurope",
        "Standard_B1s",
        &format!("actions-{name}"),
    );
    let server = done["server"]["id"].as_str().unwrap().to_string();
    let vm = vm_of(&done["server"]);
    (p, server, vm)
}

fn act(p: &Product, server: &str, action: &str, body: &str) -> (u16, Value) {
    p.api(
        "POST",
        &format!("/api/v1/servers/{server}/{action}"),
        BOOTSTRAP_KEY,
        body,
    )
}

/// Runs an action to its end; the finished operation.
fn act_to_end(p: &Product, server: &str, action: &str, body: &str) -> Value {
    let (status, op) = act(p, server, action, body);
    assert_eq!(status, 202, "{action}: {op}");
    assert_eq!(op["kind"], action, "{op}");
    p.wait_operation(op["id"].as_str().unwrap())
}

/// What the emulator holds for the VM: its power and size.
fn vm_state(p: &Product, vm: &str) -> (String, String) {
    p.sim.with_state(|s| {
        let power = s
            .vm_power
            .get(&vm.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| "running".into());
        let size = s.resource(vm).unwrap().body["properties"]["hardwareProfile"]["vmSize"]
            .as_str()
            .unwrap()
            .to_string();
        (power, size)
    })
}

/// Requests of `method` the emulator answered for exactly the VM's path.
fn writes_to(p: &Product, vm: &str, method: &str) -> usize {
    p.sim
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path.eq_ignore_ascii_case(vm))
        .count()
}

#[test]
fn a_server_is_stopped_resized_started_and_restarted() {
    let (p, server, vm) = running_server("act");
    let path = format!("/api/v1/servers/{server}");
    let puts_before = writes_to(&p, &vm, "PUT");

    // How to reach it: the admin user and the SSH command.
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(s["admin_username"], "azureuser", "{s}");
    let ip = s["public_ip"].as_str().unwrap();
    assert_eq!(s["ssh_command"], format!("ssh azureuser@{ip}"), "{s}");

    // A running server cannot be started.
    let (status, e) = act(&p, &server, "start", "");
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "invalid_server_state", "{e}");

    // Stop: the server shows it at once; asked again it is the same
    // operation; nothing else may start meanwhile, a deletion neither.
    let (status, stop) = act(&p, &server, "stop", "");
    assert_eq!(status, 202, "{stop}");
    assert_eq!(stop["server"]["status"], "stopping", "{stop}");
    let (status, again) = act(&p, &server, "stop", "");
    assert_eq!((status, &again["id"]), (202, &stop["id"]), "{again}");
    for (method, action) in [("POST", "restart"), ("DELETE", "")] {
        let (status, e) = if method == "POST" {
            act(&p, &server, action, "")
        } else {
            p.api("DELETE", &path, BOOTSTRAP_KEY, "")
        };
        assert_eq!(status, 409, "{method} {action}: {e}");
        assert_eq!(e["error"]["code"], "server_busy", "{e}");
        assert_eq!(e["error"]["operation_id"], stop["id"], "{e}");
    }
    let done = p.wait_operation(stop["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(s["status"], "stopped", "{s}");
    assert!(
        s["status_reason"].as_str().unwrap().contains("deallocated"),
        "{s}"
    );
    assert_eq!(vm_state(&p, &vm).0, "deallocated");

    // A stopped server is not restarted.
    let (status, e) = act(&p, &server, "restart", "");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("invalid_server_state")),
        "{e}"
    );

    // Its sizes: the emulator's for the VM, less the current one, priced.
    let (status, sizes) = p.api("GET", &format!("{path}/sizes"), BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{sizes}");
    assert_eq!(sizes["current"], "Standard_B1s", "{sizes}");
    let names: Vec<&str> = sizes["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|z| z["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Standard_B2s") && !names.contains(&"Standard_B1s"),
        "{sizes}"
    );
    assert!(sizes["sizes"][0]["hourly_price"].is_number(), "{sizes}");

    // Sizes it cannot take are refused before anything is planned.
    for (body, code) in [
        (json!({ "size": "Standard_B1s" }), "invalid_size"),
        (json!({ "size": "Standard_Nope" }), "invalid_size"),
        (json!({}), "missing_fields"),
    ] {
        let (status, e) = act(&p, &server, "resize", &body.to_string());
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}: {e}"
        );
    }

    // Resized while stopped: stays stopped, with the new size, in Azure too.
    let done = act_to_end(&p, &server, "resize", r#"{"size":"Standard_B2s"}"#);
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(
        (s["status"].as_str(), s["size"].as_str()),
        (Some("stopped"), Some("Standard_B2s")),
        "{s}"
    );
    assert_eq!(
        vm_state(&p, &vm),
        ("deallocated".into(), "Standard_B2s".into())
    );

    // Started, then restarted: running.
    let done = act_to_end(&p, &server, "start", "");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(vm_state(&p, &vm).0, "running");
    let done = act_to_end(&p, &server, "restart", "");
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(s["status"], "running", "{s}");
    assert!(s.get("status_reason").is_none(), "{s}");

    // Each said so once; the resize says what it was.
    for kind in [
        "server.stopped",
        "server.resized",
        "server.started",
        "server.restarted",
    ] {
        assert_eq!(p.events(kind, &server).len(), 1, "{kind}");
    }
    let resized = &p.events("server.resized", &server)[0];
    assert_eq!(
        resized["data"]["previous_size"], "Standard_B1s",
        "{resized}"
    );
    assert_eq!(resized["data"]["size"], "Standard_B2s", "{resized}");

    // Only the size was ever written: the VM was never PUT again.
    assert_eq!(writes_to(&p, &vm, "PUT"), puts_before);
    assert_eq!(writes_to(&p, &vm, "PATCH"), 1);
}

#[test]
fn an_action_azure_fails_leaves_the_server_as_it_was() {
    let (p, server, vm) = running_server("shaky");
    p.sim
        .command(Command::FailNextOperation {
            failure: LroFailure {
                path: "virtualMachines/shaky/restart".into(),
                code: "OperationNotAllowed".into(),
                message: "The operation is not allowed while the VM is being updated.".into(),
            },
        })
        .unwrap();
    let done = act_to_end(&p, &server, "restart", "");
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "action_failed", "{done}");
    assert_eq!(
        done["error"]["provider_code"], "OperationNotAllowed",
        "{done}"
    );
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Restarting the server failed"),
        "{done}"
    );
    assert_eq!(done["server"]["status"], "running", "{done}");
    let failed = p.events("server.action_failed", &server);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["data"]["action"], "restart");
    assert_eq!(failed[0]["data"]["error"]["code"], "action_failed");
    // And the next action works.
    let done = act_to_end(&p, &server, "stop", "");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(vm_state(&p, &vm).0, "deallocated");
}

#[test]
fn a_vm_that_is_not_the_servers_is_never_touched() {
    let (p, server, vm) = running_server("taken");
    // Someone takes the server's tag off its VM in the portal.
    p.sim
        .command(Command::SetTags {
            id: vm.clone(),
            tags: [
                ("managed-by".to_string(), "skyport".to_string()),
                (
                    "skyport-server".to_string(),
                    "0f0f0f0f-0000-4000-8000-000000000000".to_string(),
                ),
            ]
            .into(),
        })
        .unwrap();
    let done = act_to_end(&p, &server, "stop", "");
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["error"]["provider_code"], "VirtualMachineNotOwned",
        "{done}"
    );
    assert_eq!(done["server"]["status"], "running", "{done}");
    assert_eq!(vm_state(&p, &vm).0, "running", "the VM was not stopped");
    assert!(
        !p.sim.requests().iter().any(|r| r.method == "POST"
            && r.path
                .to_ascii_lowercase()
                .starts_with(&vm.to_ascii_lowercase())),
        "no action reached the VM"
    );
    // Nor are its sizes read as the server's.
    for (status, e) in [
        p.api(
            "GET",
            &format!("/api/v1/servers/{server}/sizes"),
            BOOTSTRAP_KEY,
            "",
        ),
        act(&p, &server, "resize", r#"{"size":"Standard_B2s"}"#),
    ] {
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (409, Some("conflict")),
            "{e}"
        );
        assert!(
            e["error"]["remedy"]
                .as_str()
                .unwrap()
                .contains("Azure portal"),
            "{e}"
        );
    }
}

#[test]
fn an_action_finds_its_work_already_done_and_asks_azure_nothing() {
    // The VM is deallocated in the portal before the watch noticed, as it
    // would be if a stop step's request went out and the step was replayed
    // after a crash: the stop reads the VM, finds it done, and ends.
    let (p, server, vm) = running_server("already");
    p.sim
        .command(Command::SetPower {
            vm: vm.clone(),
            power: "deallocated".into(),
        })
        .unwrap();
    let done = act_to_end(&p, &server, "stop", "");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["server"]["status"], "stopped", "{done}");
    let posts = p
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.path
                    .to_ascii_lowercase()
                    .starts_with(&vm.to_ascii_lowercase())
        })
        .count();
    assert_eq!(posts, 0, "no power request reached Azure");
    // Resizing to a size typed in another case stores Azure's spelling.
    let done = act_to_end(&p, &server, "resize", r#"{"size":"standard_b2s"}"#);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["server"]["size"], "Standard_B2s", "{done}");
    assert_eq!(vm_state(&p, &vm).1, "Standard_B2s");
}
