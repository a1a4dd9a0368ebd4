//! Lists are paged with an opaque cursor (`limit` ≤ 100, default 50, `next`
//! in the answer): following `next` visits every item once, even while items
//! are added between pages; bad limits and cursors are refused with a 400 —
//! whichever provider's instance answers (a zone's records come from the
//! provider, paged the same way).

mod support;

use std::collections::BTreeSet;

use support::clouds::{self, for_each_cloud, Cloud, AZURE, DIGITALOCEAN};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(lists_are_paged_and_stable);

fn follow(p: &Product, path: &str, field: &str, limit: usize) -> (Vec<String>, usize) {
    let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let (status, v) = p.api("GET", &url, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{v}");
        let items = v[field].as_array().unwrap();
        assert!(items.len() <= limit);
        pages += 1;
        for i in items {
            let id = i["id"]
                .as_str()
                .or(i["name"].as_str())
                .unwrap_or_default()
                .to_string();
            seen.push(format!("{}{}", i["type"].as_str().unwrap_or_default(), id));
        }
        match v["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => return (seen, pages),
        }
    }
}

fn lists_are_paged_and_stable(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.lift_limits)(&p);
    for i in 0..5 {
        let (status, op) = p.create_server(
            &cloud.server_spec(&account, &scope, &format!("pg{i}")),
            &format!("pg-{i}"),
        );
        assert_eq!(status, 202, "{op}");
    }
    let (all, pages) = follow(&p, "/api/v1/servers", "servers", 2);
    assert_eq!(all.len(), 5);
    assert_eq!(pages, 3);
    assert_eq!(
        all.iter().collect::<BTreeSet<_>>().len(),
        5,
        "no item twice"
    );

    // An insert between pages neither repeats nor hides what was there.
    let (_, first) = p.api("GET", "/api/v1/servers?limit=2", BOOTSTRAP_KEY, "");
    let (status, _) = p.create_server(&cloud.server_spec(&account, &scope, "pg-late"), "pg-late");
    assert_eq!(status, 202);
    let mut ids: Vec<String> = first["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = first["next"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let (_, v) = p.api(
            "GET",
            &format!("/api/v1/servers?limit=2&cursor={c}"),
            BOOTSTRAP_KEY,
            "",
        );
        ids.extend(
            v["servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
        cursor = v["next"].as_str().map(str::to_string);
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no item twice: {ids:?}");
    for id in &all {
        assert!(ids.contains(id), "{id} was skipped");
    }

    // Operations: the six creates (and nothing else yet), newest last,
    // filtered by status; a status that is not one is refused.
    let (ops, pages) = follow(&p, "/api/v1/operations", "operations", 4);
    assert_eq!((ops.len(), pages), (6, 2), "{ops:?}");
    let (_, running) = p.api(
        "GET",
        "/api/v1/operations?status=running&limit=100",
        BOOTSTRAP_KEY,
        "",
    );
    for op in running["operations"].as_array().unwrap() {
        assert_eq!(op["status"], "running", "{op}");
        assert_eq!(op["kind"], "create", "{op}");
    }
    let (status, e) = p.api("GET", "/api/v1/operations?status=done", BOOTSTRAP_KEY, "");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("invalid_status")),
        "{e}"
    );

    // Default and bounds.
    let (_, v) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(v["accounts"].as_array().unwrap().len(), 1);
    assert!(v["next"].is_null());
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=%21%21",
        "cursor=bm8",
    ] {
        let (status, e) = p.api("GET", &format!("/api/v1/servers?{bad}"), BOOTSTRAP_KEY, "");
        assert_eq!(status, 400, "{bad}: {e}");
        assert!(e["error"]["remedy"].is_string());
    }

    // The zone's records, paged the same way.
    let zone = cloud.choose_domain(&p, &account, &scope);
    for i in 0..3 {
        let (status, r) = p.api(
            "PUT",
            &format!("/api/v1/dns/domains/{zone}/records/A/r{i}"),
            BOOTSTRAP_KEY,
            &serde_json::json!({ "ttl": 300, "values": ["203.0.113.9"] }).to_string(),
        );
        assert_eq!(status, 200, "{r}");
    }
    let (_, whole) = p.api(
        "GET",
        &format!("/api/v1/dns/domains/{zone}/records?limit=100"),
        BOOTSTRAP_KEY,
        "",
    );
    let total = whole["records"].as_array().unwrap().len();
    let (records, _) = follow(
        &p,
        &format!("/api/v1/dns/domains/{zone}/records"),
        "records",
        1,
    );
    assert_eq!(records.len(), total);
    assert_eq!(records.iter().collect::<BTreeSet<_>>().len(), total);
}

/// One organization's servers at both providers page as one list, and so
/// do its accounts and operations, whichever instance answers a page.
#[test]
fn both_providers_page_as_one_list() {
    let p = clouds::start(str::to_string);
    let mut made = BTreeSet::new();
    for cloud in [&AZURE, &DIGITALOCEAN] {
        let (account, scope) = (cloud.connect)(&p);
        (cloud.lift_limits)(&p);
        for i in 0..3 {
            let name = format!("mix-{}-{i}", cloud.name.to_lowercase());
            let (status, op) = p.create_server(&cloud.server_spec(&account, &scope, &name), &name);
            assert_eq!(status, 202, "{op}");
            made.insert(op["server_id"].as_str().unwrap().to_string());
        }
    }
    let (servers, pages) = follow(&p, "/api/v1/servers", "servers", 2);
    assert_eq!(pages, 3, "{servers:?}");
    assert_eq!(servers.iter().cloned().collect::<BTreeSet<_>>(), made);
    let (accounts, _) = follow(&p, "/api/v1/accounts", "accounts", 1);
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    let (operations, _) = follow(&p, "/api/v1/operations", "operations", 4);
    assert_eq!(operations.len(), 6, "{operations:?}");
}
