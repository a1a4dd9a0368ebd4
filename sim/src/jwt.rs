//! The JWTs the emulator issues and ARM checks: HS256 over the emulator's own
//! key (real Azure signs with RS256; clients treat tokens as opaque anyway).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs `claims` with `key`.
pub fn encode(key: &[u8], claims: &Value) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64.encode(claims.to_string());
    let signing = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length works");
    mac.update(signing.as_bytes());
    format!("{signing}.{}", B64.encode(mac.finalize().into_bytes()))
}

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    BadSignature,
}

/// Checks the signature and returns the claims (expiry is the caller's call).
pub fn decode(key: &[u8], token: &str) -> Result<Value, Invalid> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid::Malformed);
    };
    let sig = B64.decode(s).map_err(|_| Invalid::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length works");
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| Invalid::BadSignature)?;
    let payload = B64.decode(p).map_err(|_| Invalid::Malformed)?;
    serde_json::from_slice(&payload).map_err(|_| Invalid::Malformed)
}

/// Reads the claims without checking the signature (for id tokens in tests).
pub fn peek(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let t = encode(b"k", &serde_json::json!({"tid": "t", "exp": 5}));
        assert_eq!(decode(b"k", &t).unwrap()["tid"], "t");
        assert_eq!(decode(b"other", &t), Err(Invalid::BadSignature));
        assert_eq!(decode(b"k", "abc"), Err(Invalid::Malformed));
        assert_eq!(peek(&t).unwrap()["exp"], 5);
    }
}
