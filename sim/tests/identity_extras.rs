//! Identity platform details clients rely on: the `nonce` echoed in the
//! id_token, `client_info` on request, and the tenants admin consent accepts.

mod support;

use base64::Engine;
use serde_json::Value;
use sim::world::defaults::*;
use sim::world::{Tenant, User};
use support::*;

/// Signs in through `/common` with extra authorize parameters; returns the
/// code and the PKCE verifier.
fn code_with(sim: &sim::Sim, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut fields = vec![
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", "st"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    fields.extend_from_slice(extra);
    // The consent page carries the nonce through to the form it posts.
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let page = call(
        "GET",
        &format!("{}?{query}", sim.authorize_url("common")),
        &[],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    for (k, v) in extra {
        if *k == "nonce" {
            assert!(
                page.body.contains(&format!("name=\"nonce\" value=\"{v}\"")),
                "the consent form carries the nonce: {}",
                page.body
            );
        }
    }
    fields.push(("user", USERNAME));
    fields.push(("decision", "accept"));
    let r = form(&sim.authorize_url("common"), &fields);
    assert_eq!(r.status, 302, "{}", r.body);
    (r.param("code").expect("a code"), verifier)
}

fn redeem(sim: &sim::Sim, code: &str, verifier: &str, extra: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    fields.extend_from_slice(extra);
    let t = form(&sim.token_url("common"), &fields);
    assert_eq!(t.status, 200, "{}", t.body);
    t.json()
}

fn id_claims(tokens: &Value) -> Value {
    sim::jwt::peek(tokens["id_token"].as_str().expect("an id_token")).unwrap()
}

#[test]
fn the_authorize_nonce_is_echoed_in_the_id_token() {
    let sim = start();
    let (code, verifier) = code_with(&sim, &[("nonce", "n-0S6_WzA2Mj")]);
    let tokens = redeem(&sim, &code, &verifier, &[]);
    assert_eq!(id_claims(&tokens)["nonce"], "n-0S6_WzA2Mj");

    // Without a nonce the id_token has none; a refresh never carries one.
    let (code, verifier) = code_with(&sim, &[]);
    let tokens = redeem(&sim, &code, &verifier, &[]);
    assert!(id_claims(&tokens).get("nonce").is_none(), "{tokens}");
    let r = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("scope", SCOPE),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(id_claims(&r.json()).get("nonce").is_none());
}

fn decode_client_info(v: &Value) -> Value {
    let text = v["client_info"].as_str().expect("client_info");
    assert!(
        !text.contains('=') && !text.contains('+') && !text.contains('/'),
        "base64url without padding: {text}"
    );
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn client_info_comes_back_when_asked_for() {
    let sim = start();
    let (code, verifier) = code_with(&sim, &[]);
    let plain = redeem(&sim, &code, &verifier, &[]);
    assert!(
        plain.get("client_info").is_none(),
        "only on request: {plain}"
    );

    let (code, verifier) = code_with(&sim, &[]);
    let tokens = redeem(&sim, &code, &verifier, &[("client_info", "1")]);
    let info = decode_client_info(&tokens);
    assert_eq!(info["uid"], USER);
    assert_eq!(info["utid"], TENANT);

    // The refresh grant answers with it too.
    let r = form(
        &sim.token_url(TENANT),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_info", "1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(decode_client_info(&r.json())["uid"], USER);
}

#[test]
fn client_info_names_the_home_tenant_of_a_guest() {
    const FABRIKAM: &str = "a1b2c3d4-0000-4000-8000-00000000fab1";
    let mut world = sim::World::default();
    world.tenants.push(Tenant {
        id: FABRIKAM.into(),
        name: "Fabrikam".into(),
        domain: "fabrikam.onmicrosoft.com".into(),
        admin_consent_required: false,
    });
    world.users[0].guest_of.push(FABRIKAM.into());
    let sim = start_with(world);
    let (code, verifier) = code_with(&sim, &[]);
    let tokens = redeem(&sim, &code, &verifier, &[]);
    let r = form(
        &sim.token_url(FABRIKAM),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_info", "1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let access = sim::jwt::peek(v["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(access["tid"], FABRIKAM, "the token is for the guest tenant");
    let info = decode_client_info(&v);
    assert_eq!(info["uid"], USER);
    assert_eq!(info["utid"], TENANT, "client_info names the home tenant");
}

fn consent_url(sim: &sim::Sim, tenant: &str) -> String {
    format!(
        "{}/{tenant}/v2.0/adminconsent?client_id={CLIENT_ID}&redirect_uri={}&state=a&scope={}",
        sim.url,
        sim::http::enc(REDIRECT),
        sim::http::enc("https://management.azure.com/user_impersonation")
    )
}

fn consent(sim: &sim::Sim, tenant: &str, user: Option<&str>) -> Reply {
    let mut fields = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "a"),
        ("decision", "accept"),
        ("scope", "https://management.azure.com/user_impersonation"),
    ];
    if let Some(u) = user {
        fields.push(("user", u));
    }
    form(&format!("{}/{tenant}/v2.0/adminconsent", sim.url), &fields)
}

fn consent_required_world() -> sim::World {
    let mut world = sim::World::default();
    world.tenants[0].admin_consent_required = true;
    world
}

fn signs_in(sim: &sim::Sim) -> bool {
    let (_, challenge) = pkce();
    let r = authorize(sim, "common", USERNAME, "accept", &challenge, "st");
    r.status == 302 && r.param("code").is_some()
}

#[test]
fn admin_consent_takes_a_tenant_id_or_a_verified_domain() {
    for segment in [TENANT, "contoso.onmicrosoft.com", "Contoso.OnMicrosoft.com"] {
        let sim = start_with(consent_required_world());
        assert!(!signs_in(&sim), "consent is needed first");
        let page = call("GET", &consent_url(&sim, segment), &[], None);
        assert_eq!(page.status, 200, "{segment}: {}", page.body);
        assert!(page.body.contains("Contoso"), "{}", page.body);
        let r = consent(&sim, segment, None);
        assert_eq!(r.status, 302, "{segment}: {}", r.body);
        assert_eq!(r.param("admin_consent").as_deref(), Some("True"));
        assert_eq!(r.param("tenant").as_deref(), Some(TENANT));
        assert_eq!(r.param("state").as_deref(), Some("a"));
        assert!(signs_in(&sim), "{segment}: consented");
    }
}

#[test]
fn admin_consent_through_organizations_consents_for_the_admins_home_tenant() {
    const FABRIKAM: &str = "a1b2c3d4-0000-4000-8000-00000000fab1";
    let mut world = consent_required_world();
    world.tenants.push(Tenant {
        id: FABRIKAM.into(),
        name: "Fabrikam".into(),
        domain: "fabrikam.onmicrosoft.com".into(),
        admin_consent_required: true,
    });
    world.users.push(User {
        id: "0d9e8f7a-1111-4222-8333-444455556666".into(),
        name: "Fabrikam Admin".into(),
        username: "admin@fabrikam.onmicrosoft.com".into(),
        tenant: FABRIKAM.into(),
        guest_of: vec![],
    });
    let sim = start_with(world);
    // The page asks who signs in.
    let page = call("GET", &consent_url(&sim, "organizations"), &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("name=\"user\"") && page.body.contains("admin@fabrikam.onmicrosoft.com"),
        "{}",
        page.body
    );
    let r = consent(
        &sim,
        "organizations",
        Some("admin@fabrikam.onmicrosoft.com"),
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.param("admin_consent").as_deref(), Some("True"));
    assert_eq!(r.param("tenant").as_deref(), Some(FABRIKAM));
    assert!(!signs_in(&sim), "Contoso has not consented");
    let r = consent(&sim, "organizations", Some(USERNAME));
    assert_eq!(r.param("tenant").as_deref(), Some(TENANT));
    assert!(signs_in(&sim));

    // Declining through organizations needs nobody signed in.
    let r = form(
        &format!("{}/organizations/v2.0/adminconsent", sim.url),
        &[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("state", "a"),
            ("decision", "deny"),
        ],
    );
    assert_eq!(r.param("error").as_deref(), Some("permission_denied"));
    assert_eq!(
        r.param("admin_consent"),
        None,
        "an error answer says only the error"
    );
    assert_eq!(r.param("state").as_deref(), Some("a"));
}

#[test]
fn admin_consent_refuses_common_and_unknown_tenants() {
    let sim = start_with(consent_required_world());
    let page = call("GET", &consent_url(&sim, "common"), &[], None);
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("AADSTS90002"), "{}", page.body);
    assert!(page.header("location").is_none(), "a page, no redirect");
    let r = consent(&sim, "common", Some(USERNAME));
    assert_eq!(r.status, 400);
    assert!(!signs_in(&sim), "nothing was consented");

    let page = call("GET", &consent_url(&sim, "nowhere.example.com"), &[], None);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("AADSTS90002"), "{}", page.body);
}
