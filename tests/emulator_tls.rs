//! The emulator over https (`skyport sim --tls`), held to Microsoft's own
//! clients: the host reaches it only when its runtime config trusts the
//! emulator's authority (`[outbound_http] ca_file`); MSAL — which refuses a
//! plain-http authority — completes its recommended sign-in flow; and the
//! management SDKs (resource, network, compute, storage, DNS) and
//! azure-storage-blob do their work with their own pollers and models. The
//! scripts are in tests/python; the packages are pinned in
//! `support::azure_python` and .ci/run.

mod support;

use std::process::Command;

use sim::world::defaults::*;
use sim::{Command as SimCommand, Sim, World};
use support::{Host, Opts, TempDir};

fn tls_emulator(world: World) -> Sim {
    let tls = sim::tls::Tls::generate().expect("a certificate authority");
    Sim::spawn_with(world, "127.0.0.1:0", None, Some(tls)).expect("the emulator starts")
}

fn probe_app(dir: &TempDir, emulator: &str) {
    dir.write(
        "spin.toml",
        &support::one_component(
            "{probe}",
            &format!("allowed_outbound_hosts = [\"{emulator}\"]\n"),
        ),
    );
}

#[test]
fn the_host_trusts_the_emulators_authority_only_when_told() {
    let emulator = tls_emulator(World::default());
    assert!(
        emulator.url.starts_with("https://127.0.0.1:"),
        "{}",
        emulator.url
    );
    let dir = TempDir::new("emulator-tls");
    probe_app(&dir, &emulator.url);
    dir.write("ca.pem", emulator.ca_pem.as_deref().unwrap());
    let discovery = format!(
        "{}/{TENANT}/v2.0/.well-known/openid-configuration",
        emulator.url
    );

    // Trusted: the request goes through, TLS checked against 127.0.0.1.
    let rc = dir.write("trusting.toml", "[outbound_http]\nca_file = \"ca.pem\"\n");
    let host = Host::start(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            ..Opts::default()
        },
    );
    let (status, body) = host.get(&format!("/?op=fetch&url={discovery}"));
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("200 "), "{body}");
    assert!(body.contains("\"token_endpoint\""), "{body}");
    drop(host);

    // Not trusted (the default): the handshake fails in the guest.
    let host = Host::start(dir.path(), &Opts::default());
    let (status, body) = host.get(&format!("/?op=fetch&url={discovery}"));
    assert_eq!(status, 502, "{body}");
    assert!(body.to_ascii_lowercase().contains("tls"), "{body}");
    drop(host);

    // A file that is not a PEM of certificates stops the start, named.
    dir.write("junk.pem", "not a certificate");
    let rc = dir.write("junk.toml", "[outbound_http]\nca_file = \"junk.pem\"\n");
    let err = support::start_fails(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            ..Opts::default()
        },
    );
    assert!(err.contains("outbound_http.ca_file"), "{err}");
    assert!(err.contains("holds no certificate"), "{err}");
}

/// Runs `tests/python/<script>` with Microsoft's clients against an https
/// emulator that knows its redirect URI; its last line, as JSON.
fn run_python(script: &str) -> serde_json::Value {
    run_python_in(script, World::default())
}

fn run_python_in(script: &str, world: World) -> serde_json::Value {
    let emulator = tls_emulator(world);
    let redirect = "http://localhost:8400/callback";
    emulator
        .command(SimCommand::AddRedirectUri {
            client_id: CLIENT_ID.into(),
            redirect_uri: redirect.into(),
        })
        .unwrap();
    let dir = TempDir::new("azure-python");
    let ca = dir.write("ca.pem", emulator.ca_pem.as_deref().unwrap());
    let out = Command::new(support::azure_python())
        .arg(support::root().join("tests/python").join(script))
        .env("EMULATOR", &emulator.url)
        .env("TENANT", TENANT)
        .env("SUBSCRIPTION", SUBSCRIPTION)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("USERNAME", USERNAME)
        .env("REDIRECT_URI", redirect)
        .env("SSH_KEY", support::product::SSH_KEY)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}

#[test]
fn msal_completes_its_auth_code_flow_over_https() {
    let seen = run_python("msal_flow.py");
    assert_eq!(
        seen["home_account_id"],
        format!("{USER}.{TENANT}"),
        "client_info gives MSAL the user's home account: {seen}"
    );
}

#[test]
fn azure_identitys_authorization_code_credential_signs_a_management_client_in() {
    let seen = run_python("identity_sdk.py");
    assert_eq!(seen["group"], "sdk-identity", "{seen}");
}

#[test]
fn the_management_sdks_create_power_and_delete_a_vm() {
    let seen = run_python("arm_sdk.py");
    assert_eq!(
        seen["power"]["deallocate"][0], "PowerState/deallocated",
        "{seen}"
    );
    assert_eq!(seen["power"]["restart"][0], "PowerState/running", "{seen}");
    assert!(
        seen["power"]["available_sizes"].as_u64().unwrap_or(0) > 1,
        "{seen}"
    );
}

/// What storage_sdk.py saw: an account per way of giving the blob client
/// its key, each with a path-style https endpoint the SDK read its name from.
fn assert_blob_runs(seen: &serde_json::Value) {
    for auth in ["key", "connection-string", "bare-key"] {
        let run = &seen[auth];
        assert_eq!(
            run["containers"],
            serde_json::json!(["alpha", "beta"]),
            "{auth}: {seen}"
        );
        let endpoint = run["blob"].as_str().unwrap_or_default();
        let account = run["account"].as_str().unwrap_or_default();
        assert!(
            endpoint.starts_with("https://127.0.0.1:")
                && endpoint.ends_with(&format!("/{account}/")),
            "{auth}: {seen}"
        );
    }
}

#[test]
fn the_storage_sdks_make_an_account_and_use_its_blobs() {
    assert_blob_runs(&run_python("storage_sdk.py"));
}

#[test]
fn the_blob_sdk_works_with_azurite_behind_the_emulator() {
    // `npm ci` installs the pinned Azurite; .ci/run does.
    let azurite =
        sim::azurite::Azurite::start(&support::root()).unwrap_or_else(|reason| panic!("{reason}"));
    let mut world = World::default();
    world.settings.azurite_url = Some(azurite.url.clone());
    assert_blob_runs(&run_python_in("storage_sdk.py", world));
    // The blobs went through to Azurite: one the checks left is there, in
    // the container that stands for the account's `alpha`.
    let (status, body) = support::azurite_request(
        &azurite.url,
        "HEAD",
        &format!(
            "/{}/skyportsdk3-alpha/chunked.bin",
            sim::blob::AZURITE_ACCOUNT
        ),
        "",
    );
    assert_eq!(status, 200, "the blob is in Azurite: {body}");
}

#[test]
fn the_dns_sdk_keeps_record_sets_with_etags() {
    let seen = run_python("dns_sdk.py");
    assert!(
        seen["records"].to_string().contains("\"www\",\"A\""),
        "{seen}"
    );
}
