//! Organizations and their API keys. Every API call carries
//! `Authorization: Bearer <key>`; the key's SHA-256 is stored, never the key.
//!
//! An organization has any number of keys (`keys`): created with a name,
//! listed by a recognizable prefix, revoked at once. The secret variable
//! `bootstrap_api_key` is the operator's key and is never stored: a presented
//! key is compared with the variable's current value (constant time, over
//! SHA-256 digests), so changing the variable retires the previous value at
//! once. It opens the first organization, created the first time it is used
//! and marked in `bootstrap_org`, whatever the variable holds later.
//!
//! Databases made before key management hold hashes only in `api_keys`; those
//! rows are copied into `keys` the first time they are missing there (see
//! [`migrate`]), so every old key keeps working.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use spin_sdk::http::Request;
use spin_sdk::sqlite::{Connection, QueryResult};

use crate::api::{check_id, ApiError};
use crate::db::{get_int, get_text, int, text};

/// How many unrevoked keys an organization may hold.
pub const MAX_ACTIVE_KEYS: i64 = 100;

/// The name the organization's first key gets.
const FIRST_KEY_NAME: &str = "created with the organization";

/// The name keys copied from the old `api_keys` table get.
const MIGRATED_KEY_NAME: &str = "key from before key management";

/// `last_used_at` is written at most this often (seconds) per key, so using a
/// key costs no write on most requests.
const LAST_USED_GRANULARITY: i64 = 60;

/// Who is calling: the organization, and the key it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org: String,
    /// The stored key's id; `None` for the bootstrap key.
    pub key_id: Option<String>,
    /// Whether the key is the current `bootstrap_api_key`.
    pub bootstrap: bool,
}

/// The SHA-256 digest of a key.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hash(key: &str) -> String {
    digest(key).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality whose time depends on the lengths only, not on where the
/// contents differ: every byte pair is xor-ed and or-ed into one accumulator.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// What identifies a key in lists without revealing it: `sk_` and the next
/// eight characters (the first eight of another key's form).
pub fn prefix(key: &str) -> String {
    let (head, rest) = match key.strip_prefix("sk_") {
        Some(rest) => ("sk_", rest),
        None => ("", key),
    };
    format!("{head}{}", rest.chars().take(8).collect::<String>())
}

/// The key in `Authorization: Bearer <key>`, if any.
pub fn presented_key(req: &Request) -> Option<&str> {
    req.header("authorization")
        .and_then(|h| h.as_str())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The current value of `bootstrap_api_key`, if it is set to something.
fn bootstrap_variable() -> Option<String> {
    crate::config::bootstrap_api_key()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// Whether `key` is the current `bootstrap_api_key` (never when it is empty).
pub fn is_bootstrap_key(key: &str) -> bool {
    bootstrap_variable().is_some_and(|b| constant_time_eq(&digest(&b), &digest(key)))
}

/// The organization the request's API key belongs to.
pub fn authenticate(db: &Connection, req: &Request) -> Result<String, ApiError> {
    caller(db, req).map(|c| c.org)
}

/// The organization and key of the request's caller, or a 401.
pub fn caller(db: &Connection, req: &Request) -> Result<Caller, ApiError> {
    // One of the app's own components acting for an organization (an
    // incoming hook's action, over service chaining): the act-for token
    // proves it, the org header says for whom. Without a valid token the
    // header means nothing.
    if let Some(org) = req
        .header(crate::internal::ORG_HEADER)
        .and_then(|h| h.as_str())
    {
        let token = req
            .header(crate::internal::ACT_HEADER)
            .and_then(|h| h.as_str())
            .unwrap_or("");
        if !crate::crypto::Keys::load()?.is_act_for(token) {
            return Err(ApiError::unauthenticated());
        }
        let r = db.execute("SELECT id FROM orgs WHERE id = ?", &[text(org)])?;
        if r.rows.is_empty() {
            return Err(ApiError::unauthenticated());
        }
        return Ok(Caller {
            org: org.to_string(),
            key_id: None,
            bootstrap: false,
        });
    }
    let key = presented_key(req).ok_or_else(ApiError::unauthenticated)?;
    if is_bootstrap_key(key) {
        return Ok(Caller {
            org: bootstrap(db, &hash(key))?,
            key_id: None,
            bootstrap: true,
        });
    }
    let found = db.execute(
        "SELECT id, org_id, last_used_at, revoked_at FROM keys WHERE key_hash = ?",
        &[text(&hash(key))],
    )?;
    let (Some(id), Some(org)) = (get_text(&found, 0, "id"), get_text(&found, 0, "org_id")) else {
        return Err(ApiError::unauthenticated());
    };
    if get_int(&found, 0, "revoked_at").is_some() {
        return Err(ApiError::new(
            401,
            "key_revoked",
            "This API key has been revoked.",
            "Send another key of your organization; one who holds a key can create a new one with POST /api/v1/orgs/me/keys.",
        ));
    }
    let now = crate::now();
    if get_int(&found, 0, "last_used_at").is_none_or(|t| now - t >= LAST_USED_GRANULARITY) {
        // Best effort: a busy database must not fail the request.
        let _ = db.execute(
            "UPDATE keys SET last_used_at = ? WHERE id = ?",
            &[int(now), text(&id)],
        );
    }
    Ok(Caller {
        org,
        key_id: Some(id),
        bootstrap: false,
    })
}

/// Copies keys of databases made before key management (`api_keys`: hash,
/// organization, time) into `keys`: a schema migration, run once per
/// database (`db::open`); a row is copied only while its hash is missing.
pub(crate) fn copy_legacy_keys(db: &Connection) -> Result<(), ApiError> {
    let pending = db.execute(
        "SELECT key_hash, org_id, created_at FROM api_keys WHERE key_hash NOT IN (SELECT key_hash FROM keys)",
        &[],
    )?;
    for row in 0..pending.rows.len() {
        let (Some(h), Some(org)) = (
            get_text(&pending, row, "key_hash"),
            get_text(&pending, row, "org_id"),
        ) else {
            continue;
        };
        let created = get_int(&pending, row, "created_at").unwrap_or_else(crate::now);
        db.execute(
            "INSERT OR IGNORE INTO keys (id, org_id, key_hash, name, prefix, migrated, created_at) VALUES (?, ?, ?, ?, NULL, 1, ?)",
            &[text(&crate::new_id()), text(&org), text(&h), text(MIGRATED_KEY_NAME), int(created)],
        )?;
    }
    Ok(())
}

/// Runs `f` in an immediate transaction, rolled back when it fails.
fn transaction<T>(db: &Connection, f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    let result = f().and_then(|v| db.execute("COMMIT", &[]).map(|_| v).map_err(Into::into));
    if result.is_err() {
        let _ = db.execute("ROLLBACK", &[]);
    }
    result
}

/// The organization marked as the bootstrap one, if any.
fn marked_bootstrap(db: &Connection) -> Result<Option<String>, ApiError> {
    let r = db.execute("SELECT org_id FROM bootstrap_org WHERE id = 1", &[])?;
    Ok(get_text(&r, 0, "org_id"))
}

/// The organization the bootstrap key opens: the marked one, or, the first
/// time, one adopted from a database made before key management or a new
/// `default`, marked once.
fn bootstrap(db: &Connection, key_hash: &str) -> Result<String, ApiError> {
    if let Some(org) = marked_bootstrap(db)? {
        return Ok(org);
    }
    transaction(db, || {
        if let Some(org) = marked_bootstrap(db)? {
            return Ok(org);
        }
        let now = crate::now();
        let org = match adoptable(db, key_hash)? {
            Some(org) => {
                // The old code stored the bootstrap key as this organization's
                // (only) key; it is the variable's business now, so that copy
                // must not outlive a change of the variable.
                db.execute(
                    "UPDATE keys SET revoked_at = ? WHERE org_id = ? AND migrated = 1 AND revoked_at IS NULL",
                    &[int(now), text(&org)],
                )?;
                org
            }
            None => {
                let org = crate::new_id();
                db.execute(
                    "INSERT INTO orgs (id, name, created_at) VALUES (?, 'default', ?)",
                    &[text(&org), int(now)],
                )?;
                org
            }
        };
        db.execute(
            "INSERT INTO bootstrap_org (id, org_id, created_at) VALUES (1, ?, ?)",
            &[text(&org), int(now)],
        )?;
        Ok(org)
    })
}

/// In a database made before key management, the organization the old code
/// made for the bootstrap key: the one holding this key's copied hash, else
/// the oldest `default` organization holding copied keys.
fn adoptable(db: &Connection, key_hash: &str) -> Result<Option<String>, ApiError> {
    let r = db.execute(
        "SELECT k.org_id FROM keys k JOIN orgs o ON o.id = k.org_id WHERE k.key_hash = ? AND k.migrated = 1",
        &[text(key_hash)],
    )?;
    if let Some(org) = get_text(&r, 0, "org_id") {
        return Ok(Some(org));
    }
    let r = db.execute(
        "SELECT o.id FROM orgs o WHERE o.name = 'default'
           AND EXISTS (SELECT 1 FROM keys k WHERE k.org_id = o.id AND k.migrated = 1)
         ORDER BY o.created_at, o.rowid LIMIT 1",
        &[],
    )?;
    Ok(get_text(&r, 0, "id"))
}

/// A key just made: the secret (shown once) and its listed fields.
pub struct NewKey {
    pub secret: String,
    pub json: Value,
}

impl NewKey {
    /// The 201 answer: the listed fields plus the key itself.
    pub fn answer(&self) -> Value {
        let mut v = self.json.clone();
        v["api_key"] = json!(self.secret);
        v["notice"] = json!(
            "Store this key now: it is shown only this once. Skyport keeps only its SHA-256 hash."
        );
        v
    }
}

fn insert_key(db: &Connection, org: &str, name: &str) -> Result<NewKey, ApiError> {
    let id = crate::new_id();
    let secret = format!("sk_{}", crate::random_token(24));
    let now = crate::now();
    db.execute(
        "INSERT INTO keys (id, org_id, key_hash, name, prefix, migrated, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
        &[text(&id), text(org), text(&hash(&secret)), text(name), text(&prefix(&secret)), int(now)],
    )?;
    let json = key_json(&load_keys(db, org, Some(&id))?, 0);
    Ok(NewKey { secret, json })
}

/// Creates an organization with a first API key; returns its id and the key.
pub fn create(db: &Connection, name: &str) -> Result<(String, NewKey), ApiError> {
    let org = crate::new_id();
    transaction(db, || {
        db.execute(
            "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)",
            &[text(&org), text(name), int(crate::now())],
        )?;
        insert_key(db, &org, FIRST_KEY_NAME)
    })
    .map(|key| (org, key))
}

/// The caller's own organization for a path's `{org}`: `me` or its id. Any
/// other id answers 404 alike, existing or not, so ids are not confirmed.
pub fn own_org<'a>(caller: &'a Caller, path_org: &str) -> Result<&'a str, ApiError> {
    if path_org == "me" || path_org == caller.org {
        return Ok(&caller.org);
    }
    check_id(path_org, "organization")?;
    Err(ApiError::new(
        404,
        "not_found",
        "No organization with that id is yours.",
        "Use `me` or your own organization's id (GET /api/v1/orgs/me answers it); a key manages only its own organization.",
    ))
}

/// `GET /api/v1/orgs/me`: the organization and how the caller is signed in.
pub fn describe(db: &Connection, caller: &Caller) -> Result<Value, ApiError> {
    let r = db.execute(
        "SELECT id, name, created_at FROM orgs WHERE id = ?",
        &[text(&caller.org)],
    )?;
    let bootstrap = marked_bootstrap(db)?.as_deref() == Some(caller.org.as_str());
    let key = match &caller.key_id {
        Some(id) => {
            let keys = load_keys(db, &caller.org, Some(id))?;
            json!({ "kind": "api_key", "id": id, "prefix": get_text(&keys, 0, "prefix") })
        }
        None => json!({ "kind": "bootstrap_api_key" }),
    };
    Ok(json!({
        "id": caller.org,
        "name": get_text(&r, 0, "name"),
        "created_at": get_int(&r, 0, "created_at"),
        "bootstrap": bootstrap,
        "calling_key": key,
    }))
}

fn load_keys(db: &Connection, org: &str, id: Option<&str>) -> Result<QueryResult, ApiError> {
    const COLUMNS: &str = "id, name, prefix, created_at, last_used_at, revoked_at";
    Ok(match id {
        Some(id) => db.execute(
            &format!("SELECT {COLUMNS} FROM keys WHERE org_id = ? AND id = ?"),
            &[text(org), text(id)],
        )?,
        None => db.execute(
            &format!("SELECT {COLUMNS} FROM keys WHERE org_id = ? ORDER BY created_at, rowid"),
            &[text(org)],
        )?,
    })
}

/// A key as listed: never the key or its hash.
fn key_json(r: &QueryResult, row: usize) -> Value {
    json!({
        "id": get_text(r, row, "id"),
        "name": get_text(r, row, "name"),
        "prefix": get_text(r, row, "prefix"),
        "created_at": get_int(r, row, "created_at"),
        "last_used_at": get_int(r, row, "last_used_at"),
        "revoked_at": get_int(r, row, "revoked_at"),
    })
}

/// Every key of the organization, revoked ones too (oldest first).
pub fn list_keys(db: &Connection, org: &str) -> Result<Vec<Value>, ApiError> {
    let r = load_keys(db, org, None)?;
    Ok((0..r.rows.len()).map(|row| key_json(&r, row)).collect())
}

fn active_keys(db: &Connection, org: &str) -> Result<i64, ApiError> {
    let r = db.execute(
        "SELECT count(*) AS n FROM keys WHERE org_id = ? AND revoked_at IS NULL",
        &[text(org)],
    )?;
    Ok(get_int(&r, 0, "n").unwrap_or(0))
}

/// Creates a key named `name` for the organization.
pub fn create_key(db: &Connection, org: &str, name: &str) -> Result<NewKey, ApiError> {
    transaction(db, || {
        if active_keys(db, org)? >= MAX_ACTIVE_KEYS {
            return Err(ApiError::new(
                409,
                "too_many_keys",
                &format!("The organization already has {MAX_ACTIVE_KEYS} active API keys, the most it may hold."),
                "Revoke keys no longer in use (DELETE /api/v1/orgs/me/keys/{key_id}), then create this one.",
            ));
        }
        insert_key(db, org, name)
    })
}

/// Revokes a key of the caller's organization: from now on it answers 401.
/// Refuses to leave the organization without a way in.
pub fn revoke_key(db: &Connection, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    check_id(id, "API key")?;
    let org = caller.org.as_str();
    let key = transaction(db, || {
        let r = load_keys(db, org, Some(id))?;
        if r.rows.is_empty() {
            return Err(ApiError::not_found("API key"));
        }
        if get_int(&r, 0, "revoked_at").is_some() {
            // Already revoked: DELETE is idempotent.
            return Ok(key_json(&r, 0));
        }
        let bootstrap_opens_it =
            bootstrap_variable().is_some() && marked_bootstrap(db)?.as_deref() == Some(org);
        if !bootstrap_opens_it && active_keys(db, org)? <= 1 {
            return Err(ApiError::new(
                409,
                "last_key",
                "This is the organization's last active API key; revoking it would lock the organization out for good.",
                "Create another key first (POST /api/v1/orgs/me/keys {\"name\": \"…\"}), switch to it, then revoke this one.",
            )
            .with("key_id", json!(id)));
        }
        db.execute(
            "UPDATE keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL",
            &[int(crate::now()), text(id), text(org)],
        )?;
        Ok(key_json(&load_keys(db, org, Some(id))?, 0))
    })?;
    let own = caller.key_id.as_deref() == Some(id);
    let mut answer = json!({ "key": key, "revoked_calling_key": own });
    if own {
        answer["notice"] = json!(
            "This request's own key is now revoked: every further request with it gets 401. Continue with another key of the organization."
        );
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_contents() {
        let a = digest("sk_bootstrap_test_0123456789");
        let b = digest("sk_bootstrap_test_0123456789");
        let c = digest("sk_bootstrap_test_0123456788");
        assert!(constant_time_eq(&a, &b));
        assert!(!constant_time_eq(&a, &c));
        // A difference in the last byte only, and in the first byte only.
        let mut last = a;
        last[31] ^= 1;
        assert!(!constant_time_eq(&a, &last));
        let mut first = a;
        first[0] ^= 0x80;
        assert!(!constant_time_eq(&a, &first));
        assert!(!constant_time_eq(&a, &a[..31]));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn prefix_shows_sk_and_eight_characters() {
        assert_eq!(prefix("sk_AbCdEfGh1234567890abcdefghijklmn"), "sk_AbCdEfGh");
        assert_eq!(prefix("sk_short"), "sk_short");
        assert_eq!(prefix("operator-key-0123456789"), "operator");
        assert_eq!(prefix(""), "");
    }

    #[test]
    fn own_org_answers_404_alike_for_any_other_id() {
        let caller = Caller {
            org: "0a1b2c3d-0000-4000-8000-000000000001".into(),
            key_id: None,
            bootstrap: false,
        };
        assert_eq!(own_org(&caller, "me").unwrap(), caller.org);
        assert_eq!(own_org(&caller, &caller.org).unwrap(), caller.org);
        let other = own_org(&caller, "0a1b2c3d-0000-4000-8000-000000000002").unwrap_err();
        assert_eq!((other.status, other.code.as_str()), (404, "not_found"));
        assert_eq!(own_org(&caller, "x").unwrap_err().code, "malformed_id");
    }
}
