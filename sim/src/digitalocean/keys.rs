//! SSH keys (`/v2/account/keys`): a team registers public keys once and names
//! them, by id or MD5 fingerprint, when it creates Droplets. A key is parsed
//! as OpenSSH writes it (`type base64-blob [comment]`), and a team may hold a
//! given key only once.

use base64::Engine;
use serde_json::{json, Value};

use super::store::Key;
use super::{body, collection, not_found, paginate, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// Key types OpenSSH writes in `authorized_keys`.
const TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// The MD5 fingerprint (`aa:bb:…`) of an OpenSSH public key line, or `None`
/// when it is not one: a known type, a base64 blob whose own leading string
/// names that same type, and an optional comment.
pub fn fingerprint(public_key: &str) -> Option<String> {
    let mut parts = public_key.split_whitespace();
    let kind = parts.next()?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    if !TYPES.contains(&kind) || blob.len() < 4 {
        return None;
    }
    let len = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if blob.get(4..4 + len)? != kind.as_bytes() || blob.len() <= 4 + len {
        return None;
    }
    let digest = super::md5::digest(&blob);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

fn render(k: &Key) -> Value {
    json!({ "id": k.id, "fingerprint": k.fingerprint, "public_key": k.public_key, "name": k.name })
}

pub fn list(state: &State, team: &str, req: &Req) -> Resp {
    let all: Vec<Value> = state
        .digitalocean
        .keys
        .values()
        .filter(|k| k.team == team)
        .map(render)
        .collect();
    let (shown, links, total) = paginate(state, req, all);
    collection("ssh_keys", shown, links, total)
}

pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let name = b["name"].as_str().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return unprocessable("Name can't be blank");
    }
    let public_key = b["public_key"].as_str().map(str::trim).unwrap_or_default();
    let Some(fingerprint) = fingerprint(public_key) else {
        return unprocessable("Key invalid, key should be of the format `type key [comment]`");
    };
    let live = &mut state.digitalocean;
    if live.key(team, &fingerprint).is_some() {
        return unprocessable("SSH Key is already in use on your account");
    }
    let id = live.key_id();
    let key = Key {
        id,
        team: team.to_string(),
        name: name.to_string(),
        public_key: public_key.to_string(),
        fingerprint,
    };
    let out = render(&key);
    live.keys.insert(id, key);
    Resp::json(201, &json!({ "ssh_key": out }))
}

pub fn get(state: &State, team: &str, ident: &str) -> Resp {
    match state.digitalocean.key(team, ident) {
        Some(k) => Resp::json(200, &json!({ "ssh_key": render(k) })),
        None => not_found(),
    }
}

/// `PUT`: only the name of a key can change.
pub fn update(state: &mut State, team: &str, ident: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(id) = state.digitalocean.key(team, ident).map(|k| k.id) else {
        return not_found();
    };
    let key = state.digitalocean.keys.get_mut(&id).expect("found above");
    if let Some(name) = b["name"].as_str().map(str::trim).filter(|n| !n.is_empty()) {
        key.name = name.to_string();
    }
    Resp::json(200, &json!({ "ssh_key": render(key) }))
}

pub fn delete(state: &mut State, team: &str, ident: &str) -> Resp {
    match state.digitalocean.key(team, ident).map(|k| k.id) {
        Some(id) => {
            state.digitalocean.keys.remove(&id);
            Resp::new(204)
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // `ssh-keygen -l -E md5` of this key prints this fingerprint.
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICuvHq1PcGNTFLADoHfaBx9edpbAWROqQCSuzEcW+APF sammy@example";
        assert_eq!(
            fingerprint(key).as_deref(),
            Some("36:b6:9d:1c:d6:29:21:e8:b4:2e:c1:71:e7:81:ac:52")
        );
    }

    #[test]
    fn non_keys_are_refused() {
        assert!(fingerprint("").is_none());
        assert!(fingerprint("ssh-rsa").is_none());
        assert!(fingerprint("ssh-rsa not-base64!").is_none());
        // A blob of another type than the line claims.
        assert!(fingerprint(
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICuvHq1PcGNTFLADoHfaBx9edpbAWROqQCSuzEcW+APF"
        )
        .is_none());
        assert!(fingerprint("hello world").is_none());
    }
}
