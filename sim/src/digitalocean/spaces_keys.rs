//! Spaces access keys (`/v2/spaces/keys`): a team makes S3 key pairs here,
//! each with grants on its buckets, and sees a key's secret only in the
//! answer that made it. The S3 front door (`spaces.rs`) checks requests
//! against these keys.

use serde_json::{json, Value};

use super::store::SpacesKey;
use super::{body, collection, not_found, paginate, timestamp, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

const PERMISSIONS: &[&str] = &["read", "readwrite", "fullaccess"];

fn render(k: &SpacesKey, with_secret: bool) -> Value {
    let grants: Vec<Value> = k
        .grants
        .iter()
        .map(|(bucket, permission)| json!({ "bucket": bucket, "permission": permission }))
        .collect();
    let mut v = json!({ "name": k.name, "access_key": k.access_key, "grants": grants, "created_at": k.created_at });
    if with_secret {
        v["secret_key"] = json!(k.secret_key);
    }
    v
}

/// Uppercase letters and digits (access keys) or letters, digits and `+/`
/// (secrets), from fresh uuids.
fn random(len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < len {
                out.push(alphabet[*b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub fn list(state: &State, team: &str, req: &Req) -> Resp {
    let all: Vec<Value> = state
        .digitalocean
        .spaces_keys
        .values()
        .filter(|k| k.team == team)
        .map(|k| render(k, false))
        .collect();
    let (shown, links, total) = paginate(state, req, all);
    collection("keys", shown, links, total)
}

pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let name = b["name"].as_str().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return unprocessable("name is required");
    }
    let Some(asked) = b["grants"].as_array() else {
        return unprocessable("grants is required");
    };
    let mut grants = Vec::new();
    for g in asked {
        let bucket = g["bucket"].as_str();
        let permission = g["permission"].as_str().unwrap_or_default();
        let Some(bucket) = bucket else {
            return unprocessable("grants: bucket is required");
        };
        if !PERMISSIONS.contains(&permission) {
            return unprocessable(&format!(
                "grants: permission must be one of read, readwrite, fullaccess (got `{permission}`)"
            ));
        }
        if bucket.is_empty() && permission != "fullaccess" {
            return unprocessable(
                "grants: only fullaccess may be given on every bucket (an empty bucket name)",
            );
        }
        grants.push((bucket.to_string(), permission.to_string()));
    }
    // Full access takes the place of scoped grants, as DigitalOcean says.
    if grants
        .iter()
        .any(|(b, p)| b.is_empty() && p == "fullaccess")
    {
        grants = vec![(String::new(), "fullaccess".into())];
    }
    let key = SpacesKey {
        access_key: format!("DO{}", random(18, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")),
        secret_key: random(
            43,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        ),
        team: team.to_string(),
        name: name.to_string(),
        grants,
        created_at: timestamp(),
    };
    let v = render(&key, true);
    state
        .digitalocean
        .spaces_keys
        .insert(key.access_key.clone(), key);
    Resp::json(201, &json!({ "key": v }))
}

fn owned<'a>(state: &'a State, team: &str, access_key: &str) -> Option<&'a SpacesKey> {
    state
        .digitalocean
        .spaces_keys
        .get(access_key)
        .filter(|k| k.team == team)
}

pub fn get(state: &State, team: &str, access_key: &str) -> Resp {
    match owned(state, team, access_key) {
        Some(k) => Resp::json(200, &json!({ "key": render(k, false) })),
        None => not_found(),
    }
}

pub fn delete(state: &mut State, team: &str, access_key: &str) -> Resp {
    if owned(state, team, access_key).is_none() {
        return not_found();
    }
    state.digitalocean.spaces_keys.remove(access_key);
    Resp::new(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_like_digitaloceans() {
        let a = format!("DO{}", random(18, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
        assert_eq!(a.len(), 20);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
