//! The JWTs the emulator issues and ARM checks: RS256, as Entra ID signs
//! them, with the key's id (`kid`) in the header and its public half
//! published at the discovery document's `jwks_uri`, so a client that
//! verifies tokens (MSAL.js, Microsoft.Identity.Web, PyJWT with the JWKS)
//! can verify the emulator's.
//!
//! The key is an RSA-2048 key made once per process (making one takes a
//! moment) and kept, as PKCS#8, in the state and its snapshot, so a
//! restarted sandbox still accepts the tokens it issued.

use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A new signing key (PKCS#8 DER); the same one for every emulator of this
/// process.
pub fn new_key() -> Vec<u8> {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("an RSA key");
        key.to_pkcs8_der().expect("PKCS#8").as_bytes().to_vec()
    })
    .clone()
}

/// Whether `key` is a signing key this module can use (a snapshot of an
/// older emulator kept another kind).
pub fn usable(key: &[u8]) -> bool {
    RsaPrivateKey::from_pkcs8_der(key).is_ok()
}

/// A key ready to use: parsed, with its public half, its signer and its id.
struct Keys {
    der: Vec<u8>,
    public: rsa::RsaPublicKey,
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    kid: String,
}

/// The keys for `key`, kept: parsing one, deriving its public half and
/// hashing its modulus cost more than a signature, and every ARM request
/// verifies a token.
fn keys(key: &[u8]) -> Arc<Keys> {
    static PARSED: Mutex<Option<Arc<Keys>>> = Mutex::new(None);
    let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    match &*parsed {
        Some(k) if k.der.as_slice() == key => k.clone(),
        _ => {
            let private =
                RsaPrivateKey::from_pkcs8_der(key).expect("the state holds a PKCS#8 RSA key");
            let public = private.to_public_key();
            // The key's id: the SHA-256 of its modulus, base64url, shortened.
            let kid = B64.encode(&Sha256::digest(public.n().to_bytes_be())[..15]);
            let k = Arc::new(Keys {
                der: key.to_vec(),
                verifying: VerifyingKey::new(public.clone()),
                public,
                signing: SigningKey::new(private),
                kid,
            });
            *parsed = Some(k.clone());
            k
        }
    }
}

/// The public half as a JSON Web Key Set, as `/discovery/v2.0/keys` serves it.
pub fn jwks(key: &[u8]) -> Value {
    let k = keys(key);
    json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
        "n": B64.encode(k.public.n().to_bytes_be()), "e": B64.encode(k.public.e().to_bytes_be()),
    }] })
}

/// Signs `claims` with `key`.
pub fn encode(key: &[u8], claims: &Value) -> String {
    let k = keys(key);
    let header = B64.encode(json!({ "typ": "JWT", "alg": "RS256", "kid": k.kid }).to_string());
    let payload = B64.encode(claims.to_string());
    let signing = format!("{header}.{payload}");
    let signature = k.signing.sign(signing.as_bytes());
    format!("{signing}.{}", B64.encode(signature.to_bytes()))
}

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    BadSignature,
}

/// Checks the signature (RS256 by `key`, nothing else) and returns the
/// claims (expiry is the caller's call).
pub fn decode(key: &[u8], token: &str) -> Result<Value, Invalid> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid::Malformed);
    };
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Invalid::Malformed)?;
    // `alg` is not the token's to choose: anything but RS256 is refused.
    if header["alg"] != "RS256" {
        return Err(Invalid::BadSignature);
    }
    let sig = B64.decode(s).map_err(|_| Invalid::Malformed)?;
    let sig = Signature::try_from(sig.as_slice()).map_err(|_| Invalid::BadSignature)?;
    keys(key)
        .verifying
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| Invalid::BadSignature)?;
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
    fn round_trip_tamper_and_alg() {
        let key = new_key();
        let t = encode(&key, &json!({"tid": "t", "exp": 5}));
        assert_eq!(decode(&key, &t).unwrap()["tid"], "t");
        assert_eq!(peek(&t).unwrap()["exp"], 5);
        assert_eq!(decode(&key, "abc"), Err(Invalid::Malformed));
        // A changed payload fails the signature.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(json!({"tid": "other", "exp": 5}).to_string());
        parts[1] = &forged;
        assert_eq!(decode(&key, &parts.join(".")), Err(Invalid::BadSignature));
        // An unsigned token ("alg": "none") is refused, whatever it claims.
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            B64.encode(r#"{"tid":"t"}"#)
        );
        assert_eq!(decode(&key, &none), Err(Invalid::BadSignature));
        assert!(usable(&key));
        assert!(!usable(b"an older emulator's HS256 key"));
    }

    #[test]
    fn the_jwks_names_the_signing_key() {
        let key = new_key();
        let set = jwks(&key);
        let t = encode(&key, &json!({}));
        let header: Value =
            serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(set["keys"][0]["kid"], header["kid"]);
        assert_eq!(set["keys"][0]["e"], "AQAB");
        assert_eq!(header["alg"], "RS256");
    }
}
