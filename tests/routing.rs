//! Spin's route table and request headers, through the real host.

mod support;

use serde_json::Value;
use support::{Host, Opts, TempDir};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "routing"

[[trigger.http]]
route = "/..."
component = "catchall"
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = "/api/users"
component = "users"
[[trigger.http]]
route = "/api/users/..."
component = "user"
[[trigger.http]]
route = "/users/:user_id/posts/:post"
component = "named"
[[trigger.http]]
route = { private = true }
component = "hidden"
[[trigger.http]]
route = "/teapot"
static_response = { status_code = 418, headers = { x-static = "yes" }, body = "short and stout" }

[component.catchall]
source = "{probe}"
[component.api]
source = "{probe}"
[component.users]
source = "{probe}"
[component.user]
source = "{probe}"
[component.named]
source = "{probe}"
[component.hidden]
source = "{probe}"
"#;

fn echo(host: &Host, path: &str) -> Value {
    let (status, body) = host.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Waits for `needle` in the host's log, and fails without it.
fn logged(host: &Host, needle: &str) {
    let log = host.wait_log(needle);
    assert!(log.contains(needle), "no `{needle}` in:\n{log}");
}

fn header<'a>(v: &'a Value, name: &str) -> &'a str {
    v["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no header {name} in {v}"))
}

#[test]
fn routes_headers_and_static_responses() {
    let dir = TempDir::new("routing");
    dir.write("spin.toml", &support::manifest(APP));
    let host = Host::start(dir.path(), &Opts::default());

    // Exact beats wildcard.
    let v = echo(&host, "/api/users");
    assert_eq!(header(&v, "spin-matched-route"), "/api/users");
    assert_eq!(header(&v, "spin-path-info"), "");

    // Longest prefix wins among wildcards.
    let v = echo(&host, "/api/users/7/profile?x=1");
    assert_eq!(header(&v, "spin-matched-route"), "/api/users/...");
    assert_eq!(header(&v, "spin-component-route"), "/api/users");
    assert_eq!(header(&v, "spin-raw-component-route"), "/api/users/...");
    assert_eq!(header(&v, "spin-path-info"), "/7/profile");
    assert_eq!(
        header(&v, "spin-full-url"),
        format!("{}/api/users/7/profile?x=1", host.url)
    );
    assert_eq!(header(&v, "spin-base-path"), "/");
    assert!(header(&v, "spin-client-addr").starts_with("127.0.0.1:"));

    let v = echo(&host, "/api/other");
    assert_eq!(header(&v, "spin-matched-route"), "/api/...");
    assert_eq!(header(&v, "spin-path-info"), "/other");

    // Named segments.
    let v = echo(&host, "/users/42/posts/abc");
    assert_eq!(
        header(&v, "spin-matched-route"),
        "/users/:user_id/posts/:post"
    );
    // Spin's header name turns `_` into `-`.
    assert_eq!(header(&v, "spin-path-match-user-id"), "42");
    assert_eq!(header(&v, "spin-path-match-post"), "abc");

    // Everything else falls to the catch-all, including the root.
    let v = echo(&host, "/users/42");
    assert_eq!(header(&v, "spin-matched-route"), "/...");
    assert_eq!(header(&v, "spin-path-info"), "/users/42");
    let v = echo(&host, "/");
    assert_eq!(header(&v, "spin-matched-route"), "/...");
    // Spin keeps the trailing `/` its router drops.
    assert_eq!(header(&v, "spin-path-info"), "/");
    // Leading and trailing `/`s do not count, as in Spin's router.
    let v = echo(&host, "//api/users//");
    assert_eq!(header(&v, "spin-matched-route"), "/api/users");

    // A static response runs no Wasm, and has only the headers it lists.
    let (status, body) = host.get("/teapot");
    assert_eq!((status, body.as_str()), (418, "short and stout"));
    let Err(ureq::Error::Status(418, r)) = ureq::get(&format!("{}/teapot", host.url)).call() else {
        panic!("no 418 from /teapot")
    };
    assert_eq!(r.header("x-static"), Some("yes"));
    assert_eq!(r.header("content-type"), None);

    // A guest that fails is a 500 with no body, as on Spin.
    let (status, body) = host.get("/?op=trap");
    assert_eq!((status, body.as_str()), (500, ""));

    // Reserved health route.
    assert_eq!(
        host.get("/.well-known/spin/health"),
        (200, "OK".to_string())
    );

    // The private component has no public route.
    let out = host.stdout();
    assert!(out.contains("users: "), "{out}");
    assert!(
        !out.contains("hidden"),
        "a private component must not be listed:\n{out}"
    );

    // One log line per request: method, route, component, status, duration.
    let log = host.wait_log("GET /api/users route=/api/users component=users status=200");
    assert!(
        log.contains("GET /api/users route=/api/users component=users status=200 duration="),
        "{log}"
    );
    assert!(
        log.contains("GET /teapot route=/teapot component=(static) status=418"),
        "{log}"
    );
}

#[test]
fn routes_as_spin_takes_them_base_duplicates_and_its_own_paths() {
    let dir = TempDir::new("spin-routes");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "spin-routes"
version = "1.2.3"
[application.trigger.http]
base = "/"
[[trigger.http]]
route = "/twice/..."
component = "first"
[[trigger.http]]
route = "/twice/..."
component = "second"
executor = { type = "spin" }
[[trigger.http]]
route = "/.well-known/spin/mine"
component = "first"
[component.first]
source = "{probe}"
targets = ["spin-up:3.3"]
[component.second]
source = "{probe}"
allowed_http_hosts = ["example.com"]
"#,
        ),
    );
    let host = Host::start(dir.path(), &Opts::default());
    // Fields Spin still reads: a component's `targets`, the `spin`
    // executor, and `allowed_http_hosts`, converted with Spin's warning.
    logged(
        &host,
        r#"replace `allowed_http_hosts` with `allowed_outbound_hosts = ["http://example.com", "https://example.com"]`"#,
    );
    // `base = "/"` is accepted with Spin's warning.
    logged(
        &host,
        "deprecated trigger 'base' set to the default value '/'",
    );
    // A route written twice goes to the last trigger, and both are named.
    logged(
        &host,
        "The following component routes are duplicates and will never be used:",
    );
    logged(&host, "  first: /twice/... (duplicate of second)");
    echo(&host, "/twice/x");
    logged(
        &host,
        "GET /twice/x route=/twice/... component=second status=200",
    );
    // Spin answers its own paths whatever the routes say.
    logged(
        &host,
        "Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached",
    );
    assert_eq!(host.get("/.well-known/spin/mine"), (404, String::new()));
    // No route: a 404 with no body.
    assert_eq!(host.get("/nowhere"), (404, String::new()));
    let (status, body) = host.get("/.well-known/spin/info");
    assert_eq!(status, 200, "{body}");
    let info: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        info,
        serde_json::json!({"name": "spin-routes", "version": "1.2.3"})
    );
}
