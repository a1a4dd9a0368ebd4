//! Deleting an account, what survives a restart, and what is never stored or
//! logged in clear, at either provider.

mod support;

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    delete_removes_the_account_and_says_how_to_revoke_access,
    accounts_survive_a_restart_and_tokens_are_never_in_clear,
    the_token_key_can_be_rotated,
);

fn delete_removes_the_account_and_says_how_to_revoke_access(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, _) = (cloud.connect)(&p);
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    assert!(
        v["revoke"].as_str().unwrap().contains(cloud.revoke_words),
        "{v}"
    );
    assert_eq!(
        p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "")
            .0,
        404
    );
}

fn accounts_survive_a_restart_and_tokens_are_never_in_clear(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    let (id, _) = (cloud.connect)(&p);
    p.refresh(&id);
    p.restart();
    let (status, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!((status, a["status"].as_str()), (200, Some("Active")));

    // Every credential the provider issued must be absent from the
    // database files and the host's log.
    let secrets = (cloud.secrets)(&p);
    let spin = p.dir.path().join(".spin");
    let mut haystacks: Vec<(String, String)> = std::fs::read_dir(&spin)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
            )
        })
        .collect();
    haystacks.push(("host log".into(), p.host.log()));
    for (name, text) in &haystacks {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:.12}… in clear in {name}"
            );
        }
    }
}

fn the_token_key_can_be_rotated(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    let (id, _) = (cloud.connect)(&p);
    let new_key = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let set = |p: &mut Product, name: &str, value: Option<&str>| {
        p.opts.env.retain(|(k, _)| k != name);
        if let Some(v) = value {
            p.opts.env.push((name.to_string(), v.to_string()));
        }
    };
    // Rotate: the new key is current, the old one previous; using the account re-seals.
    set(&mut p, "SPIN_VARIABLE_TOKEN_KEY", Some(new_key));
    set(
        &mut p,
        "SPIN_VARIABLE_TOKEN_KEY_PREVIOUS",
        Some(support::product::TOKEN_KEY),
    );
    p.restart();
    assert_eq!(p.refresh(&id).0, 200);
    // The old key can go.
    set(&mut p, "SPIN_VARIABLE_TOKEN_KEY_PREVIOUS", None);
    p.restart();
    let (status, a) = p.refresh(&id);
    assert_eq!((status, a["status"].as_str()), (200, Some("Active")), "{a}");
    // Without the key that sealed them, tokens are not readable and the error says how to fix it.
    set(
        &mut p,
        "SPIN_VARIABLE_TOKEN_KEY",
        Some(support::product::TOKEN_KEY),
    );
    p.restart();
    let (status, e) = p.refresh(&id);
    assert_eq!(status, 500);
    assert!(
        e["error"]["remedy"]
            .as_str()
            .unwrap()
            .contains("token_key_previous"),
        "{e}"
    );
}
