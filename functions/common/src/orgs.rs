//! Organizations and their API keys. Every API call carries
//! `Authorization: Bearer <key>`; the key's SHA-256 is stored, never the key.
//! The first organization is created from the secret variable
//! `bootstrap_api_key` the first time that key is used.

use sha2::{Digest, Sha256};
use spin_sdk::http::Request;
use spin_sdk::sqlite::Connection;

use crate::api::ApiError;
use crate::db::{get_text, int, text};

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The organization the request's API key belongs to.
pub fn authenticate(db: &Connection, req: &Request) -> Result<String, ApiError> {
    let key = req
        .header("authorization")
        .and_then(|h| h.as_str())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(ApiError::unauthenticated)?;
    let h = hash(key);
    let found = db.execute(
        "SELECT org_id FROM api_keys WHERE key_hash = ?",
        &[text(&h)],
    )?;
    if let Some(org) = get_text(&found, 0, "org_id") {
        return Ok(org);
    }
    if crate::config::bootstrap_api_key().as_deref() == Some(key) {
        return bootstrap(db, &h);
    }
    Err(ApiError::unauthenticated())
}

/// Creates the first organization with the bootstrap key, once.
fn bootstrap(db: &Connection, key_hash: &str) -> Result<String, ApiError> {
    let org = crate::new_id();
    db.execute("BEGIN IMMEDIATE", &[])?;
    let existing = db.execute(
        "SELECT org_id FROM api_keys WHERE key_hash = ?",
        &[text(key_hash)],
    );
    if let Ok(r) = &existing {
        if let Some(org) = get_text(r, 0, "org_id") {
            db.execute("COMMIT", &[])?;
            return Ok(org);
        }
    }
    let result = db
        .execute(
            "INSERT INTO orgs (id, name, created_at) VALUES (?, 'default', ?)",
            &[text(&org), int(crate::now())],
        )
        .and_then(|_| {
            db.execute(
                "INSERT INTO api_keys (key_hash, org_id, created_at) VALUES (?, ?, ?)",
                &[text(key_hash), text(&org), int(crate::now())],
            )
        });
    match result {
        Ok(_) => {
            db.execute("COMMIT", &[])?;
            Ok(org)
        }
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(e.into())
        }
    }
}

/// Creates an organization with a fresh API key; returns (org id, key).
pub fn create(db: &Connection, name: &str) -> Result<(String, String), ApiError> {
    let org = crate::new_id();
    let key = format!("sk_{}", crate::random_token(24));
    db.execute(
        "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)",
        &[text(&org), text(name), int(crate::now())],
    )?;
    db.execute(
        "INSERT INTO api_keys (key_hash, org_id, created_at) VALUES (?, ?, ?)",
        &[text(&hash(&key)), text(&org), int(crate::now())],
    )?;
    Ok((org, key))
}
