//! AWS Signature Version 4 as the S3 API (and so Spaces) checks it: the
//! canonical request, the string to sign and the derived signing key, for
//! requests signed in the `Authorization` header with the payload's hash.
//!
//! Pure functions of their inputs (the time is passed in), so the test below
//! checks them against AWS's own published example.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A key pair from the Spaces keys API.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

/// One request to sign. `path` is the URL's path as sent (its segments
/// already percent-encoded); `query` holds the parameters unencoded.
pub struct Unsigned<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Headers signed besides `host`, `x-amz-content-sha256` and `x-amz-date`.
    pub extra: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub region: &'a str,
    /// `yyyymmddThhmmssZ`.
    pub amz_date: &'a str,
}

/// The headers that make a request signed: `x-amz-date`,
/// `x-amz-content-sha256` and `authorization`.
pub fn sign(creds: &Credentials, r: &Unsigned<'_>) -> Vec<(String, String)> {
    let payload = hex(&Sha256::digest(r.body));
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), r.host.trim().to_string()),
        ("x-amz-content-sha256".into(), payload.clone()),
        ("x-amz-date".into(), r.amz_date.to_string()),
    ];
    headers.extend(
        r.extra
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())),
    );
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        r.path,
        canonical_query(r.query),
        headers
            .iter()
            .map(|(k, v)| format!("{k}:{v}\n"))
            .collect::<String>(),
        signed,
        payload
    );
    let date = &r.amz_date[..8.min(r.amz_date.len())];
    let scope = format!("{date}/{}/s3/aws4_request", r.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        r.amz_date,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), date);
    for part in [r.region, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex(&hmac(&key, &to_sign));
    vec![
        ("x-amz-date".into(), r.amz_date.to_string()),
        ("x-amz-content-sha256".into(), payload),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
                creds.access_key
            ),
        ),
    ]
}

/// The parameters sorted by name, each name and value percent-encoded.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (encode(k, true), encode(v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but the unreserved characters (and `/` unless
/// `slash`), as SigV4 asks.
pub fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && !slash)
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string a request is sent with, in the same encoding as signed.
pub fn query_string(query: &[(&str, &str)]) -> String {
    canonical_query(query)
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `yyyymmddThhmmssZ` for a Unix time, as `x-amz-date` carries it.
pub fn amz_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by eras
    // of 400 years that start on 1 March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example: GET of `test.txt` in `examplebucket` with a
    /// Range header, signed on 24 May 2013.
    #[test]
    fn the_published_example_signs_as_aws_says() {
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        };
        let headers = sign(
            &creds,
            &Unsigned {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                query: &[],
                extra: &[("Range", "bytes=0-9")],
                body: b"",
                region: "us-east-1",
                amz_date: "20130524T000000Z",
            },
        );
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn query_parameters_are_sorted_and_encoded() {
        assert_eq!(
            canonical_query(&[
                ("prefix", "backups/"),
                ("list-type", "2"),
                ("delimiter", "/"),
                ("location", "")
            ]),
            "delimiter=%2F&list-type=2&location=&prefix=backups%2F"
        );
        assert_eq!(encode("a b/c~", false), "a%20b/c~");
    }

    #[test]
    fn unix_times_become_amz_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(951_782_400 + 3661), "20000229T010101Z");
        assert_eq!(amz_date(1_795_824_000), "20261128T000000Z");
    }
}
