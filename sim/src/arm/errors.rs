//! ARM's error envelope: `{"error":{"code","message","target","details"}}`.

use serde_json::{json, Value};

use crate::http::Resp;

/// An ARM error response.
pub fn arm_error(status: u16, code: &str, message: &str) -> Resp {
    Resp::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
    .header("x-ms-failure-cause", "gateway")
}

/// An ARM error with `details` entries of (code, message, target).
pub fn arm_error_details(
    status: u16,
    code: &str,
    message: &str,
    details: &[(&str, &str, &str)],
) -> Resp {
    let details: Vec<Value> = details
        .iter()
        .map(|(c, m, t)| json!({ "code": c, "message": m, "target": t }))
        .collect();
    Resp::json(
        status,
        &json!({ "error": { "code": code, "message": message, "details": details } }),
    )
}

/// An error naming the property at fault.
pub fn invalid_parameter(message: &str, target: &str) -> Resp {
    Resp::json(
        400,
        &json!({ "error": { "code": "InvalidParameter", "message": message, "target": target } }),
    )
}
