//! AWS Signature Version 4, checked as S3 (and so Spaces) checks a request
//! signed in its `Authorization` header: the canonical request is rebuilt
//! from what arrived — the path as sent, the query re-encoded and sorted,
//! the signed headers — and signed again with the key's secret.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::http::{percent_decode, Req};

/// What an `Authorization: AWS4-HMAC-SHA256 …` header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub access_key: String,
    /// `yyyymmdd`.
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Reads the header; `None` when it is not a SigV4 header.
pub fn parse(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    Some(Authorization {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed?.split(';').map(str::to_string).collect(),
        signature: signature?.to_string(),
    })
}

/// The signature the request should carry, signed with `secret`.
/// `payload` is the `x-amz-content-sha256` value the request sent.
pub fn expected(
    secret: &str,
    req: &Req,
    auth: &Authorization,
    amz_date: &str,
    payload: &str,
) -> String {
    let headers: String = auth
        .signed_headers
        .iter()
        .map(|name| {
            let value = req.header(name).unwrap_or_default();
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{name}:{value}\n")
        })
        .collect();
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query(&req.raw_query),
        headers,
        auth.signed_headers.join(";"),
        payload
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), &auth.date);
    for part in [auth.region.as_str(), auth.service.as_str(), "aws4_request"] {
        key = hmac(&key, part);
    }
    hex(&hmac(&key, &to_sign))
}

/// The hex SHA-256 of a body, as `x-amz-content-sha256` carries it.
pub fn payload_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// The query as SigV4 signs it: each name and value decoded, then encoded
/// again (all but unreserved characters), sorted by name, then value.
pub fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&percent_decode(k)), encode(&percent_decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_with_or_without_spaces() {
        let a = parse("AWS4-HMAC-SHA256 Credential=DO1/20261128/nyc3/s3/aws4_request,SignedHeaders=host;x-amz-date, Signature=ab12").unwrap();
        assert_eq!(
            (
                a.access_key.as_str(),
                a.region.as_str(),
                a.signed_headers.len(),
                a.signature.as_str()
            ),
            ("DO1", "nyc3", 2, "ab12")
        );
        assert!(parse("Bearer x").is_none());
        assert!(parse(
            "AWS4-HMAC-SHA256 Credential=DO1/20261128/nyc3/s3, SignedHeaders=host, Signature=1"
        )
        .is_none());
    }

    #[test]
    fn queries_are_made_canonical() {
        assert_eq!(
            canonical_query("prefix=a%2Fb&list-type=2&location"),
            "list-type=2&location=&prefix=a%2Fb"
        );
        assert_eq!(
            canonical_query("delimiter=/&x=a+b"),
            "delimiter=%2F&x=a%2Bb"
        );
    }
}
