//! Short-lived Spaces keys: Spaces takes S3 keys, not the API token, and
//! DigitalOcean shows a key's secret only when it makes it, so each call
//! makes a key with the least grant it needs, uses it and deletes it. The
//! keys are named `skyport-temporary-<unix time>`; one left behind (a call
//! cut short) is deleted by the next call after ten minutes.

use digitalocean_api::types::{Error, Session};
use serde_json::json;
use spin_sdk::http::Method;

use crate::s3::detail;
use crate::sigv4::Credentials;

const PREFIX: &str = "skyport-temporary-";

/// How old a temporary key must be before another call deletes it.
const STALE_SECONDS: u64 = 600;

/// What a key may do.
pub enum Grant<'a> {
    /// Everything in the team, buckets made and listed included.
    Team,
    /// Read and write the objects of one bucket.
    ReadWrite(&'a str),
    /// All of one bucket, its deletion included.
    Bucket(&'a str),
}

fn grants(g: &Grant<'_>) -> serde_json::Value {
    let (bucket, permission) = match g {
        Grant::Team => ("", "fullaccess"),
        Grant::ReadWrite(b) => (*b, "readwrite"),
        Grant::Bucket(b) => (*b, "fullaccess"),
    };
    json!([{ "bucket": bucket, "permission": permission }])
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether a key of this name is one of Skyport's temporary keys made
/// before `cutoff`.
fn stale(name: &str, cutoff: u64) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|t| t.parse::<u64>().ok())
        .is_some_and(|t| t < cutoff)
}

/// Runs `f` with a key holding `grant`, deleting the key afterwards
/// whatever `f` answered.
pub fn with_key<T>(
    session: &Session,
    grant: Grant<'_>,
    f: impl FnOnce(&Credentials) -> Result<T, Error>,
) -> Result<T, Error> {
    sweep(session);
    // A key made by a try whose answer was lost is swept by its name.
    let made = digitalocean_api::call_repeatable(
        session,
        Method::Post,
        "/v2/spaces/keys",
        Some(json!({ "name": format!("{PREFIX}{}", now()), "grants": grants(&grant) })),
    )?;
    let key = &made["key"];
    let creds = Credentials {
        access_key: key["access_key"].as_str().unwrap_or_default().to_string(),
        secret_key: key["secret_key"].as_str().unwrap_or_default().to_string(),
    };
    let access =
        digitalocean_api::slug("Spaces access key", &creds.access_key.to_ascii_lowercase());
    if creds.secret_key.is_empty() || access.is_err() {
        // A key that was made but cannot be used is deleted at once when
        // its id can reach a URL, else swept by name later.
        if access.is_ok() {
            delete(session, &creds.access_key);
        }
        return Err(Error::Other(detail(
            "no_key",
            "DigitalOcean made a Spaces key but did not return its access key and secret.",
            None,
        )));
    }
    let result = f(&creds);
    delete(session, &creds.access_key);
    result
}

/// Deletes a key, trying twice; one that still stays is swept by a later
/// call. The answer of the call it served is not changed by this.
fn delete(session: &Session, access_key: &str) {
    let path = format!("/v2/spaces/keys/{access_key}");
    for _ in 0..2 {
        match digitalocean_api::call(session, Method::Delete, &path, None) {
            Ok(_) | Err(Error::NotFound(_)) => return,
            Err(_) => {}
        }
    }
}

/// Deletes temporary keys older than ten minutes. Best effort: a key that
/// cannot be listed or deleted now is tried again on the next call.
fn sweep(session: &Session) {
    let Ok(keys) = digitalocean_api::list(session, "/v2/spaces/keys", "keys") else {
        return;
    };
    let cutoff = now().saturating_sub(STALE_SECONDS);
    for k in keys {
        let name = k["name"].as_str().unwrap_or_default();
        let access = k["access_key"].as_str().unwrap_or_default();
        let checked = digitalocean_api::slug("Spaces access key", &access.to_ascii_lowercase());
        if stale(name, cutoff) && checked.is_ok() {
            let _ = digitalocean_api::call(
                session,
                Method::Delete,
                &format!("/v2/spaces/keys/{access}"),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skyports_old_temporary_keys_are_swept() {
        assert!(stale("skyport-temporary-100", 700));
        assert!(!stale("skyport-temporary-800", 700), "still in use");
        assert!(!stale("backups-key", 700), "not Skyport's");
        assert!(!stale("skyport-temporary-x", 700));
    }

    #[test]
    fn grants_are_the_least_each_call_needs() {
        assert_eq!(
            grants(&Grant::Team),
            json!([{ "bucket": "", "permission": "fullaccess" }])
        );
        assert_eq!(
            grants(&Grant::ReadWrite("b1")),
            json!([{ "bucket": "b1", "permission": "readwrite" }])
        );
    }
}
