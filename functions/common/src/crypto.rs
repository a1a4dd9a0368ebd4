//! Tokens at rest: XChaCha20-Poly1305 with a 32-byte key from the secret
//! variable `token_key`. Each sealed value names the key that sealed it, so a
//! key can be rotated: set the new one as `token_key` and the old one as
//! `token_key_previous`; values are re-sealed with the new key when next written.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::api::ApiError;

/// A key and its short id.
pub struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Proves a request came from one of the app's own components (the
    /// jobs component's calls, which may travel over the network).
    internal: String,
    /// Lets a component act for an organization (service chaining only).
    act_for: String,
}

fn parse(text: &str, name: &str) -> Result<Key, ApiError> {
    let bytes = B64.decode(text.trim()).map_err(|_| {
        ApiError::config(
            &format!("`{name}` is not base64"),
            "set it to 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`",
        )
    })?;
    if bytes.len() != 32 {
        return Err(ApiError::config(
            &format!("`{name}` is {} bytes, not 32", bytes.len()),
            "set it to 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`",
        ));
    }
    let id: String = Sha256::digest(&bytes)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let derive = |label: &[u8]| -> String {
        let mut h = Sha256::new();
        h.update(label);
        h.update(&bytes);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    };
    Ok(Key {
        id,
        cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes"),
        internal: derive(b"skyport internal calls\0"),
        act_for: derive(b"skyport acting for an organization\0"),
    })
}

/// The keys in use: the current one and, during a rotation, the previous.
pub struct Keys {
    current: Key,
    previous: Option<Key>,
}

impl Keys {
    pub fn load() -> Result<Keys, ApiError> {
        let (current, previous) = crate::config::token_keys();
        let current = current.ok_or_else(|| ApiError::config("the secret variable `token_key` is not set", "set SPIN_VARIABLE_TOKEN_KEY to 32 random bytes in base64 (`openssl rand -base64 32`)"))?;
        Ok(Keys {
            current: parse(&current, "token_key")?,
            previous: previous
                .map(|p| parse(&p, "token_key_previous"))
                .transpose()?,
        })
    }

    /// Seals `plain`, bound to `context` (the account id), as `id:nonce:ciphertext`.
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let nonce = crate::random_bytes(24);
        let sealed = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption cannot fail");
        format!(
            "{}:{}:{}",
            self.current.id,
            B64.encode(nonce),
            B64.encode(sealed)
        )
    }

    /// Opens a sealed value with whichever key sealed it.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, ApiError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(id), Some(nonce), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ApiError::internal("a stored token is damaged"));
        };
        let key = [Some(&self.current), self.previous.as_ref()].into_iter().flatten().find(|k| k.id == id).ok_or_else(|| {
            ApiError::config("stored tokens were sealed with a key that is neither `token_key` nor `token_key_previous`", "set `token_key_previous` to the key that was in use before the rotation")
        })?;
        let nonce = B64
            .decode(nonce)
            .map_err(|_| ApiError::internal("a stored token is damaged"))?;
        let body = B64
            .decode(body)
            .map_err(|_| ApiError::internal("a stored token is damaged"))?;
        key.cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| ApiError::internal("a stored token failed its integrity check"))
    }

    /// The token the app's components send each other (derived from the
    /// current key; the previous key's is accepted during a rotation).
    pub fn internal_token(&self) -> &str {
        &self.current.internal
    }

    /// Whether `token` is one of the app's own internal tokens.
    pub fn is_internal(&self, token: &str) -> bool {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|k| crate::orgs::constant_time_eq(k.internal.as_bytes(), token.as_bytes()))
    }

    /// The token a component sends, over service chaining only, to act for
    /// an organization; distinct from the internal token, so a leaked jobs
    /// call cannot act for anyone.
    pub fn act_for_token(&self) -> &str {
        &self.current.act_for
    }

    /// Whether `token` is the app's act-for token.
    pub fn is_act_for(&self, token: &str) -> bool {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|k| crate::orgs::constant_time_eq(k.act_for.as_bytes(), token.as_bytes()))
    }

    /// Whether `sealed` was sealed with the current key.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.split(':').next() == Some(self.current.id.as_str())
    }
}
