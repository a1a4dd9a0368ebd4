//! The Blob service's SharedKey authorization: the string-to-sign and its
//! HMAC-SHA256 signature, plus the RFC 1123 date the `x-ms-date` header takes.
//!
//! The canonical resource is `/{account}{path}` with the path exactly as
//! sent, which covers Azure's host-style URLs, Azurite's path-style ones and
//! any front door in between.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const STANDARD_HEADERS: &[&str] = &[
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// The string-to-sign for a request (service version 2009-09-19 and later).
pub fn string_to_sign(
    method: &str,
    headers: &[(String, String)],
    account: &str,
    path: &str,
    query: &[(String, String)],
) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut out = format!("{}\n", method.to_ascii_uppercase());
    for h in STANDARD_HEADERS {
        let v = get(h);
        out.push_str(if *h == "content-length" && v == "0" {
            ""
        } else {
            &v
        });
        out.push('\n');
    }
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    ms.sort();
    for (k, v) in ms {
        out.push_str(&format!("{k}:{v}\n"));
    }
    out.push_str(&format!("/{account}{path}"));
    let mut params: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    params.sort();
    for (k, v) in params {
        out.push_str(&format!("\n{k}:{v}"));
    }
    out
}

/// The signature for `string_to_sign` under a base64 account key.
pub fn sign(key_b64: &str, string_to_sign: &str) -> Option<String> {
    let key = STANDARD.decode(key_b64.trim()).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

/// `Mon, 01 Jan 2024 00:00:00 GMT` for seconds since the epoch.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_hmac_sha256() {
        // RFC 4231 test case 2, key "Jefe" in base64.
        assert_eq!(
            sign("SmVmZQ==", "what do ya want for nothing?").as_deref(),
            Some("W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1704067200), "Mon, 01 Jan 2024 00:00:00 GMT");
        assert_eq!(http_date(1709210096), "Thu, 29 Feb 2024 12:34:56 GMT");
    }

    #[test]
    fn canonical_form() {
        let h = vec![
            ("x-ms-version".to_string(), "2025-01-05".to_string()),
            ("x-ms-date".to_string(), "d".to_string()),
            ("Content-Length".to_string(), "5".to_string()),
        ];
        let s = string_to_sign(
            "put",
            &h,
            "acct",
            "/c/b",
            &[("restype".into(), "container".into())],
        );
        assert_eq!(s, "PUT\n\n\n5\n\n\n\n\n\n\n\n\nx-ms-date:d\nx-ms-version:2025-01-05\n/acct/c/b\nrestype:container");
    }
}
