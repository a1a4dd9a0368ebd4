//! Ten servers created at once against a quota that fits five: preflight
//! counts the servers still being created, so exactly five are admitted and
//! five refused with `quota_exceeded` before anything is written.

mod support;

use sim::world::defaults::*;
use sim::{Command, World};
use support::product::{server_spec, Product, BOOTSTRAP_KEY};

#[test]
fn parallel_creates_past_the_quota_are_refused_at_preflight() {
    // The jobs component would start advancing the admitted servers in the
    // background; here it runs once a year, so "still being created" and
    // "nothing written yet" hold for the whole test.
    let p = Product::without_jobs(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    // Standard_B2s has 2 vCPUs: ten cores fit five servers.
    p.sim
        .command(Command::SetQuota {
            subscription: SUBSCRIPTION.into(),
            name: "cores".into(),
            location: Some("eastus".into()),
            limit: 10,
        })
        .unwrap();
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (p, account) = (&p, &account);
                scope.spawn(move || {
                    p.create_server(
                        &server_spec(account, &format!("q{i}"), "eastus", "Standard_B2s"),
                        &format!("quota-{i}"),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let admitted = answers.iter().filter(|(s, _)| *s == 202).count();
    let refused: Vec<&serde_json::Value> = answers
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(admitted, 5, "{answers:?}");
    assert_eq!(refused.len(), 5, "{answers:?}");
    for e in refused {
        assert_eq!(e["error"]["code"], "quota_exceeded", "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("still being created"),
            "{e}"
        );
    }
    assert_eq!(
        p.sim
            .inventory()
            .iter()
            .filter(|r| r["type"] == "resourceGroups"
                && r["id"]
                    .as_str()
                    .unwrap()
                    .to_ascii_lowercase()
                    .contains("/resourcegroups/skyport-q"))
            .count(),
        0,
        "nothing written yet: the operations have not been advanced"
    );
}
