//! `skyport sim`: the emulator standalone, with the default world or a file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn start(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skyport"))
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let user_line = line.starts_with("  user ");
        lines.push(line.trim_end().to_string());
        if user_line {
            break;
        }
    }
    (child, lines)
}

fn get(url: &str) -> (u16, String) {
    match ureq::get(url).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn prints_what_a_client_needs_and_serves_it() {
    let (mut child, lines) = start(&[]);
    let text = lines.join("\n");
    let url = lines[0]
        .strip_prefix("Azure emulator serving ")
        .expect("the first line names the URL")
        .to_string();
    for needle in [
        "authority:",
        "ARM endpoint:",
        "client id 5b7e4c1d-2a9f-4e83-b6d0-9c3f1a2e8b47",
        "client secret ",
        "http://localhost:3000/oauth/azure/callback",
        "user ada@contoso.onmicrosoft.com",
        "Owner of ",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let (status, body) = get(&format!(
        "{url}/common/v2.0/.well-known/openid-configuration"
    ));
    assert_eq!(status, 200);
    assert!(body.contains("/common/oauth2/v2.0/authorize"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_world_file_replaces_the_default_and_a_bad_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("skyport-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = dir.join("world.toml");
    std::fs::write(
        &world,
        r#"
[[tenants]]
id = "11111111-1111-1111-1111-111111111111"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"

[[users]]
id = "22222222-2222-2222-2222-222222222222"
name = "Grace Hopper"
username = "grace@fabrikam.onmicrosoft.com"
tenant = "11111111-1111-1111-1111-111111111111"

[[apps]]
client_id = "33333333-3333-3333-3333-333333333333"
name = "Platform"
client_secret = "s"
redirect_uris = ["https://platform.example/oauth/azure/callback"]
"#,
    )
    .unwrap();
    let (mut child, lines) = start(&["--world", world.to_str().unwrap()]);
    let text = lines.join("\n");
    assert!(
        text.contains("user grace@fabrikam.onmicrosoft.com (Grace Hopper)"),
        "{text}"
    );
    let url = lines[0]
        .strip_prefix("Azure emulator serving ")
        .unwrap()
        .to_string();
    let (_, w) = get(&format!("{url}/_sim/world"));
    assert!(w.contains("Fabrikam"));
    let _ = child.kill();
    let _ = child.wait();

    std::fs::write(
        &world,
        "[[users]]\nid = \"u\"\nname = \"n\"\nusername = \"x@y\"\ntenant = \"nope\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_skyport"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--world",
            world.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("user `x@y` names unknown tenant `nope`") && err.contains("fix:"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_tls_it_serves_https_under_the_authority_it_writes_out() {
    let dir = std::env::temp_dir().join(format!("skyport-sim-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let (mut child, lines) = start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let url = lines[0]
        .strip_prefix("Azure emulator serving ")
        .expect("the first line names the URL")
        .to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(lines[1].contains(ca.to_str().unwrap()), "{lines:?}");
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    // An independent TLS client (Python's ssl, with its default checks):
    // trusted with the file, refused without it.
    let fetch = |cafile: Option<&std::path::Path>| {
        let context = match cafile {
            Some(f) => format!(
                "ssl.create_default_context(cafile={:?})",
                f.to_str().unwrap()
            ),
            None => "ssl.create_default_context()".into(),
        };
        Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import ssl, sys, urllib.request\n\
                 try:\n    r = urllib.request.urlopen(sys.argv[1], context={context})\n    print(r.status)\n\
                 except Exception as e:\n    print(type(e).__name__, e)"
            ))
            .arg(format!("{url}/common/v2.0/.well-known/openid-configuration"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap()
    };
    assert_eq!(fetch(Some(&ca)), "200");
    let refused = fetch(None);
    assert!(refused.contains("CERTIFICATE_VERIFY_FAILED"), "{refused}");
    let _ = child.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
