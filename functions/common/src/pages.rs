//! The page the sign-in popup lands on: it tells the opener window what
//! happened (for a finished sign-in, the claim the opener redeems with its own
//! API key) and closes; opened without a popup, it shows the outcome with a
//! link back to the console. The page drops the code from the address bar and
//! history, sends no referrer, cannot be framed, and runs only its own script.

use serde_json::{json, Value};
use spin_sdk::http::Response;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The outcome of a sign-in, as the console shows it.
pub struct Outcome {
    /// `signed_in` (with a claim in `extra`), `authorization_denied`,
    /// `admin_consent_required`, `no_subscriptions`, `wrong_account`,
    /// `invalid_state`, `token_error`, `sign_in_failed`, `error`.
    pub code: &'static str,
    pub title: String,
    pub message: String,
    pub remedy: String,
    pub account_id: Option<String>,
    pub extra: Value,
}

pub fn render(o: &Outcome) -> Response {
    let data = json!({
        "type": "skyport:connect",
        "provider": crate::provider::id(),
        "outcome": o.code,
        "title": o.title,
        "message": o.message,
        "remedy": o.remedy,
        "account_id": o.account_id,
        "details": o.extra,
    });
    // `</` cannot appear inside the script: escape it in the JSON.
    let payload = data.to_string().replace("</", "<\\/");
    let status = match o.code {
        "invalid_state" | "invalid_tenant" => 400,
        _ => 200,
    };
    let claim = o.extra["claim"].as_str().unwrap_or_default();
    let nonce = crate::random_token(18);
    let link = match (
        o.extra["admin_consent_url"].as_str(),
        o.extra["admin_consent_link"].as_str(),
    ) {
        (Some(url), _) => format!("<p><a id=\"admin-consent\" href=\"{}\">Admin consent link</a> — send it to an administrator of your organization.</p>", escape(url)),
        // The directory is not known yet: the user names it.
        (None, Some(path)) => format!("<form method=\"get\" action=\"{}\"><p><label for=\"tenant\">Your organization's domain or tenant ID</label><br><input id=\"tenant\" name=\"tenant\" required placeholder=\"contoso.com\"> <button>Make the admin consent link</button></p></form>", escape(path)),
        (None, None) => String::new(),
    };
    // The directory form leads, through a redirect, to the identity
    // platform's own host, which the `form-action` list names; every other
    // page has no form at all.
    let form_action = if link.starts_with("<form") {
        format!(
            "form-action 'self' {};",
            o.extra["form_action"].as_str().unwrap_or_default()
        )
    } else {
        "form-action 'none';".to_string()
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><main><h1 id=\"outcome\" data-outcome=\"{code}\" data-claim=\"{claim}\">{title}</h1><p id=\"message\">{message}</p><p id=\"remedy\">{remedy}</p>{link}\
         <p><a href=\"/\">Back to Skyport</a></p></main>\
         <script nonce=\"{nonce}\">(function(){{var d={payload};try{{history.replaceState(null,\"\",window.location.pathname);}}catch(e){{}}if(window.opener&&!window.opener.closed){{window.opener.postMessage(d,window.location.origin);window.close();}}}})();</script></body></html>",
        title = escape(&o.title),
        code = o.code,
        message = escape(&o.message),
        remedy = escape(&o.remedy),
        claim = escape(claim),
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header(
            "content-security-policy",
            format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; {form_action} frame-ancestors 'none'"),
        )
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY")
        .header("x-content-type-options", "nosniff")
        .body(body)
        .build()
}
