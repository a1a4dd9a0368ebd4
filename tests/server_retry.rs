//! A failed server says why and can be retried: the retry makes it again
//! from the request that first made it, once per Idempotency-Key, and the
//! failed attempt leaves the list. The same at either provider.

mod support;

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

fn retry(p: &Product, server: &str, key: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let (status, text) = support::request(
        "POST",
        &format!("{}/api/v1/servers/{server}/retry", p.host.url),
        &[("authorization", &auth), ("idempotency-key", key)],
        "",
    );
    (status, serde_json::from_str(&text).unwrap())
}

for_each_cloud!(a_failed_server_is_retried_from_its_own_request);

fn a_failed_server_is_retried_from_its_own_request(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.fail_next_server)(&p, "again");
    let (status, op) = p.create_server(&cloud.server_spec(&account, &scope, "again"), "first");
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "failed", "{done}");
    let failed = done["server_id"].as_str().unwrap().to_string();

    // A running server cannot be retried; an unknown one is 404.
    let (status, e) = retry(&p, "00000000-0000-4000-8000-000000000000", "x");
    assert_eq!(status, 404, "{e}");

    let (status, op) = retry(&p, &failed, "retry-1");
    assert_eq!(status, 202, "{op}");
    // The same key again is the same operation, not a third server.
    let (status, again) = retry(&p, &failed, "retry-1");
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["id"], op["id"]);
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["server"]["name"], "again");
    assert_eq!(done["server"]["region"], cloud.region);
    let new = done["server_id"].as_str().unwrap();
    assert_ne!(new, failed);

    // The list shows the new server only; the old one is not retried twice.
    let (_, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    let servers = list["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{list}");
    assert_eq!(servers[0]["id"], new);
    let (status, e) = retry(&p, &failed, "retry-2");
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "not_failed");
    let (status, e) = retry(&p, new, "retry-3");
    assert_eq!(status, 409, "{e}");
    assert_eq!((cloud.servers)(&p), 1);

    // A key another request used is no licence to retry a running server.
    let (status, _) = p.create_server(&cloud.server_spec(&account, &scope, "second"), "second-1");
    assert_eq!(status, 202);
    let (status, e) = retry(&p, new, "second-1");
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "not_failed");
}
