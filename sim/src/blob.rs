//! The blob data plane front door, `/_blob/{account}/{container}/{blob}`:
//! it enforces the account's network rules (403 AuthorizationFailure, as the
//! storage firewall answers), checks SharedKey signatures against the keys
//! ARM's listKeys hands out, then serves the request from Azurite when one is
//! configured, or from a small in-memory store otherwise.
//!
//! Clients sign the path they send, so the canonical resource is
//! `/{account}/_blob/{account}/…` here, as it is `/{account}/{account}/…`
//! against Azurite's path-style URLs.

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

fn xml_error(status: u16, code: &str, message: &str, extra: &str) -> Resp {
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

/// Decides how to answer a front-door request.
pub fn plan(state: &mut State, req: &Req) -> Plan {
    let segments: Vec<&str> = req.path.trim_start_matches('/').splitn(4, '/').collect();
    let account = segments.get(1).copied().unwrap_or("");
    let container = segments.get(2).copied().unwrap_or("");
    let blob = segments.get(3).copied().unwrap_or("");
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
        let body = serde_json::json!({ "id": container_id, "name": container, "type": CONTAINER, "properties": { "publicAccess": "None" } });
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

fn in_memory(
    state: &mut State,
    req: &Req,
    account: &str,
    container: &str,
    blob: &str,
    restype: &str,
    comp: &str,
) -> Resp {
    let key = (account.to_string(), container.to_string(), blob.to_string());
    let now = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    match (&req.method, blob.is_empty()) {
        (&Method::PUT, true) if restype == "container" => Resp::new(201)
            .header("etag", format!("\"0x{}\"", &guid().replace('-', "")[..15]))
            .header("last-modified", now),
        (&Method::DELETE, true) if restype == "container" => {
            state
                .blobs
                .retain(|(a, c, _), _| !(a == account && c == container));
            Resp::new(202)
        }
        (&Method::GET, true) if comp == "list" => {
            let names: String = state
                .blobs
                .iter()
                .filter(|((a, c, _), _)| a == account && c == container)
                .map(|((_, _, b), data)| format!("<Blob><Name>{}</Name><Properties><Content-Length>{}</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>", escape(b), data.len()))
                .collect();
            Resp::new(200).header("content-type", "application/xml").body(format!(
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}/_blob/{account}/\" ContainerName=\"{container}\"><Blobs>{names}</Blobs><NextMarker /></EnumerationResults>",
                state.base_url
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
            state.blobs.insert(key, req.body.to_vec());
            Resp::new(201)
                .header("etag", format!("\"0x{}\"", &guid().replace('-', "")[..15]))
                .header("last-modified", now)
                .header("x-ms-request-server-encrypted", "true")
        }
        (&Method::GET | &Method::HEAD, false) => match state.blobs.get(&key) {
            Some(data) => {
                let r = Resp::new(200)
                    .header("content-type", "application/octet-stream")
                    .header("x-ms-blob-type", "BlockBlob")
                    .header("last-modified", now);
                if req.method == Method::HEAD {
                    r.header("content-length", data.len().to_string())
                } else {
                    r.body(data.clone())
                }
            }
            None => xml_error(
                404,
                "BlobNotFound",
                "The specified blob does not exist.",
                "",
            ),
        },
        (&Method::DELETE, false) => match state.blobs.remove(&key) {
            Some(_) => Resp::new(202).header("x-ms-delete-type-permanent", "true"),
            None => xml_error(
                404,
                "BlobNotFound",
                "The specified blob does not exist.",
                "",
            ),
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
    use http_body_util::{BodyExt, Full};
    let Ok(uri) = url.parse::<http::Uri>() else {
        return xml_error(502, "InternalError", "bad Azurite URL", "");
    };
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let Ok(stream) = tokio::net::TcpStream::connect(&authority).await else {
        return xml_error(
            503,
            "ServerBusy",
            &format!("Azurite at {authority} is not reachable."),
            "",
        );
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return xml_error(503, "ServerBusy", "Azurite handshake failed.", "");
    };
    tokio::spawn(conn);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", authority);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let Ok(request) = builder.body(Full::new(body)) else {
        return xml_error(502, "InternalError", "bad forwarded request", "");
    };
    match sender.send_request(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let mut out = Resp::new(status);
            for (k, v) in response.headers() {
                if let Ok(v) = v.to_str() {
                    if k != "content-length" && k != "transfer-encoding" && k != "connection" {
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
            out.body(bytes)
        }
        Err(e) => xml_error(503, "ServerBusy", &format!("Azurite failed: {e}"), ""),
    }
}
