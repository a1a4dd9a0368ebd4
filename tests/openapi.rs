//! The API's OpenAPI 3.1 description (docs/openapi.json): the app serves it
//! as written, openapi-spec-validator finds it valid, every public route of
//! spin.toml is in it, and schemathesis holds the running app to it — with a
//! connected account, a server, a domain, a webhook and a hook to aim at,
//! generated valid and invalid inputs never get a 5xx, every answer matches
//! the documented status codes, headers and schemas, invalid inputs and
//! missing required headers get a 4xx, undocumented methods a 405 with
//! `Allow`, calls without a key a 401, and chains of calls along the
//! document's links (create, read, delete, read again) behave.
//! `SKYPORT_SCHEMATHESIS_EXAMPLES` sets the cases per operation (default 25).

mod support;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::World;
use std::process::Command;
use support::product::{server_spec, Product, BOOTSTRAP_KEY};

/// Whether a documented path template can be a request to `route`, a Spin
/// route (`/a/b` exactly, `/a/...` anything under it, `:x` one segment).
fn under_route(path: &str, route: &str) -> bool {
    let segs = |s: &str| -> Vec<String> {
        s.split('/')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (p, r) = (segs(path), segs(route));
    let wildcard = r.last().is_some_and(|l| l == "...");
    let fixed = if wildcard { &r[..r.len() - 1] } else { &r[..] };
    let fits = |i: usize| {
        fixed[i].starts_with(':')
            || fixed[i] == p[i]
            || p[i].starts_with('{') && p[i].ends_with('}')
    };
    (if wildcard {
        p.len() > fixed.len()
    } else {
        p.len() == fixed.len()
    }) && (0..fixed.len()).all(fits)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn every_public_route_is_described() {
    let doc = support::api_description();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    let manifest = std::fs::read_to_string(support::root().join("spin.toml")).unwrap();
    let routes: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("route = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(routes.len() > 10, "spin.toml's routes are read: {routes:?}");
    for route in routes {
        // The console's pages and the jobs' internal calls are not the API.
        if route == "/..." || route.starts_with("/internal/") {
            continue;
        }
        assert!(
            paths.iter().any(|p| under_route(p, route)),
            "the route {route} has no operation in docs/openapi.json"
        );
    }
    // Every JSON error response names the codes it answers (the sign-in
    // pages answer HTML).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                let json_error = r["content"].get("application/json").is_some();
                if json_error && (status.starts_with('4') || status.starts_with('5')) {
                    let codes = &r["content"]["application/json"]["schema"]["allOf"][1]
                        ["properties"]["error"]["properties"]["code"]["enum"];
                    assert!(
                        codes.as_array().is_some_and(|c| !c.is_empty()),
                        "{method} {path} {status} lists no error codes"
                    );
                }
            }
        }
    }
}

#[test]
fn the_running_app_matches_its_description() {
    let p = Product::start(World::default());
    let url = &p.host.url;

    // Served exactly as written in docs/.
    let (status, served) = support::get(&format!("{url}/api/v1/openapi.json"));
    assert_eq!(status, 200);
    let served: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(served, support::api_description());

    let py = support::schemathesis_python();
    let spec = p.dir.write("openapi.json", &served.to_string());
    let valid = Command::new(&py)
        .args(["-m", "openapi_spec_validator"])
        .arg(&spec)
        .output()
        .expect("openapi-spec-validator runs");
    assert!(
        valid.status.success(),
        "openapi-spec-validator refuses the description:\n{}{}",
        String::from_utf8_lossy(&valid.stdout),
        String::from_utf8_lossy(&valid.stderr)
    );

    // A path served with another method is a 405 naming the methods it
    // takes (schemathesis checks every path below; these show the shape).
    for (method, path, allow) in [
        ("PUT", "/api/v1/servers", "GET, POST"),
        (
            "POST",
            "/api/v1/accounts/00000000-0000-4000-8000-000000000000",
            "GET, DELETE",
        ),
        ("GET", "/api/v1/accounts/azure/connect", "POST"),
        ("GET", "/hooks/00000000-0000-4000-8000-000000000000", "POST"),
    ] {
        let answer = ureq::request(method, &format!("{url}{path}"))
            .set("authorization", &format!("Bearer {BOOTSTRAP_KEY}"))
            .call();
        let Err(ureq::Error::Status(405, r)) = answer else {
            panic!("{method} {path} is not a 405: {answer:?}");
        };
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        let e: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        assert_eq!(e["error"]["code"], "method_not_allowed");
    }
    let (status, e) = p.api("GET", "/api/v1/servers/x/y/z", BOOTSTRAP_KEY, "");
    assert_eq!(
        (status, &e["error"]["code"]),
        (404, &json!("no_such_endpoint"))
    );

    // Something real to aim at: a connected account, a server, a domain, a
    // webhook, a hook and an API key; schemathesis draws path parameters
    // from these half of the time and generates the rest.
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (status, op) = p.create_server(
        &server_spec(&account, "web1", "eastus", "Standard_B2s"),
        "openapi-web1",
    );
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let server = done["server_id"].as_str().unwrap_or_default().to_string();
    p.choose_zone(&account);
    let (status, webhook) = p.api(
        "POST",
        "/api/v1/webhooks",
        BOOTSTRAP_KEY,
        &json!({ "url": "https://hooks.example.com/skyport", "events": ["*"] }).to_string(),
    );
    assert_eq!(status, 201, "{webhook}");
    let (status, hook) = p.api(
        "POST",
        "/api/v1/hooks",
        BOOTSTRAP_KEY,
        &json!({ "action": "recheck_account", "params": { "account_id": account } }).to_string(),
    );
    assert_eq!(status, 201, "{hook}");
    let (status, key) = p.api(
        "POST",
        "/api/v1/orgs/me/keys",
        BOOTSTRAP_KEY,
        &json!({ "name": "schemathesis" }).to_string(),
    );
    assert_eq!(status, 201, "{key}");

    let examples =
        std::env::var("SKYPORT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".to_string());
    let aims = [
        ("account", account.as_str()),
        ("subscription", SUBSCRIPTION),
        ("server", server.as_str()),
        ("operation", op["id"].as_str().unwrap()),
        ("domain", DNS_ZONE),
        ("webhook", webhook["id"].as_str().unwrap()),
        ("hook", hook["id"].as_str().unwrap()),
        ("key", key["id"].as_str().unwrap()),
        ("org", "me"),
    ];
    let mut toml = String::new();
    for (name, value) in &aims {
        toml += &format!("[dictionaries.{name}]\nvalues = [\"{value}\"]\n");
    }
    toml += "[parameters]\n";
    for (name, _) in &aims {
        toml += &format!("\"path.{name}\" = {{ dictionary = \"{name}\", probability = 0.5 }}\n");
    }
    // Bodies name the account, subscription and server too.
    for (field, name) in [
        ("account_id", "account"),
        ("subscription_id", "subscription"),
        ("server_id", "server"),
    ] {
        toml += &format!("\"body.{field}\" = {{ dictionary = \"{name}\", probability = 0.5 }}\n");
    }
    let config = p.dir.write("schemathesis.toml", &toml);
    let out = Command::new(py.parent().unwrap().join("schemathesis"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/api/v1/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance,use_after_free,ensure_resource_availability,ignored_auth",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            &examples,
            "--seed",
            "20261127",
            "--request-timeout",
            "30",
            "--no-color",
            "--suppress-health-check",
            "all",
            "--header",
            &format!("Authorization: Bearer {BOOTSTRAP_KEY}"),
        ])
        .current_dir(p.dir.path())
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "schemathesis found deviations from docs/openapi.json (above); the host's last log lines:\n{}",
        last_lines(&p.host.log(), 40)
    );
    // What the app answered, by status class (the host logs every request).
    let mut answered = std::collections::BTreeMap::<String, usize>::new();
    for line in p
        .host
        .log()
        .lines()
        .filter(|l| l.contains("skyport::request:"))
    {
        if let Some(digit) = line.split(" status=").nth(1).and_then(|s| s.chars().next()) {
            *answered.entry(format!("{digit}xx")).or_default() += 1;
        }
    }
    eprintln!("the app answered: {answered:?}");
    assert!(!answered.contains_key("5xx"), "{answered:?}");
    assert!(
        answered.get("2xx").is_some_and(|n| *n > 100),
        "{answered:?}"
    );

    // The run generated cases for every operation, and reported how many.
    let generated: usize = report
        .lines()
        .find_map(|l| l.trim().split_once(" generated, "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .expect("schemathesis reports the cases it generated");
    let operations = served["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().keys())
        .filter(|m| *m != "parameters")
        .count();
    assert!(
        generated >= operations * 10,
        "{generated} cases for {operations} operations"
    );
}

/// The error codes written in `functions/` (`ApiError::new(status, "code"`
/// and `bad_request("code"`), each with its status (400 for bad_request).
fn codes_in_the_functions() -> Vec<(String, String)> {
    fn quoted_after(text: &str, at: usize) -> Option<String> {
        let rest = text[at..].trim_start();
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    }
    let mut found = Vec::new();
    let mut dirs = vec![support::root().join("functions")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("ApiError::new(") {
                let args = &text[at + "ApiError::new(".len()..];
                let status: String = args
                    .trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if status.len() != 3 {
                    continue; // a status computed elsewhere
                }
                let after = args.find(',').map(|c| c + 1).unwrap_or(0);
                if let Some(code) = quoted_after(args, after) {
                    found.push((status, code));
                }
            }
            for (at, _) in text.match_indices("bad_request(") {
                if let Some(code) = quoted_after(&text, at + "bad_request(".len()) {
                    found.push(("400".to_string(), code));
                }
            }
        }
    }
    found
}

/// Every error the functions can answer (but the 500s, which are never
/// meant to happen) is documented: with its status on some operation, or
/// named in the document's text.
#[test]
fn every_error_code_in_the_code_is_documented() {
    let doc = support::api_description();
    let mut documented = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                let codes = &r["content"]["application/json"]["schema"]["allOf"][1]["properties"]
                    ["error"]["properties"]["code"]["enum"];
                for c in codes.as_array().into_iter().flatten() {
                    documented.insert((status.clone(), c.as_str().unwrap().to_string()));
                }
            }
        }
    }
    // Some are not an operation's answer but an operation's `error` (a
    // failed step) or any path's (405 and 404 for what no operation
    // takes): those the document names in its text.
    let text = doc.to_string();
    let found = codes_in_the_functions();
    assert!(found.len() > 40, "the scan finds the codes: {found:?}");
    let missing: Vec<_> = found
        .iter()
        .filter(|(status, _)| status != "500")
        .filter(|c| !documented.contains(*c))
        .filter(|(_, code)| !text.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "answered by the code but on no operation of docs/openapi.json: {missing:?}"
    );
}
