//! ARM's error envelope — `{"error":{"code","message","target","details"}}` —
//! read down to the innermost code, which is the one that names the cause
//! (DeploymentFailed → Conflict → SkuNotAvailable).

use serde_json::Value;

use crate::Response;

/// The contract's error cases (`skyport:types/types.error`), without the WIT types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unauthorized,
    Forbidden,
    NotRegistered,
    QuotaExceeded,
    SkuNotAvailable,
    Throttled,
    NotFound,
    Conflict,
    InvalidInput,
    Unavailable,
    Other,
}

/// A failed ARM call.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmError {
    /// The HTTP status; 0 when no response arrived.
    pub status: u16,
    /// The innermost ARM error code.
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    /// Seconds the service asked to wait (`Retry-After`), if it did.
    pub retry_after: Option<u64>,
}

fn innermost(error: &Value) -> &Value {
    let mut e = error;
    while let Some(d) = e["details"]
        .as_array()
        .and_then(|d| d.first())
        .filter(|d| d["code"].is_string())
    {
        // Keep the outer error when the detail only repeats it.
        if d["code"] == e["code"] && d["message"].is_null() {
            break;
        }
        e = d;
    }
    e
}

impl ArmError {
    pub fn from_response(resp: &Response) -> ArmError {
        let retry_after = resp
            .header("retry-after")
            .and_then(|v| v.trim().parse().ok());
        let body = resp.json().unwrap_or(Value::Null);
        let error = if body["error"].is_object() {
            &body["error"]
        } else {
            &body
        };
        let inner = innermost(error);
        let code = inner["code"]
            .as_str()
            .or(error["code"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Http{}", resp.status));
        let message = inner["message"]
            .as_str()
            .or(error["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(500)
                    .collect()
            });
        let target = inner["target"]
            .as_str()
            .or(error["target"].as_str())
            .map(str::to_string);
        ArmError {
            status: resp.status,
            code,
            message,
            target,
            retry_after,
        }
    }

    /// No response at all: the connection failed or the request was denied.
    pub fn transport(message: &str) -> ArmError {
        ArmError {
            status: 0,
            code: "ConnectionFailed".into(),
            message: message.to_string(),
            target: None,
            retry_after: None,
        }
    }

    /// A URL Skyport refused to send: a value would have changed its path or query.
    pub fn invalid_url(message: &str) -> ArmError {
        ArmError {
            status: 400,
            code: "InvalidRequestUrl".into(),
            message: format!("Skyport did not send the request: {message}."),
            target: None,
            retry_after: None,
        }
    }

    pub fn other(code: &str, message: &str) -> ArmError {
        ArmError {
            status: 0,
            code: code.into(),
            message: message.into(),
            target: None,
            retry_after: None,
        }
    }

    /// Which of the contract's error cases this is.
    pub fn kind(&self) -> Kind {
        match (self.status, self.code.as_str()) {
            (_, "MissingSubscriptionRegistration") => Kind::NotRegistered,
            (_, "SkuNotAvailable") => Kind::SkuNotAvailable,
            (_, "QuotaExceeded" | "ResourceQuotaExceeded") => Kind::QuotaExceeded,
            (_, "OperationNotAllowed") if self.message.contains("quota") => Kind::QuotaExceeded,
            (429, _) => Kind::Throttled,
            (401, _) => Kind::Unauthorized,
            (403, _) => Kind::Forbidden,
            (404, _) => Kind::NotFound,
            (409 | 412, _) => Kind::Conflict,
            (400, _) => Kind::InvalidInput,
            (0, "ConnectionFailed") => Kind::Unavailable,
            (s, _) if s >= 500 => Kind::Unavailable,
            _ => Kind::Other,
        }
    }

    /// Whether retrying could help: throttling, server errors, lost connections.
    pub fn is_transient(&self) -> bool {
        self.status == 429
            || self.status >= 500
            || (self.status == 0
                && self.code == "ConnectionFailed"
                && !self.message.contains("HttpRequestDenied"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("retry-after".into(), "7".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn reads_the_innermost_code() {
        let e = ArmError::from_response(&resp(
            409,
            r#"{"error":{"code":"DeploymentFailed","message":"outer","details":[{"code":"Conflict","message":"mid","details":[{"code":"SkuNotAvailable","message":"inner","target":"vmSize"}]}]}}"#,
        ));
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.target.as_deref()),
            ("SkuNotAvailable", "inner", Some("vmSize"))
        );
        assert_eq!(e.retry_after, Some(7));
    }

    #[test]
    fn missing_subscription_registration_names_its_namespace() {
        let e = ArmError::from_response(&resp(
            409,
            r#"{"error":{"code":"MissingSubscriptionRegistration","message":"The subscription is not registered to use namespace 'Microsoft.Compute'.","details":[{"code":"MissingSubscriptionRegistration","message":"short","target":"Microsoft.Compute"}]}}"#,
        ));
        assert_eq!(e.code, "MissingSubscriptionRegistration");
        assert_eq!(e.target.as_deref(), Some("Microsoft.Compute"));
    }

    #[test]
    fn non_json_bodies_keep_the_status() {
        let e = ArmError::from_response(&resp(502, "<html>bad gateway</html>"));
        assert_eq!(e.code, "Http502");
        assert!(e.is_transient());
        assert!(!ArmError::transport("HttpRequestDenied").is_transient());
        assert_eq!(e.kind(), Kind::Unavailable);
    }

    #[test]
    fn kinds() {
        let k = |status, code: &str, message: &str| {
            ArmError {
                status,
                code: code.into(),
                message: message.into(),
                target: None,
                retry_after: None,
            }
            .kind()
        };
        assert_eq!(
            k(409, "MissingSubscriptionRegistration", ""),
            Kind::NotRegistered
        );
        assert_eq!(
            k(
                409,
                "OperationNotAllowed",
                "exceeding approved standardBSFamily Cores quota"
            ),
            Kind::QuotaExceeded
        );
        assert_eq!(k(409, "SkuNotAvailable", ""), Kind::SkuNotAvailable);
        assert_eq!(k(403, "AuthorizationFailed", ""), Kind::Forbidden);
        assert_eq!(k(401, "ExpiredAuthenticationToken", ""), Kind::Unauthorized);
        assert_eq!(k(429, "TooManyRequests", ""), Kind::Throttled);
    }
}
