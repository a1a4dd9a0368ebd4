//! A deleted account's grant, revoked at its provider (RFC 7009): owed in
//! the transaction that deletes the account, so neither a crash nor an
//! unreachable provider loses it, then revoked by an instance of the
//! account's own provider — at once by the delete when it can, else by the
//! accounts' upkeep, with backoff, until the provider has answered.
//!
//! A provider offers revocation through the `revocation_url` variable of
//! its instances; without one (not every identity platform revokes on an
//! app's request) there is nothing to revoke and the owed row simply goes.
//! An API token is the user's own and is never revoked: the user deletes it.

use crate::api::ApiError;
use crate::config::{get, Config};
use crate::crypto::Keys;
use crate::db::{get_int, get_text, int, text};
use crate::oauth::Tokens;
use spin_sdk::sqlite::Connection;

/// How a revocation ended, or that it has not.
#[derive(Debug, PartialEq)]
pub enum Settled {
    /// The provider revoked the grant.
    Revoked,
    /// Nothing to revoke: an API token, or a provider without revocation.
    Nothing,
    /// The provider refused it for good (its words); nothing is retried.
    Refused(String),
    /// Not yet (the provider was unreachable or busy): tried again later.
    Later,
}

/// Attempts before a revocation is given up: with [`backoff`], about 29
/// hours of the provider not answering.
const ATTEMPTS: i64 = 16;

/// Records that account `id`'s grant is owed a revocation; in the
/// transaction that deletes the account, before it does.
pub fn owe(db: &Connection, id: &str) -> Result<(), ApiError> {
    db.execute(
        "INSERT OR REPLACE INTO revocations (account_id, org_id, provider, tokens, created_at, attempts, next_at)
         SELECT id, org_id, provider, tokens, ?1, 0, ?1 FROM accounts WHERE id = ?2 AND tokens != ''",
        &[int(crate::now()), text(id)],
    )?;
    Ok(())
}

/// Revokes what account `id` is owed, if this instance serves its provider.
pub async fn settle(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    id: &str,
) -> Result<Settled, ApiError> {
    let r = db.execute(
        "SELECT org_id, provider, tokens, attempts FROM revocations WHERE account_id = ?",
        &[text(id)],
    )?;
    let (Some(org), Some(provider)) = (get_text(&r, 0, "org_id"), get_text(&r, 0, "provider"))
    else {
        return Ok(Settled::Nothing);
    };
    if provider != cfg.provider.id {
        return Ok(Settled::Later);
    }
    let sealed = get_text(&r, 0, "tokens").unwrap_or_default();
    let tokens = keys
        .open(&sealed, id)
        .ok()
        .and_then(|plain| serde_json::from_slice::<Tokens>(&plain).ok());
    let url = get("revocation_url");
    let settled = match (tokens, url) {
        (Some(t), Some(url)) if !t.api_token => revoke(cfg, &url, &t).await,
        _ => Settled::Nothing,
    };
    match &settled {
        Settled::Later => {
            let attempts = get_int(&r, 0, "attempts").unwrap_or(0) + 1;
            if attempts >= ATTEMPTS {
                crate::db::event(
                    db,
                    Some(&org),
                    "revocation_abandoned",
                    &format!("account {id}: the provider did not answer {ATTEMPTS} revocations"),
                );
                forget(db, id)?;
            } else {
                db.execute(
                    "UPDATE revocations SET attempts = ?, next_at = ? WHERE account_id = ?",
                    &[
                        int(attempts),
                        int(crate::now() + backoff(attempts)),
                        text(id),
                    ],
                )?;
            }
        }
        Settled::Refused(why) => {
            crate::db::event(
                db,
                Some(&org),
                "revocation_refused",
                &format!("account {id}: {why}"),
            );
            forget(db, id)?;
        }
        Settled::Revoked | Settled::Nothing => forget(db, id)?,
    }
    Ok(settled)
}

/// Revokes the owed grants of this instance's provider that are due, at
/// most `limit` of them; how many the provider revoked.
pub async fn settle_due(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    limit: i64,
) -> Result<i64, ApiError> {
    let r = db.execute(
        "SELECT account_id FROM revocations WHERE provider = ? AND next_at <= ? ORDER BY next_at LIMIT ?",
        &[text(&cfg.provider.id), int(crate::now()), int(limit)],
    )?;
    let mut revoked = 0;
    for i in 0..r.rows.len() {
        let id = get_text(&r, i, "account_id").unwrap_or_default();
        if settle(db, cfg, keys, &id).await? == Settled::Revoked {
            revoked += 1;
        }
    }
    Ok(revoked)
}

fn forget(db: &Connection, id: &str) -> Result<(), ApiError> {
    db.execute("DELETE FROM revocations WHERE account_id = ?", &[text(id)])?;
    Ok(())
}

/// Seconds before the attempt after `n` failed ones: ten, doubling, at
/// most six hours.
fn backoff(n: i64) -> i64 {
    (5_i64 << n.clamp(0, 13)).min(6 * 3600)
}

/// One RFC 7009 request: the refresh token (which ends the whole grant)
/// or, without one, the access token; the app's credentials in the form
/// (RFC 6749 §2.3.1) and the access token as the bearer, which providers
/// that authorize revocations by the grant's own token ask for.
async fn revoke(cfg: &Config, url: &str, t: &Tokens) -> Settled {
    let (token, hint) = match &t.refresh_token {
        Some(r) => (r.as_str(), "refresh_token"),
        None => (t.access_token.as_str(), "access_token"),
    };
    let mut form = oauth2::url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token)
        .append_pair("token_type_hint", hint);
    if !cfg.client_id.is_empty() {
        form.append_pair("client_id", &cfg.client_id)
            .append_pair("client_secret", &cfg.client_secret);
    }
    let request = spin_sdk::http::Request::builder()
        .method(spin_sdk::http::Method::Post)
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {}", t.access_token))
        .body(form.finish())
        .build();
    match spin_sdk::http::send::<_, spin_sdk::http::Response>(request).await {
        Ok(r) => outcome(*r.status(), r.body()),
        Err(_) => Settled::Later,
    }
}

/// What the revocation endpoint's answer means: 200 revoked (RFC 7009
/// answers 200 for a token it no longer knows, too); 429 and 5xx not yet;
/// anything else refused, in the provider's words when it gave some.
fn outcome(status: u16, body: &[u8]) -> Settled {
    match status {
        200..=299 => Settled::Revoked,
        429 | 500..=599 => Settled::Later,
        _ => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let words = ["error_description", "message", "error"]
                .iter()
                .find_map(|k| v[k].as_str())
                .unwrap_or("no reason given");
            Settled::Refused(format!("revocation refused ({status}): {words}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_revoked_later_or_refused() {
        assert_eq!(outcome(200, b"{}"), Settled::Revoked);
        assert_eq!(outcome(503, b""), Settled::Later);
        assert_eq!(outcome(429, b""), Settled::Later);
        assert_eq!(
            outcome(403, br#"{"error":"unauthorized_client","error_description":"You are not authorized to revoke this token"}"#),
            Settled::Refused("revocation refused (403): You are not authorized to revoke this token".into())
        );
        assert_eq!(
            outcome(400, b"not json"),
            Settled::Refused("revocation refused (400): no reason given".into())
        );
    }

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(backoff(1), 10);
        assert_eq!(backoff(2), 20);
        assert_eq!(backoff(10), 5120);
        assert_eq!(backoff(12), 20480);
        assert_eq!(backoff(13), 6 * 3600);
        assert_eq!(backoff(ATTEMPTS), 6 * 3600);
    }
}
