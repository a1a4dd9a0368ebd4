//! What the Microsoft identity platform's errors mean for the product:
//! the authorization redirect's `error` parameters and the token endpoint's
//! JSON body, classified by `error` and the AADSTS code (never by wording).

use serde_json::Value;

/// The meaning of a failed authorization redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Denied,
    AdminConsentRequired,
    Failed(String),
}

/// The meaning of a token-endpoint error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    GrantExpired(String),
    AdminConsentRequired(String),
    ClientMisconfigured(String),
    Transient(String),
    Failed(String),
}

/// The AADSTS code at the start of a description (`AADSTS50173: …`).
pub fn aadsts(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    rest.chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

/// Codes that mean an administrator must consent.
const ADMIN_CONSENT: &[u32] = &[90094, 90095, 65001, 90008, 650056, 650057];

pub fn classify_callback(
    error: &str,
    description: Option<&str>,
    subcode: Option<&str>,
) -> Callback {
    let code = description.and_then(aadsts);
    if code.is_some_and(|c| ADMIN_CONSENT.contains(&c)) || error == "consent_required" {
        return Callback::AdminConsentRequired;
    }
    if error == "access_denied" || subcode == Some("cancel") || code == Some(65004) {
        return Callback::Denied;
    }
    Callback::Failed(description.map(first_line).unwrap_or(error).to_string())
}

fn first_line(s: &str) -> &str {
    s.split(['\r', '\n'])
        .next()
        .unwrap_or(s)
        .split(" Trace ID:")
        .next()
        .unwrap_or(s)
        .trim()
}

/// Why a dead grant died, in words a user understands.
fn grant_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        50173 | 50133 | 50132 => {
            "the password was changed or reset, or the sign-in sessions were revoked"
        }
        700082 => "the authorization expired after a long time unused",
        70008 => "the authorization expired or was revoked",
        70043 => "the organization's sign-in frequency policy requires signing in again",
        50076 | 50078 => "multi-factor authentication is now required",
        50079 => "the user must register for multi-factor authentication",
        53003 => "access is blocked by a Conditional Access policy",
        _ => return None,
    })
}

pub fn classify_token_error(status: u16, body: &str) -> TokenError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = v["error"].as_str().unwrap_or("");
    let description = v["error_description"].as_str().unwrap_or("");
    let code = v["error_codes"][0]
        .as_u64()
        .map(|c| c as u32)
        .or_else(|| aadsts(description));
    let words = if description.is_empty() {
        format!("the identity platform answered {status}")
    } else {
        first_line(description).to_string()
    };
    if status == 429
        || status >= 500
        || error == "temporarily_unavailable"
        || error == "server_error"
    {
        return TokenError::Transient(words);
    }
    if let Some(reason) = code.and_then(grant_reason) {
        return TokenError::GrantExpired(reason.to_string());
    }
    if code.is_some_and(|c| ADMIN_CONSENT.contains(&c)) || error == "consent_required" {
        return TokenError::AdminConsentRequired(words);
    }
    if error == "invalid_client"
        || error == "unauthorized_client"
        || matches!(code, Some(7000215 | 7000222 | 7000218 | 700016 | 700025))
    {
        return TokenError::ClientMisconfigured(words);
    }
    if error == "invalid_grant" {
        return TokenError::GrantExpired(words);
    }
    TokenError::Failed(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: &str, code: u32) -> String {
        format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: something. Trace ID: x","error_codes":[{code}]}}"#
        )
    }

    #[test]
    fn callbacks() {
        assert_eq!(
            classify_callback("access_denied", None, Some("cancel")),
            Callback::Denied
        );
        assert_eq!(
            classify_callback("access_denied", Some("AADSTS65004: User declined"), None),
            Callback::Denied
        );
        assert_eq!(
            classify_callback(
                "access_denied",
                Some("AADSTS90094: Admin consent is required"),
                None
            ),
            Callback::AdminConsentRequired
        );
        assert_eq!(
            classify_callback("consent_required", None, None),
            Callback::AdminConsentRequired
        );
        assert_eq!(
            classify_callback("server_error", Some("AADSTS500011: x\r\nTrace ID: y"), None),
            Callback::Failed("AADSTS500011: x".into())
        );
    }

    #[test]
    fn token_errors() {
        assert!(
            matches!(classify_token_error(400, &body("invalid_grant", 50173)), TokenError::GrantExpired(r) if r.contains("password"))
        );
        assert!(matches!(
            classify_token_error(400, &body("invalid_grant", 700082)),
            TokenError::GrantExpired(_)
        ));
        assert!(
            matches!(classify_token_error(400, &body("invalid_grant", 50076)), TokenError::GrantExpired(r) if r.contains("multi-factor"))
        );
        assert!(matches!(
            classify_token_error(400, &body("invalid_grant", 65001)),
            TokenError::AdminConsentRequired(_)
        ));
        assert!(matches!(
            classify_token_error(401, &body("invalid_client", 7000215)),
            TokenError::ClientMisconfigured(_)
        ));
        assert!(matches!(
            classify_token_error(503, &body("temporarily_unavailable", 90033)),
            TokenError::Transient(_)
        ));
        assert!(matches!(
            classify_token_error(400, "not json"),
            TokenError::Failed(_)
        ));
        assert_eq!(aadsts("AADSTS54005: redeemed"), Some(54005));
    }
}
