//! The blob data plane front door, `/{account}/{container}/{blob}` (the
//! path style Azurite and the storage SDKs use for local endpoints, from which
//! the SDKs derive the account name) and the older `/_blob/{account}/…`: it
//! enforces the account's network rules (403 AuthorizationFailure, as the
//! storage firewall answers), checks SharedKey signatures against the keys
//! ARM's listKeys hands out, then serves the request from Azurite when one is
//! configured, or from a small in-memory store otherwise.
//!
//! The in-memory store answers as the Blob service does where clients look:
//! ranged GETs (`x-ms-range` or `Range`: 206 with `Content-Range`, 416
//! `InvalidRange` past the end), `ETag` / `Last-Modified` / `Content-Length` /
//! `x-ms-blob-type` on GET and HEAD, conditional headers, and container
//! listings at the account root (`?comp=list`, answered from the emulator's
//! own containers with or without Azurite).
//!
//! Clients sign the path they send, so the canonical resource is
//! `/{account}/{account}/…` here, as against Azurite's path-style URLs.

use std::net::IpAddr;

use bytes::Bytes;
use http::Method;

use crate::arm::storage::{find_account, valid_container_name, CONTAINER};
use crate::http::{Req, Resp};
use crate::sharedkey;
use crate::state::{guid, State};

/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub(crate) fn xml_error(status: u16, code: &str, message: &str, extra: &str) -> Resp {
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:{}\nTime:{}</Message>{extra}</Error>",
        guid(),
        crate::state::iso_now()
    );
    Resp::new(status)
        .header("content-type", "application/xml")
        .header("x-ms-error-code", code)
        .header("x-ms-request-id", guid())
        .body(body)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the front door decided under the lock.
pub enum Plan {
    Answer(Resp),
    /// Forward to Azurite, after making sure the container behind it exists
    /// (containers made through ARM exist only in the emulator until then).
    Forward {
        url: String,
        headers: Vec<(String, String)>,
        method: Method,
        body: Bytes,
        container: Option<(String, String)>,
    },
}

fn firewall_allows(acls: &serde_json::Value, ip: IpAddr) -> bool {
    if acls["defaultAction"].as_str() != Some("Deny") {
        return true;
    }
    acls["ipRules"].as_array().is_some_and(|rules| {
        rules.iter().any(|r| {
            let v = r["value"].as_str().unwrap_or("");
            v.parse::<IpAddr>().is_ok_and(|a| a == ip)
                || v.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip))
        })
    })
}

/// The Azurite container that stands for `account/container`.
fn azurite_container(account: &str, container: &str) -> String {
    let name = format!("{account}-{container}");
    if name.len() <= 63 {
        return name;
    }
    let digest = sharedkey::sign("c2lt", &name)
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    format!(
        "{}-{}",
        &account[..account.len().min(20)],
        &digest[..20.min(digest.len())]
    )
}

/// Splits a front-door path into the endpoint's prefix (`""` or `"/_blob"`)
/// and what follows it (`{account}/{container}/{blob}`).
fn split_endpoint(path: &str) -> (&'static str, &str) {
    let rest = path.trim_start_matches('/');
    match rest.strip_prefix("_blob") {
        Some(r) if r.is_empty() || r.starts_with('/') => ("/_blob", r.trim_start_matches('/')),
        _ => ("", rest),
    }
}

/// Whether a request that is not an identity request is for the blob
/// service: under `/_blob/`, or under a storage account's name without ARM's
/// `api-version` (every ARM request carries one; no blob request does).
pub fn is_blob_request(state: &State, req: &Req) -> bool {
    let (prefix, rest) = split_endpoint(&req.path);
    if !prefix.is_empty() {
        return true;
    }
    let first = rest.split('/').next().unwrap_or("");
    req.q("api-version").is_none() && !first.is_empty() && find_account(state, first).is_some()
}

/// The account's blob endpoint as this request addressed it.
fn service_endpoint(state: &State, req: &Req, account: &str) -> String {
    let (prefix, _) = split_endpoint(&req.path);
    format!("{}{prefix}/{account}/", state.base_url)
}

/// Decides how to answer a front-door request.
pub fn plan(state: &mut State, req: &Req) -> Plan {
    let (_, rest) = split_endpoint(&req.path);
    let segments: Vec<&str> = rest.splitn(3, '/').collect();
    let account = segments.first().copied().unwrap_or("");
    let container = segments.get(1).copied().unwrap_or("");
    let blob = segments.get(2).copied().unwrap_or("");
    let Some(acct) = find_account(state, account).cloned() else {
        return Plan::Answer(xml_error(
            404,
            "ResourceNotFound",
            "The specified resource does not exist.",
            "",
        ));
    };
    let props = &acct.body["properties"];
    if !firewall_allows(&props["networkAcls"], req.peer.ip())
        || props["publicNetworkAccess"].as_str() == Some("Disabled")
    {
        return Plan::Answer(xml_error(
            403,
            "AuthorizationFailure",
            "This request is not authorized to perform this operation.",
            "",
        ));
    }

    // SharedKey: the client signs exactly what it sent.
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let Some(auth) = req.header("authorization") else {
        return Plan::Answer(xml_error(401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", ""));
    };
    if req.header("x-ms-version").is_none() {
        return Plan::Answer(xml_error(
            400,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified.",
            "<HeaderName>x-ms-version</HeaderName>",
        ));
    }
    if props["allowSharedKeyAccess"] == false {
        return Plan::Answer(xml_error(
            403,
            "KeyBasedAuthenticationNotPermitted",
            "Key based authentication is not permitted on this storage account.",
            "",
        ));
    }
    let sts = sharedkey::string_to_sign(
        req.method.as_str(),
        &headers,
        account,
        &req.path,
        &req.query,
    );
    let keys = state.storage_keys.get(account).cloned().unwrap_or_default();
    let signed_ok = auth
        .strip_prefix("SharedKey ")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(name, sig)| {
            name == account
                && keys
                    .iter()
                    .any(|k| sharedkey::sign(k, &sts).as_deref() == Some(sig))
        });
    if !signed_ok {
        let detail = format!("<AuthenticationErrorDetail>The MAC signature found in the HTTP request is not the same as any computed signature. Server used following string to sign: '{}'.</AuthenticationErrorDetail>", escape(&sts));
        return Plan::Answer(xml_error(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", &detail));
    }

    if container.is_empty() {
        return Plan::Answer(account_level(state, req, &acct, account));
    }
    let container_id = format!("{}/blobServices/default/containers/{container}", acct.id);
    let restype = req.q("restype").unwrap_or("");
    let comp = req.q("comp").unwrap_or("");
    // Creating a container through the data plane makes it visible to ARM too.
    if req.method == Method::PUT && restype == "container" && blob.is_empty() {
        if !valid_container_name(container) {
            return Plan::Answer(xml_error(
                400,
                "InvalidResourceName",
                "The specified resource name contains invalid characters.",
                "",
            ));
        }
        if state.resource(&container_id).is_some() {
            return Plan::Answer(xml_error(
                409,
                "ContainerAlreadyExists",
                "The specified container already exists.",
                "",
            ));
        }
        let body = crate::arm::storage::container_json(&acct.id, container, "None");
        state.resources.insert(
            container_id.to_ascii_lowercase(),
            crate::state::Resource {
                id: container_id.clone(),
                kind: CONTAINER.into(),
                subscription: acct.subscription.clone(),
                resource_group: acct.resource_group.clone(),
                body,
            },
        );
    } else if state.resource(&container_id).is_none() {
        return Plan::Answer(xml_error(
            404,
            "ContainerNotFound",
            "The specified container does not exist.",
            "",
        ));
    }
    if req.method == Method::DELETE && restype == "container" && blob.is_empty() {
        state.resources.remove(&container_id.to_ascii_lowercase());
    }

    if let Some(azurite) = state.world.settings.azurite_url.clone() {
        let mapped = azurite_container(account, container);
        let path = if blob.is_empty() {
            format!("/{AZURITE_ACCOUNT}/{mapped}")
        } else {
            format!("/{AZURITE_ACCOUNT}/{mapped}/{blob}")
        };
        let mut fwd: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case("host")
            })
            .collect();
        let sts = sharedkey::string_to_sign(
            req.method.as_str(),
            &fwd,
            AZURITE_ACCOUNT,
            &path,
            &req.query,
        );
        let sig = sharedkey::sign(AZURITE_KEY, &sts).unwrap_or_default();
        fwd.push((
            "authorization".into(),
            format!("SharedKey {AZURITE_ACCOUNT}:{sig}"),
        ));
        let query = if req.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", req.raw_query)
        };
        let ensure = (!blob.is_empty()).then(|| {
            (
                azurite.trim_end_matches('/').to_string(),
                format!("/{AZURITE_ACCOUNT}/{mapped}"),
            )
        });
        return Plan::Forward {
            url: format!("{}{path}{query}", azurite.trim_end_matches('/')),
            headers: fwd,
            method: req.method.clone(),
            body: req.body.clone(),
            container: ensure,
        };
    }
    Plan::Answer(in_memory(
        state, req, account, container, blob, restype, comp,
    ))
}

/// An HTTP date (RFC 1123), as the Blob service writes `Last-Modified`.
fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A new ETag in the Blob service's style, quoted.
fn new_etag() -> String {
    format!(
        "\"0x8D{}\"",
        &guid().replace('-', "")[..13].to_ascii_uppercase()
    )
}

/// What a `x-ms-range` (preferred) or `Range` header asks of a blob of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No range, or one the service ignores: the whole blob.
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Starts at or past the end: 416 InvalidRange.
    Unsatisfiable,
}

/// Reads `bytes=a-b` or `bytes=a-`; `b` past the end is cut to the end.
pub fn byte_range(spec: Option<&str>, len: u64) -> ByteRange {
    let Some(r) = spec.and_then(|s| s.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    let Some((a, b)) = r.split_once('-') else {
        return ByteRange::Whole;
    };
    let Ok(start) = a.trim().parse::<u64>() else {
        return ByteRange::Whole;
    };
    let end = match b.trim() {
        "" => None,
        e => match e.parse::<u64>() {
            Ok(e) if e >= start => Some(e),
            _ => return ByteRange::Whole,
        },
    };
    if start >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part(start, end.map_or(len - 1, |e| e.min(len - 1)))
}

fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .any(|t| t.trim() == "*" || t.trim() == etag)
}

/// Percent-decodes a blob name as it appears in the path.
fn decode_name(raw: &str) -> String {
    String::from_utf8(crate::http::percent_decode(raw)).unwrap_or_else(|_| raw.to_string())
}

/// Requests on the account itself: list containers, account information.
fn account_level(state: &State, req: &Req, acct: &crate::state::Resource, account: &str) -> Resp {
    let comp = req.q("comp").unwrap_or("");
    let restype = req.q("restype").unwrap_or("");
    match (&req.method, restype, comp) {
        (&Method::GET, _, "list") => list_containers(state, req, acct, account),
        (&Method::GET | &Method::HEAD, "account", "properties") => Resp::new(200)
            .header(
                "x-ms-sku-name",
                acct.body["sku"]["name"]
                    .as_str()
                    .unwrap_or("Standard_LRS")
                    .to_string(),
            )
            .header(
                "x-ms-account-kind",
                acct.body["kind"].as_str().unwrap_or("StorageV2").to_string(),
            )
            .header("x-ms-is-hns-enabled", "false"),
        _ => xml_error(
            400,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid.",
            &format!(
                "<QueryParameterName>comp</QueryParameterName><QueryParameterValue>{}</QueryParameterValue><Reason />",
                escape(comp)
            ),
        ),
    }
}

/// `GET /{account}/?comp=list`: the account's containers, in the Blob
/// service's `EnumerationResults` shape, with `prefix`, `marker` and
/// `maxresults`. Listings carry ETags unquoted, as the service writes them.
fn list_containers(state: &State, req: &Req, acct: &crate::state::Resource, account: &str) -> Resp {
    let under = format!("{}/blobservices/default/containers/", acct.id).to_ascii_lowercase();
    let mut containers: Vec<&crate::state::Resource> = state
        .resources
        .iter()
        .filter(|(k, r)| k.starts_with(&under) && r.kind == CONTAINER)
        .map(|(_, r)| r)
        .collect();
    containers.sort_by(|a, b| a.body["name"].as_str().cmp(&b.body["name"].as_str()));
    let prefix = req.q("prefix").unwrap_or("");
    let marker = req.q("marker").unwrap_or("");
    let max: usize = req
        .q("maxresults")
        .and_then(|m| m.parse().ok())
        .filter(|m| *m > 0)
        .unwrap_or(5000);
    let names: Vec<(&str, &crate::state::Resource)> = containers
        .iter()
        .filter_map(|r| r.body["name"].as_str().map(|n| (n, *r)))
        .filter(|(n, _)| n.starts_with(prefix) && *n >= marker)
        .collect();
    let (page, rest) = names.split_at(names.len().min(max));
    let items: String = page
        .iter()
        .map(|(name, r)| {
            let p = &r.body["properties"];
            let modified = p["lastModifiedTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(chrono::Utc::now);
            let etag = r.body["etag"].as_str().unwrap_or("\"0x8D0000000000000\"");
            let public = match p["publicAccess"].as_str() {
                Some("Container") => "<PublicAccess>container</PublicAccess>",
                Some("Blob") => "<PublicAccess>blob</PublicAccess>",
                _ => "",
            };
            format!(
                "<Container><Name>{}</Name><Properties><Last-Modified>{}</Last-Modified><Etag>{}</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>{public}<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold></Properties></Container>",
                escape(name),
                http_date(modified),
                escape(etag.trim_matches('"'))
            )
        })
        .collect();
    let opt = |tag: &str, v: &str| {
        if v.is_empty() {
            String::new()
        } else {
            format!("<{tag}>{}</{tag}>", escape(v))
        }
    };
    let next = rest
        .first()
        .map(|(n, _)| format!("<NextMarker>{}</NextMarker>", escape(n)))
        .unwrap_or_else(|| "<NextMarker />".to_string());
    let max_tag = req
        .q("maxresults")
        .map(|m| format!("<MaxResults>{}</MaxResults>", escape(m)))
        .unwrap_or_default();
    Resp::new(200)
        .header("content-type", "application/xml")
        .body(format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}\">{}{}{max_tag}<Containers>{items}</Containers>{next}</EnumerationResults>",
            service_endpoint(state, req, account),
            opt("Prefix", prefix),
            opt("Marker", marker),
        ))
}

fn blob_not_found() -> Resp {
    xml_error(
        404,
        "BlobNotFound",
        "The specified blob does not exist.",
        "",
    )
}

fn condition_not_met() -> Resp {
    xml_error(
        412,
        "ConditionNotMet",
        "The condition specified using HTTP conditional header(s) is not met.",
        "",
    )
}

fn in_memory(
    state: &mut State,
    req: &Req,
    account: &str,
    container: &str,
    blob: &str,
    restype: &str,
    comp: &str,
) -> Resp {
    let blob = decode_name(blob);
    let key = (account.to_string(), container.to_string(), blob.clone());
    let now = chrono::Utc::now();
    match (&req.method, blob.is_empty()) {
        (&Method::PUT, true) if restype == "container" => Resp::new(201)
            .header("etag", new_etag())
            .header("last-modified", http_date(now)),
        (&Method::GET | &Method::HEAD, true) if restype == "container" && comp.is_empty() => {
            Resp::new(200)
                .header("etag", new_etag())
                .header("last-modified", http_date(now))
                .header("x-ms-lease-status", "unlocked")
                .header("x-ms-lease-state", "available")
                .header("x-ms-has-immutability-policy", "false")
                .header("x-ms-has-legal-hold", "false")
        }
        (&Method::DELETE, true) if restype == "container" => {
            state
                .blobs
                .retain(|(a, c, _), _| !(a == account && c == container));
            Resp::new(202)
        }
        (&Method::GET, true) if comp == "list" => {
            let prefix = req.q("prefix").unwrap_or("");
            let names: String = state
                .blobs
                .iter()
                .filter(|((a, c, b), _)| a == account && c == container && b.starts_with(prefix))
                .map(|((_, _, b), stored)| format!(
                    "<Blob><Name>{}</Name><Properties><Creation-Time>{}</Creation-Time><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>",
                    escape(b),
                    http_date(stored.created),
                    http_date(stored.last_modified),
                    escape(stored.etag.trim_matches('"')),
                    stored.data.len(),
                    escape(&stored.content_type),
                ))
                .collect();
            let prefix_tag = if prefix.is_empty() {
                String::new()
            } else {
                format!("<Prefix>{}</Prefix>", escape(prefix))
            };
            Resp::new(200).header("content-type", "application/xml").body(format!(
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}\" ContainerName=\"{container}\">{prefix_tag}<Blobs>{names}</Blobs><NextMarker /></EnumerationResults>",
                service_endpoint(state, req, account)
            ))
        }
        (&Method::PUT, false) => {
            if req.header("x-ms-blob-type") != Some("BlockBlob") {
                return xml_error(
                    400,
                    "MissingRequiredHeader",
                    "An HTTP header that's mandatory for this request is not specified.",
                    "<HeaderName>x-ms-blob-type</HeaderName>",
                );
            }
            let existing = state.blobs.get(&key);
            if let Some(cond) = req.header("if-none-match") {
                if existing.is_some_and(|b| etag_matches(cond, &b.etag)) {
                    return if cond.trim() == "*" {
                        xml_error(
                            409,
                            "BlobAlreadyExists",
                            "The specified blob already exists.",
                            "",
                        )
                    } else {
                        condition_not_met()
                    };
                }
            }
            if let Some(cond) = req.header("if-match") {
                if !existing.is_some_and(|b| etag_matches(cond, &b.etag)) {
                    return condition_not_met();
                }
            }
            let content_type = req
                .header("x-ms-blob-content-type")
                .or_else(|| req.header("content-type"))
                .filter(|t| !t.is_empty())
                .unwrap_or("application/octet-stream")
                .to_string();
            let created = existing.map_or(now, |b| b.created);
            let etag = new_etag();
            state.blobs.insert(
                key,
                crate::state::StoredBlob {
                    data: req.body.to_vec(),
                    etag: etag.clone(),
                    created,
                    last_modified: now,
                    content_type,
                },
            );
            Resp::new(201)
                .header("etag", etag)
                .header("last-modified", http_date(now))
                .header("x-ms-request-server-encrypted", "true")
        }
        (&Method::GET | &Method::HEAD, false) => {
            let Some(stored) = state.blobs.get(&key) else {
                return blob_not_found();
            };
            if let Some(cond) = req.header("if-match") {
                if !etag_matches(cond, &stored.etag) {
                    return condition_not_met();
                }
            }
            if let Some(cond) = req.header("if-none-match") {
                if etag_matches(cond, &stored.etag) {
                    return Resp::new(304)
                        .header("etag", stored.etag.clone())
                        .header("last-modified", http_date(stored.last_modified));
                }
            }
            let total = stored.data.len() as u64;
            let head = req.method == Method::HEAD;
            let mut r = Resp::new(200)
                .header("content-type", stored.content_type.clone())
                .header("etag", stored.etag.clone())
                .header("last-modified", http_date(stored.last_modified))
                .header("x-ms-creation-time", http_date(stored.created))
                .header("x-ms-blob-type", "BlockBlob")
                .header("accept-ranges", "bytes")
                .header("x-ms-lease-status", "unlocked")
                .header("x-ms-lease-state", "available")
                .header("x-ms-server-encrypted", "true");
            if head {
                return r
                    .header("content-length", total.to_string())
                    .header("x-ms-access-tier", "Hot")
                    .header("x-ms-access-tier-inferred", "true");
            }
            let spec = req.header("x-ms-range").or_else(|| req.header("range"));
            match byte_range(spec, total) {
                ByteRange::Whole => r
                    .header("content-length", total.to_string())
                    .body(stored.data.clone()),
                ByteRange::Part(a, b) => {
                    let part = stored.data[a as usize..=b as usize].to_vec();
                    r.status = http::StatusCode::PARTIAL_CONTENT;
                    r.header("content-range", format!("bytes {a}-{b}/{total}"))
                        .header("content-length", part.len().to_string())
                        .body(part)
                }
                ByteRange::Unsatisfiable => xml_error(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                    "",
                )
                .header("content-range", format!("bytes */{total}")),
            }
        }
        (&Method::DELETE, false) => match state.blobs.remove(&key) {
            Some(_) => Resp::new(202).header("x-ms-delete-type-permanent", "true"),
            None => blob_not_found(),
        },
        _ => xml_error(
            400,
            "UnsupportedHttpVerb",
            "The resource doesn't support specified Http Verb.",
            "",
        ),
    }
}

/// Creates a container in Azurite unless it exists (409 is fine).
pub async fn ensure_container(base: &str, path: &str) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut headers = vec![
        ("x-ms-date".to_string(), date),
        ("x-ms-version".to_string(), "2025-01-05".to_string()),
    ];
    let query = vec![("restype".to_string(), "container".to_string())];
    let sts = sharedkey::string_to_sign("PUT", &headers, AZURITE_ACCOUNT, path, &query);
    headers.push((
        "authorization".into(),
        format!(
            "SharedKey {AZURITE_ACCOUNT}:{}",
            sharedkey::sign(AZURITE_KEY, &sts).unwrap_or_default()
        ),
    ));
    let _ = forward(
        &format!("{base}{path}?restype=container"),
        headers,
        Method::PUT,
        Bytes::new(),
    )
    .await;
}

/// Sends a forwarded request to Azurite and relays its answer.
pub async fn forward(
    url: &str,
    headers: Vec<(String, String)>,
    method: Method,
    body: Bytes,
) -> Resp {
    send(url, headers, method, body)
        .await
        .unwrap_or_else(|e| xml_error(503, "ServerBusy", &format!("Azurite: {e}"), ""))
}

/// Sends a request to a back end (Azurite, moto) and gives its answer
/// whole, or why there is none.
pub async fn send(
    url: &str,
    headers: Vec<(String, String)>,
    method: Method,
    body: Bytes,
) -> Result<Resp, String> {
    use http_body_util::{BodyExt, Full};
    let uri = url
        .parse::<http::Uri>()
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("{authority} is not reachable ({e})"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("the handshake with {authority} failed ({e})"))?;
    tokio::spawn(conn);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", authority.as_str());
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|e| format!("bad forwarded request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{authority} failed ({e})"))?;
    let status = response.status().as_u16();
    let mut out = Resp::new(status);
    for (k, v) in response.headers() {
        if let Ok(v) = v.to_str() {
            // Content-Length stays: the body is relayed whole, and a HEAD
            // has no body to count it from.
            if k != "transfer-encoding" && k != "connection" {
                out = out.header(k.as_str(), v);
            }
        }
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Ok(out.body(bytes))
}
