//! Ten servers created at once against a quota that fits five: preflight
//! counts the servers still being created, so exactly five are admitted and
//! five refused with `quota_exceeded` before anything is written, at either
//! provider (Azure's regional vCPU quota, DigitalOcean's droplet limit).

mod support;

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::jobs_yearly;

for_each_cloud!(parallel_creates_past_the_quota_are_refused_at_preflight);

fn parallel_creates_past_the_quota_are_refused_at_preflight(cloud: &Cloud) {
    // The jobs component would start advancing the admitted servers in the
    // background; here it runs once a year, so "still being created" and
    // "nothing written yet" hold for the whole test.
    let p = clouds::start(jobs_yearly);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.limit_servers)(&p, 5);
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|threads| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (p, account, scope) = (&p, &account, &scope);
                threads.spawn(move || {
                    p.create_server(
                        &cloud.server_spec(account, scope, &format!("q{i}")),
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
                .contains("being created"),
            "{e}"
        );
    }
    assert_eq!(
        (cloud.written)(&p),
        0,
        "nothing written yet: the operations have not been advanced"
    );
}
