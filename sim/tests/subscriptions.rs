//! Tenants, subscriptions, locations, provider registration, permissions,
//! role assignments and pagination.

mod support;

use sim::world::defaults::*;
use sim::Command;
use support::*;

#[test]
fn tenants_subscriptions_and_locations() {
    let sim = start();
    let token = token(&sim);
    let t = arm(&sim, &token, "GET", "/tenants", None).json();
    assert_eq!(t["value"][0]["tenantId"], TENANT);
    let s = arm(&sim, &token, "GET", "/subscriptions", None).json();
    let first = &s["value"][0];
    for k in [
        "id",
        "subscriptionId",
        "tenantId",
        "displayName",
        "state",
        "subscriptionPolicies",
        "authorizationSource",
    ] {
        assert!(!first[k].is_null(), "{k} missing: {first}");
    }
    assert_eq!(first["state"], "Enabled");
    let l = arm(&sim, &token, "GET", &format!("{}/locations", sub()), None).json();
    let names: Vec<&str> = l["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..6],
        [
            "eastus",
            "westus2",
            "westeurope",
            "northeurope",
            "southeastasia",
            "australiaeast"
        ]
    );
    assert_eq!(l["value"][0]["metadata"]["regionType"], "Physical");
}

#[test]
fn lists_paginate_with_next_link() {
    let sim = start();
    sim.command(Command::Settings {
        lro_polls: None,
        registration_polls: None,
        retry_after_secs: None,
        access_token_lifetime_secs: None,
        page_size: Some(4),
        azurite_url: None,
        refresh_token_idle_secs: None,
    })
    .unwrap();
    let token = token(&sim);
    let mut url = format!("{}/locations", sub());
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page = arm(&sim, &token, "GET", &url, None).json();
        pages += 1;
        names.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        match page["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), sim::world::REGIONS.len());
}

#[test]
fn provider_registration_moves_through_registering() {
    let sim = start();
    let token = token(&sim);
    sim.command(Command::SetProvider {
        subscription: SUBSCRIPTION.into(),
        namespace: "Microsoft.Compute".into(),
        state: "NotRegistered".into(),
    })
    .unwrap();
    let path = format!("{}/providers/Microsoft.Compute", sub());
    assert_eq!(
        arm(&sim, &token, "GET", &path, None).json()["registrationState"],
        "NotRegistered"
    );
    // Using the namespace is refused until it is registered.
    let r = arm(
        &sim,
        &token,
        "GET",
        &format!(
            "{}/providers/Microsoft.Compute/locations/eastus/usages",
            sub()
        ),
        None,
    );
    assert_eq!(r.status, 409);
    let e = r.json();
    assert_eq!(e["error"]["code"], "MissingSubscriptionRegistration");
    assert_eq!(e["error"]["details"][0]["target"], "Microsoft.Compute");

    let r = arm(&sim, &token, "POST", &format!("{path}/register"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["registrationState"], "Registering");
    let states: Vec<String> = (0..3)
        .map(|_| {
            arm(&sim, &token, "GET", &path, None).json()["registrationState"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(states, ["Registering", "Registered", "Registered"]);
    assert_eq!(
        arm(
            &sim,
            &token,
            "GET",
            &format!(
                "{}/providers/Microsoft.Compute/locations/eastus/usages",
                sub()
            ),
            None
        )
        .status,
        200
    );
}

#[test]
fn permissions_and_role_assignments() {
    let sim = start();
    let token = token(&sim);
    let p = arm(
        &sim,
        &token,
        "GET",
        &format!(
            "{}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
            sub()
        ),
        None,
    )
    .json();
    assert_eq!(p["value"][0]["actions"], serde_json::json!(["*"]));
    let filter = sim::http::enc(&format!("atScope() and assignedTo('{USER}')"));
    let r = arm(&sim, &token, "GET", &format!("{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter={filter}", sub()), None).json();
    let def = r["value"][0]["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap();
    assert!(
        def.ends_with("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        "Owner: {def}"
    );
    sim.command(Command::SetRole {
        user: USERNAME.into(),
        subscription: SUBSCRIPTION.into(),
        role: Some("Contributor".into()),
    })
    .unwrap();
    let p = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/providers/Microsoft.Authorization/permissions", sub()),
        None,
    )
    .json();
    assert!(p["value"][0]["notActions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "Microsoft.Authorization/*/Write"));
}
