//! Tags (`/v2/tags`): a team's labels, made by `POST /v2/tags` (201, and
//! the same 201 with the tag as it stands when the team already has it),
//! listed, read, deleted (204, untagging every Droplet), and put on or taken
//! off Droplets by `POST`/`DELETE /v2/tags/{name}/resources` (204). A tag
//! put on a Droplet is in its `tags`, so `?tag_name=` lists find it and
//! firewalls naming the tag apply to it, both reading Droplets' tags.
//!
//! The answers are DigitalOcean's: a tag renders with `resources` counting
//! what carries it per type (only Droplets here; images, volumes, volume
//! snapshots and databases always count 0) and naming the last one tagged
//! in `last_tagged_uri` once there is one. Names are case stable: the
//! spelling a tag was first made with is its name, a create in another case
//! answers that tag, and paths must spell it so. A name that is not
//! letters, digits, colons, dashes and underscores, at most 255 of them, is
//! refused with 400 in the shape DigitalOcean's tag service answers
//! (`{"error","messages","root_causes"}`, not the usual `{"id","message"}`).
//! Tagging wants `resource_id` as a string: a number, as clients sent before
//! DigitalOcean began refusing it, gets the 400 `parameter_missing` those
//! clients saw; a Droplet the team does not have is 404.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::firewalls::Change;
use super::store::Live;
use super::{body, collection, droplets, error, not_found, paginate, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// The resource types DigitalOcean tags besides Droplets. The emulator has
/// none of them, so tagging one is refused rather than pretended.
const OTHER_TYPES: &[&str] = &["image", "volume", "volume_snapshot", "database"];

/// What is wrong with a tag name, worded as DigitalOcean's tag service
/// words the part it documents (`tag-name "…" contains invalid characters`),
/// or `None` for a good name. The length's wording is the emulator's own:
/// DigitalOcean documents the 255 limit but not its refusal.
pub fn name_problem(name: &str) -> Option<String> {
    if name.len() > 255 {
        Some(format!("tag-name {name:?} is longer than 255 characters"))
    } else if !droplets::valid_tag(name) {
        Some(format!("tag-name {name:?} contains invalid characters"))
    } else {
        None
    }
}

/// The 400 for a bad name. The tag service sits behind gRPC, so its error
/// comes in the envelope with root causes, the message quoted once more.
fn invalid(problem: &str) -> Resp {
    let error = format!("Error validating resource tag: {problem:?}");
    Resp::json(
        400,
        &json!({
            "error": error,
            "messages": null,
            "root_causes": [format!("rpc error: code = InvalidArgument desc = {error}")],
        }),
    )
}

/// The 400 DigitalOcean answers a tagging request whose `resources` is
/// missing, empty, or holds an id that is not a string.
fn resources_missing() -> Resp {
    error(
        400,
        "parameter_missing",
        "param is missing or the value is empty: resources",
    )
}

/// Every tag `team` has: those made here or by a Droplet's create, and those
/// its Droplets carry (which covers Droplets from snapshots made before tags
/// were kept apart from them). Sorted by name.
pub fn names(live: &Live, team: &str) -> BTreeSet<String> {
    let made = live
        .tags
        .iter()
        .filter(|(t, _)| t == team)
        .map(|(_, n)| n.clone());
    let carried = live
        .droplets
        .values()
        .filter(|d| d.team == team)
        .flat_map(|d| d.tags.iter().cloned());
    made.chain(carried).collect()
}

/// The team's tag spelled `name` in any case, by its own spelling: a create
/// of `prod` where `PROD` exists is `PROD`, since names are case stable.
fn canonical(live: &Live, team: &str, name: &str) -> Option<String> {
    names(live, team)
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(name))
}

/// A tag as DigitalOcean renders it. `base` is the emulator's URL, which
/// `last_tagged_uri` is under as DigitalOcean's is under its API's.
pub fn render(live: &Live, base: &str, team: &str, name: &str) -> Value {
    let tagged: Vec<u64> = live
        .droplets
        .values()
        .filter(|d| d.team == team && d.tags.iter().any(|t| t == name))
        .map(|d| d.id)
        .collect();
    // The Droplet tagged last while it still carries the tag; otherwise
    // (tagged at its create, or the last one untagged since) the newest.
    let last = live
        .last_tagged
        .iter()
        .find(|(t, n, _)| t == team && n == name)
        .map(|(_, _, id)| *id)
        .filter(|id| tagged.contains(id))
        .or_else(|| tagged.last().copied());
    let zero = json!({ "count": 0 });
    let mut resources = json!({
        "count": tagged.len(),
        "droplets": { "count": tagged.len() },
        "images": zero,
        "volumes": zero,
        "volume_snapshots": zero,
        "databases": zero,
    });
    // DigitalOcean leaves `last_tagged_uri` out while nothing carries the tag.
    if let Some(id) = last {
        let uri = Value::String(format!("{base}/v2/droplets/{id}"));
        resources["last_tagged_uri"] = uri.clone();
        resources["droplets"]["last_tagged_uri"] = uri;
    }
    json!({ "name": name, "resources": resources })
}

/// `POST /v2/tags`: 201 with the tag, new or (in any case) already there.
pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    // A missing or non-string name is judged as the empty name it amounts to.
    let asked = b["name"].as_str().unwrap_or_default();
    if let Some(problem) = name_problem(asked) {
        return invalid(&problem);
    }
    let live = &mut state.digitalocean;
    let name = match canonical(live, team, asked) {
        Some(existing) => existing,
        None => {
            live.tags.insert((team.to_string(), asked.to_string()));
            asked.to_string()
        }
    };
    Resp::json(
        201,
        &json!({ "tag": render(live, &state.base_url, team, &name) }),
    )
}

/// `GET /v2/tags`, paged, by name.
pub fn list(state: &mut State, team: &str, req: &Req) -> Resp {
    let all: Vec<String> = names(&state.digitalocean, team).into_iter().collect();
    let (shown, links, total) = paginate(state, req, all);
    let items = shown
        .iter()
        .map(|n| render(&state.digitalocean, &state.base_url, team, n))
        .collect();
    collection("tags", items, links, total)
}

/// `GET /v2/tags/{name}`, the name spelled as the tag was made.
pub fn get(state: &mut State, team: &str, name: &str) -> Resp {
    if !state.digitalocean.tag_exists(team, name) {
        return not_found();
    }
    Resp::json(
        200,
        &json!({ "tag": render(&state.digitalocean, &state.base_url, team, name) }),
    )
}

/// `DELETE /v2/tags/{name}`: 204; every Droplet of the team loses the tag.
/// Firewalls naming it keep the name (they then cover no Droplet by it), as
/// DigitalOcean documents nothing of a deleted tag's firewalls.
pub fn delete(state: &mut State, team: &str, name: &str) -> Resp {
    let live = &mut state.digitalocean;
    if !live.tag_exists(team, name) {
        return not_found();
    }
    live.tags.remove(&(team.to_string(), name.to_string()));
    for d in live.droplets.values_mut().filter(|d| d.team == team) {
        d.tags.retain(|t| t != name);
    }
    live.last_tagged
        .retain(|(t, n, _)| !(t == team && n == name));
    Resp::new(204)
}

/// The Droplets a `resources` array names, all checked before any is
/// touched, so a refused request changes nothing.
pub fn droplet_ids(live: &Live, team: &str, resources: &Value) -> Result<Vec<u64>, Resp> {
    let items = resources
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(resources_missing)?;
    if items
        .iter()
        .any(|r| !r["resource_id"].is_string() || !r["resource_type"].is_string())
    {
        return Err(resources_missing());
    }
    let mut ids = Vec::new();
    for r in items {
        let kind = r["resource_type"].as_str().unwrap_or_default();
        if kind != "droplet" {
            return Err(unprocessable(&if OTHER_TYPES.contains(&kind) {
                format!("resource_type {kind} cannot be tagged here: only Droplets can")
            } else {
                format!("resource_type {kind} is not one of droplet, image, volume, volume_snapshot or database")
            }));
        }
        let id = r["resource_id"].as_str().unwrap_or_default();
        // Another team's Droplet is as unknown as one that never was.
        match id
            .parse::<u64>()
            .ok()
            .filter(|&n| live.droplet(team, n).is_some())
        {
            Some(n) if !ids.contains(&n) => ids.push(n),
            Some(_) => {}
            None => return Err(not_found()),
        }
    }
    Ok(ids)
}

/// Puts the tag on the Droplets or takes it off; either is a no-op for a
/// Droplet already so. A Droplet newly tagged becomes the tag's last tagged.
pub fn apply(live: &mut Live, team: &str, name: &str, ids: &[u64], change: Change) {
    // Kept as made, so untagging the last Droplet does not end the tag.
    live.tags.insert((team.to_string(), name.to_string()));
    for id in ids {
        let Some(d) = live.droplets.get_mut(id) else {
            continue;
        };
        let has = d.tags.iter().any(|t| t == name);
        match change {
            Change::Add if !has => {
                d.tags.push(name.to_string());
                live.last_tagged
                    .retain(|(t, n, _)| !(t == team && n == name));
                live.last_tagged
                    .push((team.to_string(), name.to_string(), *id));
            }
            Change::Remove if has => d.tags.retain(|t| t != name),
            _ => {}
        }
    }
}

/// `POST` or `DELETE /v2/tags/{name}/resources`: 204, or 404 for a tag the
/// team does not have (before the body is read, as clients that tag before
/// creating the tag are told).
pub fn resources(state: &mut State, team: &str, name: &str, change: Change, req: &Req) -> Resp {
    if !state.digitalocean.tag_exists(team, name) {
        return not_found();
    }
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let ids = match droplet_ids(&state.digitalocean, team, &b["resources"]) {
        Ok(ids) => ids,
        Err(resp) => return resp,
    };
    apply(&mut state.digitalocean, team, name, &ids, change);
    Resp::new(204)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{apply, canonical, droplet_ids, invalid, name_problem, names, render};
    use crate::digitalocean::firewalls::Change;
    use crate::digitalocean::store::{Droplet, Live};

    fn droplet(live: &mut Live, team: &str, tags: &[&str]) -> u64 {
        let id = live.droplet_id();
        live.droplets.insert(
            id,
            Droplet {
                id,
                team: team.into(),
                name: format!("d{id}"),
                region: "nyc3".into(),
                size: "s-1vcpu-1gb".into(),
                disk: 25,
                status: "active".into(),
                created_at: "2025-01-01T00:00:00Z".into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ipv6: false,
                monitoring: false,
                backups: false,
                agent: false,
                ssh_keys: vec![],
                user_data: None,
                vpc_uuid: String::new(),
                host: None,
            },
        );
        id
    }

    fn status_and_body(r: crate::http::Resp) -> (u16, Value) {
        let status = r.status.as_u16();
        (status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn names_are_letters_digits_colons_dashes_underscores_to_255() {
        for good in [
            "extra-awesome",
            "env:prod",
            "A_b-1",
            "PROD",
            &"t".repeat(255),
        ] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        for bad in ["two words", "a.b", "a/b", "здорово", ""] {
            assert_eq!(
                name_problem(bad).as_deref(),
                Some(format!("tag-name {bad:?} contains invalid characters").as_str())
            );
        }
        assert!(name_problem(&"t".repeat(256))
            .unwrap()
            .ends_with("is longer than 255 characters"));
    }

    #[test]
    fn a_bad_name_is_refused_in_the_tag_services_envelope() {
        let (status, b) = status_and_body(invalid(&name_problem("x y").unwrap()));
        assert_eq!(status, 400);
        assert_eq!(
            b["error"],
            r#"Error validating resource tag: "tag-name \"x y\" contains invalid characters""#
        );
        assert_eq!(b["messages"], Value::Null);
        assert_eq!(
            b["root_causes"][0],
            format!(
                "rpc error: code = InvalidArgument desc = {}",
                b["error"].as_str().unwrap()
            )
        );
    }

    #[test]
    fn names_are_case_stable_and_kept_per_team() {
        let mut live = Live::default();
        live.tags.insert(("t1".into(), "PROD".into()));
        droplet(&mut live, "t1", &["web"]);
        droplet(&mut live, "t2", &["secret"]);
        assert_eq!(canonical(&live, "t1", "prod").as_deref(), Some("PROD"));
        assert_eq!(canonical(&live, "t1", "WEB").as_deref(), Some("web"));
        assert_eq!(canonical(&live, "t2", "prod"), None);
        assert_eq!(
            names(&live, "t1").into_iter().collect::<Vec<_>>(),
            ["PROD", "web"]
        );
        // Paths take the tag's own spelling only.
        assert!(live.tag_exists("t1", "PROD") && !live.tag_exists("t1", "prod"));
    }

    #[test]
    fn resources_want_string_ids_of_the_teams_droplets() {
        let mut live = Live::default();
        let mine = droplet(&mut live, "t1", &[]);
        let theirs = droplet(&mut live, "t2", &[]);
        let ids = |v: Value| droplet_ids(&live, "t1", &v).map_err(status_and_body);
        let one = |id: Value, kind: &str| json!([{ "resource_id": id, "resource_type": kind }]);

        assert_eq!(
            ids(one(json!(mine.to_string()), "droplet")).unwrap(),
            [mine]
        );
        let twice = json!([
            { "resource_id": mine.to_string(), "resource_type": "droplet" },
            { "resource_id": mine.to_string(), "resource_type": "droplet" },
        ]);
        assert_eq!(ids(twice).unwrap(), [mine]);
        for missing in [
            one(json!(mine), "droplet"),
            json!([]),
            Value::Null,
            json!("x"),
        ] {
            let (status, b) = ids(missing).unwrap_err();
            assert_eq!((status, b["id"].as_str()), (400, Some("parameter_missing")));
            assert_eq!(
                b["message"],
                "param is missing or the value is empty: resources"
            );
        }
        for unknown in [theirs.to_string(), "999".into(), "web-1".into()] {
            let (status, b) = ids(one(json!(unknown), "droplet")).unwrap_err();
            assert_eq!((status, b["id"].as_str()), (404, Some("not_found")));
        }
        for kind in ["volume", "load_balancer"] {
            let (status, b) = ids(one(json!("3d80cb72"), kind)).unwrap_err();
            assert_eq!(
                (status, b["id"].as_str()),
                (422, Some("unprocessable_entity"))
            );
        }
    }

    #[test]
    fn counts_and_the_last_tagged_follow_what_carries_the_tag() {
        let mut live = Live::default();
        let base = "http://sim";
        let a = droplet(&mut live, "t1", &["web"]);
        let b = droplet(&mut live, "t1", &[]);
        let c = droplet(&mut live, "t1", &[]);
        let r = render(&live, base, "t1", "web");
        assert_eq!(r["resources"]["count"], 1);
        assert_eq!(
            r["resources"]["droplets"]["last_tagged_uri"],
            format!("{base}/v2/droplets/{a}")
        );
        assert_eq!(r["resources"]["volumes"], json!({ "count": 0 }));

        // b, tagged after c, is the last tagged though c's id is newer; tagging
        // c again changes nothing, so it does not become the last.
        apply(&mut live, "t1", "web", &[c], Change::Add);
        apply(&mut live, "t1", "web", &[b], Change::Add);
        apply(&mut live, "t1", "web", &[c], Change::Add);
        let r = render(&live, base, "t1", "web");
        assert_eq!(r["resources"]["count"], 3);
        assert_eq!(
            r["resources"]["last_tagged_uri"],
            format!("{base}/v2/droplets/{b}")
        );

        apply(&mut live, "t1", "web", &[a, b, c], Change::Remove);
        let r = render(&live, base, "t1", "web");
        assert_eq!(
            r["resources"],
            json!({
                "count": 0,
                "droplets": { "count": 0 },
                "images": { "count": 0 },
                "volumes": { "count": 0 },
                "volume_snapshots": { "count": 0 },
                "databases": { "count": 0 },
            })
        );
        assert!(live.tag_exists("t1", "web"), "an untagged tag stays");
    }
}
