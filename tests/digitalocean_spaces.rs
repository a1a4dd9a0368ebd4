//! Backups in DigitalOcean Spaces, through the emulator's keys API and S3
//! front door: what Skyport may delete and what it must leave, a name
//! another team holds, and the short-lived keys every call makes — none
//! outlives its call, and one left behind is swept; and, with a real S3
//! server (moto) behind the emulator, the objects a set-up leaves there.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::SEED_TEAM;
use sim::World;
use support::product::{fault, Product, BOOTSTRAP_KEY};

fn setup(p: &Product, account: &str, team: &str, bucket: &str, folder: &str) -> (u16, Value) {
    let body = json!({ "account_id": account, "subscription_id": team, "region": "nyc3",
        "storage_account": bucket, "container": folder });
    p.api(
        "POST",
        "/api/v1/storage/setup",
        BOOTSTRAP_KEY,
        &body.to_string(),
    )
}

/// Runs a set-up to its end.
fn set_up(p: &Product, account: &str, team: &str, bucket: &str, folder: &str) -> Value {
    let (status, op) = setup(p, account, team, bucket, folder);
    assert_eq!(status, 202, "{op}");
    p.wait_for(
        &format!("/api/v1/storage/operations/{}", op["id"].as_str().unwrap()),
        60,
        |v| v["status"] != "running",
    )
}

/// The team's Spaces, as Skyport lists them: name → folders.
fn spaces(p: &Product, account: &str, team: &str) -> Vec<(String, Value)> {
    let (status, v) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}/subscriptions/{team}/storage/accounts"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    v["storage_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["containers"].clone(),
            )
        })
        .collect()
}

fn spaces_keys(p: &Product) -> Vec<String> {
    p.digitalocean("GET", "/v2/spaces/keys", None)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A Space's name follows DigitalOcean's rule, not Azure's: hyphens and up
/// to 63 characters are set up; what no provider could take is refused
/// before it leaves Skyport, and DigitalOcean's own rule is told in its words.
#[test]
fn a_space_takes_digitalocean_naming_rule() {
    let p = Product::start_with_example(World::default());
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let name = "team-backups-of-a-rather-long-name-0123456789";
    let done = set_up(&p, &account, SEED_TEAM, name, "nightly-dumps");
    assert_eq!(done["status"], "succeeded", "{done}");
    let listed = spaces(&p, &account, SEED_TEAM);
    assert!(listed.iter().any(|(n, _)| n == name), "{listed:?}");
    // Refused by DigitalOcean's rule (in its words), and by every provider's.
    for (bad, words) in [
        ("two--hyphens", "single hyphens"),
        ("Upper_Case", "Space name"),
    ] {
        let (status, e) = setup(&p, &account, SEED_TEAM, bad, "backups");
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["error"]["code"], "invalid_storage_name", "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{e}"
        );
    }
}

/// A refusal about a DigitalOcean account speaks of its team, not of a
/// subscription.
#[test]
fn a_malformed_team_is_refused_in_digitalocean_words() {
    let p = Product::start_with_example(World::default());
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let (status, e) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}/subscriptions/not%20a%20team/storage/accounts"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 400, "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("is not a valid team id"), "{e}");
    assert!(
        e["error"]["remedy"].as_str().unwrap().contains("team ids"),
        "{e}"
    );
}

/// A set-up that fails its access check deletes the Space it made, and
/// only that: a Space the team already had is used as it is and kept,
/// with what is in it, when a later set-up in it fails.
#[test]
fn a_failed_setup_deletes_only_the_space_it_made() {
    let p = Product::start_with_example(World::default());
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();

    let done = set_up(&p, &account, SEED_TEAM, "skyportkept1", "backups");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["target"]["status"], "verified", "{done}");

    // The probe is refused from here on (a bucket policy, say).
    let mut refuse = fault("skyport-probe", Some(403), false, None, 1.0);
    if let sim::Command::AddFault { fault } = &mut refuse {
        fault.method = Some("PUT".into());
    }
    p.sim.command(refuse).unwrap();

    // In the team's own Space: the set-up fails, the Space stays with
    // both folders (the new one is an empty marker Skyport wrote).
    let failed = set_up(&p, &account, SEED_TEAM, "skyportkept1", "more");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "storage_check_failed", "{failed}");
    let remedy = failed["error"]["remedy"].as_str().unwrap();
    assert!(
        remedy.contains("Space") && remedy.contains("DigitalOcean control panel"),
        "{failed}"
    );
    let listed = spaces(&p, &account, SEED_TEAM);
    assert!(
        listed.iter().any(|(name, _)| name == "skyportkept1"),
        "a Space Skyport did not make in this set-up stays: {listed:?}"
    );

    // In a Space it made: the set-up fails and the Space is gone.
    let failed = set_up(&p, &account, SEED_TEAM, "skyportmade1", "backups");
    assert_eq!(failed["status"], "failed", "{failed}");
    // The undo follows the failure in the same run, which a poll may see
    // between the two.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut gone = spaces(&p, &account, SEED_TEAM);
    while gone.iter().any(|(name, _)| name == "skyportmade1")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
        gone = spaces(&p, &account, SEED_TEAM);
    }
    assert!(
        !gone.iter().any(|(name, _)| name == "skyportmade1"),
        "the Space the failed set-up made is deleted with it: {gone:?}"
    );
    assert!(
        gone.iter().any(|(name, _)| name == "skyportkept1"),
        "{gone:?}"
    );
    assert!(
        !spaces_keys(&p)
            .iter()
            .any(|k| k.starts_with("skyport-temporary-")),
        "no key outlives its call"
    );
}

/// A bucket name another team holds is refused before anything is made,
/// in DigitalOcean's words.
#[test]
fn a_name_another_team_holds_is_refused() {
    let p = Product::start_with_example(World::default());
    let ours = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    const THEIRS: &str = "0f4f3b8e-6c1f-4b0a-9a57-2d4d1f0e7c11";
    const THEIR_TOKEN: &str =
        "dop_v1_7e1d3c5b9a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e3d";
    p.sim
        .command(sim::Command::AddDigitalOceanTeam {
            team: serde_json::from_value(json!({
                "uuid": THEIRS, "name": "Other Team", "email": "other@example.com", "tokens": [THEIR_TOKEN],
            }))
            .unwrap(),
        })
        .unwrap();
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &json!({ "token": THEIR_TOKEN }).to_string(),
    );
    assert_eq!(status, 201, "{v}");
    let theirs = v["account"]["id"].as_str().unwrap().to_string();
    let done = set_up(&p, &theirs, THEIRS, "skyporttaken1", "backups");
    assert_eq!(done["status"], "succeeded", "{done}");

    let (status, v) = setup(&p, &ours, SEED_TEAM, "skyporttaken1", "backups");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("storage_name_taken")),
        "{v}"
    );
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Space name `skyporttaken1`")
            && message.contains("another DigitalOcean account"),
        "{v}"
    );
    assert!(
        spaces(&p, &ours, SEED_TEAM).is_empty(),
        "nothing was made in the team"
    );
    assert_eq!(
        spaces(&p, &theirs, THEIRS).len(),
        1,
        "the other team's Space is untouched"
    );
}

/// Every call makes its own key and deletes it; a key Skyport left behind
/// (a call cut short) is swept by a later call once it is old, and the
/// team's own keys are never touched.
#[test]
fn spaces_keys_live_only_as_long_as_a_call() {
    let p = Product::start_with_example(World::default());
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    for name in ["skyport-temporary-1000", "backups-reader"] {
        p.digitalocean(
            "POST",
            "/v2/spaces/keys",
            Some(json!({ "name": name, "grants": [{ "bucket": "site-assets", "permission": "read" }] })),
        );
    }
    assert!(spaces(&p, &account, SEED_TEAM).is_empty());
    assert_eq!(spaces_keys(&p), vec!["backups-reader".to_string()]);
    let done = set_up(&p, &account, SEED_TEAM, "skyportkeys1", "backups");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(spaces_keys(&p), vec!["backups-reader".to_string()]);
    // As many keys deleted as made, plus the stale one.
    let log = p.sim.requests();
    let count = |method: &str, status: u16, path: &dyn Fn(&str) -> bool| {
        log.iter()
            .filter(|r| r.method == method && r.status == status && path(&r.path))
            .count()
    };
    let made = count("POST", 201, &|path| path == "/v2/spaces/keys");
    let deleted = count("DELETE", 204, &|path| path.starts_with("/v2/spaces/keys/"));
    assert!(made >= 4, "a key per call: {made}");
    assert_eq!(
        deleted,
        made - 2 + 1,
        "the two made by the test stay, one swept"
    );
}

/// With a real S3 server (moto) keeping the objects behind the emulator, a
/// set-up's folder marker is there, and its probe was written and removed.
#[test]
fn a_space_set_up_through_skyport_is_kept_by_a_real_s3_server() {
    let moto = sim::moto::Moto::start(&support::root()).unwrap_or_else(|reason| panic!("{reason}"));
    let mut world = World::default();
    world.digitalocean.moto_url = Some(moto.url.clone());
    let p = Product::start_with_example(world);
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let done = set_up(&p, &account, SEED_TEAM, "skyportmoto1", "backups");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["target"]["status"], "verified", "{done}");
    // moto checks no signature; it is asked directly, as its own client.
    let (status, listing) = support::request(
        "GET",
        &format!("{}/skyportmoto1?list-type=2", moto.url),
        &[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
        )],
        "",
    );
    assert_eq!(status, 200, "{listing}");
    assert!(listing.contains("<Key>backups/</Key>"), "{listing}");
    assert!(
        !listing.contains("skyport-probe-"),
        "the probe is removed: {listing}"
    );
}
