//! The DigitalOcean Spaces plugin: `skyport:storage/stores` over Spaces
//! buckets. This file answers the contract — a store is a bucket (`region/
//! bucket`), a folder a key prefix in it; `s3.rs` sends signed S3 requests
//! and reads their answers, `keys.rs` makes the short-lived keys they are
//! signed with, and `sigv4.rs` signs.
//!
//! What Skyport deletes it proves it made: a set-up's token records whether
//! it created the bucket, and a discard removes only such a bucket, only
//! when nothing but Skyport's folder markers is left in it. A bucket the team
//! already had is read, never written.

mod keys;
mod s3;
mod sigv4;

wit_bindgen::generate!({
    path: "../../wit",
    world: "storage-plugin",
    generate_all,
    with: { "skyport:types/types@0.2.0": digitalocean_api::types },
});

use digitalocean_api::types::{Error, Session};
use exports::skyport::storage::stores::{Access, Guest, Operation, Store};
use keys::{with_key, Grant};
use s3::{detail, Space};
use serde_json::{json, Value};
use spin_sdk::http::Method;

struct Plugin;

export!(Plugin);

/// The state word of a bucket that answers.
const READY: &str = "Succeeded";

fn account(session: &Session, space: &Space) -> Store {
    Store {
        id: space.id(),
        name: space.bucket.clone(),
        region: space.region.clone(),
        endpoint: format!(
            "{}/{}/",
            s3::endpoint(&session.cloud.management, &space.region),
            space.bucket
        ),
        state: READY.into(),
    }
}

/// A set-up's token: the Space and whether this set-up created it.
fn token(space: &Space, created: bool) -> String {
    json!({ "space": space.id(), "created": created }).to_string()
}

fn read_token(t: &str) -> Result<(Space, bool), Error> {
    let v: Value = serde_json::from_str(t).map_err(|_| {
        Error::InvalidInput(detail(
            "invalid_token",
            "The operation token is not one this plugin made.",
            Some("token"),
        ))
    })?;
    let space = Space::parse(v["space"].as_str().unwrap_or_default())?;
    Ok((space, v["created"].as_bool().unwrap_or(false)))
}

fn done(session: &Session, space: &Space, created: bool) -> Operation {
    Operation {
        token: token(space, created),
        step: if created {
            "Space created".into()
        } else {
            "Using the team's Space".into()
        },
        done: true,
        store: Some(account(session, space)),
    }
}

/// Where a bucket is, asked with GetBucketLocation rather than HEAD: a HEAD
/// refusal has no body, so a key Spaces does not know yet could not be
/// told from a bucket another account holds.
enum Found {
    /// The team's, in this region.
    In(String),
    /// No such bucket.
    Nowhere,
    /// Another account's.
    Theirs,
}

fn find(
    session: &Session,
    creds: &sigv4::Credentials,
    region: &str,
    bucket: &str,
) -> Result<Found, Error> {
    let a = s3::location(session, creds, region, bucket)?;
    match (a.status, s3::code(&a.body).as_str()) {
        (200, _) => Ok(Found::In(s3::text(&a.body, "LocationConstraint"))),
        (404, "NoSuchBucket") => Ok(Found::Nowhere),
        (403, "AccessDenied") => Ok(Found::Theirs),
        _ => Err(s3::error(&a)),
    }
}

/// The name is the team's in another region, or another account's.
fn taken(name: &str, elsewhere: Option<&str>) -> Error {
    let message = match elsewhere {
        Some(r) => format!("A Space named `{name}` already exists in {r}."),
        None => format!("The bucket name `{name}` is taken by another DigitalOcean account; Spaces bucket names are unique across all of Spaces."),
    };
    // S3's own code for a bucket name someone holds; the target is what the
    // contract reads.
    Error::Conflict(detail("BucketAlreadyExists", &message, Some("name")))
}

/// A listing: each object's key and size, and the folders (common
/// prefixes) when listed with the delimiter.
struct Listing {
    keys: Vec<(String, u64)>,
    folders: Vec<String>,
}

/// Every key (and its size) under `prefix`, up to 5,000.
fn objects(
    session: &Session,
    creds: &sigv4::Credentials,
    space: &Space,
    prefix: &str,
    delimiter: bool,
) -> Result<Listing, Error> {
    let (mut keys, mut folders) = (Vec::new(), Vec::new());
    let mut next = String::new();
    for _ in 0..5 {
        let mut query = vec![("list-type", "2"), ("max-keys", "1000")];
        if delimiter {
            query.push(("delimiter", "/"));
        }
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if !next.is_empty() {
            query.push(("continuation-token", &next));
        }
        let a = space.send(session, creds, Method::Get, None, &query, b"")?;
        if a.status != 200 {
            return Err(s3::error(&a));
        }
        for c in a.body.split("<Contents>").skip(1) {
            let size = s3::text(c, "Size").parse().unwrap_or(0);
            keys.push((s3::text(c, "Key"), size));
        }
        for p in a.body.split("<CommonPrefixes>").skip(1) {
            folders.push(s3::text(p, "Prefix"));
        }
        if s3::text(&a.body, "IsTruncated") != "true" {
            return Ok(Listing { keys, folders });
        }
        next = s3::text(&a.body, "NextContinuationToken");
    }
    Err(Error::Other(detail(
        "too_many",
        "The Space holds more than 5,000 objects there; Skyport reads at most that many.",
        Some(&space.id()),
    )))
}

impl Guest for Plugin {
    fn list_stores(session: Session, scope: String) -> Result<Vec<Store>, Error> {
        digitalocean_api::team_in(&session, &scope)?;
        with_key(&session, Grant::Team, |creds| {
            let at = s3::LISTING_REGION;
            let a = s3::send(&session, creds, Method::Get, at, None, None, &[], b"")?;
            if a.status != 200 {
                return Err(s3::error(&a));
            }
            let mut out = Vec::new();
            for name in s3::texts(&a.body, "Name") {
                // A name with dots is not one Skyport can address safely.
                let Ok(bucket) = s3::bucket(&name) else {
                    continue;
                };
                let l = s3::location(&session, creds, at, &bucket)?;
                if l.status != 200 {
                    continue;
                }
                if let Ok(region) = s3::region(&s3::text(&l.body, "LocationConstraint")) {
                    out.push(account(&session, &Space { region, bucket }));
                }
            }
            Ok(out)
        })
    }

    fn check_name(session: Session, scope: String, name: String) -> Result<Option<String>, Error> {
        let bucket = s3::bucket(&name)?;
        digitalocean_api::team_in(&session, &scope)?;
        with_key(&session, Grant::Team, |creds| {
            Ok(match find(&session, creds, s3::LISTING_REGION, &bucket)? {
                Found::Nowhere => None,
                Found::In(region) => Some(format!(
                    "The team already has a Space named `{name}` (in {region}); it is used as it is in that region."
                )),
                Found::Theirs => Some(format!(
                    "The bucket name `{name}` is taken by another DigitalOcean account."
                )),
            })
        })
    }

    /// Makes the bucket in `region`, or uses the team's own of that name
    /// there as it is. DigitalOcean has no resource groups: the group is
    /// not used.
    fn create_store(
        session: Session,
        scope: String,
        _resource_group: String,
        name: String,
        region: String,
    ) -> Result<Operation, Error> {
        let space = Space {
            region: s3::region(&region)?,
            bucket: s3::bucket(&name)?,
        };
        digitalocean_api::team_in(&session, &scope)?;
        with_key(&session, Grant::Team, |creds| {
            match find(&session, creds, &space.region, &space.bucket)? {
                Found::In(r) if r == space.region => return Ok(done(&session, &space, false)),
                Found::In(r) => return Err(taken(&name, Some(&r))),
                Found::Theirs => return Err(taken(&name, None)),
                Found::Nowhere => {}
            }
            let made = space.send(&session, creds, Method::Put, None, &[], b"")?;
            match (made.status, s3::code(&made.body).as_str()) {
                (200, _) => Ok(done(&session, &space, true)),
                // Made meanwhile by the team itself: used as it is.
                (409, "BucketAlreadyOwnedByYou") => {
                    match find(&session, creds, &space.region, &space.bucket)? {
                        Found::In(r) if r == space.region => Ok(done(&session, &space, false)),
                        Found::In(r) => Err(taken(&name, Some(&r))),
                        _ => Err(taken(&name, Some("another region"))),
                    }
                }
                (409, "BucketAlreadyExists") => Err(taken(&name, None)),
                _ => Err(s3::error(&made)),
            }
        })
    }

    /// A bucket is made at once: this reads that it is still there.
    fn advance(session: Session, token: String) -> Result<Operation, Error> {
        let (space, created) = read_token(&token)?;
        with_key(
            &session,
            Grant::ReadWrite(&space.bucket),
            |creds| match find(&session, creds, &space.region, &space.bucket)? {
                Found::In(_) => Ok(done(&session, &space, created)),
                _ => Err(Error::NotFound(detail(
                    "NoSuchBucket",
                    &format!(
                        "The Space `{}` in {} no longer exists.",
                        space.bucket, space.region
                    ),
                    Some(&space.id()),
                ))),
            },
        )
    }

    /// Deletes the bucket only when this set-up made it and nothing but
    /// Skyport's folder markers and probes is in it.
    fn discard(session: Session, token: String) -> Result<(), Error> {
        let (space, created) = read_token(&token)?;
        if !created {
            return Ok(());
        }
        with_key(&session, Grant::Bucket(&space.bucket), |creds| {
            let keys = match objects(&session, creds, &space, "", false) {
                Err(Error::NotFound(_)) => return Ok(()),
                r => r?.keys,
            };
            let kept = || {
                Err(Error::Conflict(detail(
                    "BucketNotEmpty",
                    &format!(
                        "The Space `{}` holds objects Skyport did not write; it is kept.",
                        space.bucket
                    ),
                    Some(&space.id()),
                )))
            };
            if !keys.iter().all(|(k, size)| is_skyports(k, *size)) {
                return kept();
            }
            for (k, _) in &keys {
                let a = space.send(&session, creds, Method::Delete, Some(k), &[], b"")?;
                if !matches!(a.status, 200 | 204 | 404) {
                    return Err(s3::error(&a));
                }
            }
            let a = space.send(&session, creds, Method::Delete, None, &[], b"")?;
            match a.status {
                200 | 204 | 404 => Ok(()),
                // Something was written meanwhile: it stays.
                409 => kept(),
                _ => Err(s3::error(&a)),
            }
        })
    }

    /// The folders at the bucket's top.
    fn list_folders(session: Session, account_id: String) -> Result<Vec<String>, Error> {
        let space = Space::parse(&account_id)?;
        with_key(&session, Grant::ReadWrite(&space.bucket), |creds| {
            let listing = objects(&session, creds, &space, "", true)?;
            Ok(listing
                .folders
                .iter()
                .map(|f| f.trim_end_matches('/').to_string())
                .collect())
        })
    }

    /// A folder marker (`name/`, empty), unless the folder is already there.
    fn create_folder(session: Session, account_id: String, name: String) -> Result<(), Error> {
        let space = Space::parse(&account_id)?;
        let marker = format!("{}/", s3::folder(&name)?);
        with_key(&session, Grant::ReadWrite(&space.bucket), |creds| {
            if !objects(&session, creds, &space, &marker, false)?
                .keys
                .is_empty()
            {
                return Ok(());
            }
            let a = space.send(&session, creds, Method::Put, Some(&marker), &[], b"")?;
            if a.status == 200 {
                Ok(())
            } else {
                Err(s3::error(&a))
            }
        })
    }

    /// Writes, reads back and deletes a probe object in the folder, with a
    /// key that may touch this bucket alone.
    fn verify_access(
        session: Session,
        account_id: String,
        container: String,
    ) -> Result<Access, Error> {
        let space = Space::parse(&account_id)?;
        let folder = s3::folder(&container)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let probe = format!("{folder}/skyport-probe-{stamp:x}");
        let body = format!("Skyport access check {stamp:x}");
        with_key(&session, Grant::ReadWrite(&space.bucket), |creds| {
            let send = |m: Method, b: &[u8]| space.send(&session, creds, m, Some(&probe), &[], b);
            // Only the bucket's own refusals fail the check; anything else
            // (Skyport's short-lived key not yet known, a clock, an outage)
            // is an error of the call, tried again later.
            let refused = |what: &str, a: &s3::Answer| -> Result<Access, Error> {
                match s3::code(&a.body).as_str() {
                    "AccessDenied" | "NoSuchBucket" | "NoSuchKey" => {
                        Ok(Access::Failed(format!("{what}: {}", s3::message(a))))
                    }
                    _ => Err(s3::error(a)),
                }
            };
            let put = send(Method::Put, body.as_bytes())?;
            if put.status != 200 {
                return refused("writing a probe object failed", &put);
            }
            // The probe is deleted whatever the read answered: it must not
            // stay in the team's bucket.
            let got = send(Method::Get, b"");
            let deleted = send(Method::Delete, b"")?;
            let got = got?;
            let read_back = got.status == 200 && got.body == body;
            if got.status != 200 {
                return refused("reading the probe object back failed", &got);
            }
            if !read_back {
                return Ok(Access::Failed(
                    "the probe object read back differs from what was written".into(),
                ));
            }
            if !matches!(deleted.status, 200 | 204) {
                return refused("deleting the probe object failed", &deleted);
            }
            Ok(Access::Verified)
        })
    }
}

/// What Skyport leaves in a bucket it made: empty folder markers and probes.
fn is_skyports(key: &str, size: u64) -> bool {
    (key.ends_with('/') && size == 0)
        || key
            .rsplit('/')
            .next()
            .is_some_and(|k| k.starts_with("skyport-probe-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_says_which_space_and_whether_it_was_made() {
        let space = Space::parse("ams3/skyport-backups").unwrap();
        assert_eq!(
            read_token(&token(&space, true)).unwrap(),
            (space.clone(), true)
        );
        assert_eq!(read_token(&token(&space, false)).unwrap(), (space, false));
        assert!(read_token("{\"space\":\"ams3/../x\",\"created\":true}").is_err());
        assert!(read_token("not json").is_err());
    }

    #[test]
    fn only_markers_and_probes_are_skyports() {
        assert!(is_skyports("backups/", 0));
        assert!(is_skyports("backups/skyport-probe-1f", 30));
        assert!(
            !is_skyports("backups/", 12),
            "a non-empty object with a slash name"
        );
        assert!(!is_skyports("backups/site.tar.gz", 100));
    }
}
