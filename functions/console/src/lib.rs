//! The console: a page, a stylesheet and a script, compiled into the
//! component so the app needs no web server and the user no toolchain. The
//! page talks to the API with the key the user enters, kept in the tab's
//! session storage — never in a URL. It also serves the API's OpenAPI
//! description at `/api/v1/openapi.json`, and at `/api/v1/providers` the
//! providers Add Account offers with their words (the variable `providers`,
//! so a provider is added in spin.toml, not here).

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

const INDEX: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const STYLE: &str = include_str!("../static/app.css");
/// The API's OpenAPI 3.1 description, written once in docs/ and served as is.
const OPENAPI: &str = include_str!("../../../docs/openapi.json");

fn asset(body: &'static str, content_type: &str) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        .body(body)
        .build()
}

const NO_SUCH_ENDPOINT: &str = r#"{"error":{"code":"no_such_endpoint","message":"There is no such endpoint.","remedy":"See the API's description at /api/v1/openapi.json."}}"#;

/// The providers, from the variable `providers`: a JSON list of objects,
/// each with at least an `id` (kebab-case, as the connect paths carry it)
/// and a `title`. What else an entry says (its name, sign-in, portal link,
/// default admin user, …) is passed on as it is.
fn providers() -> Response {
    let answer = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("cache-control", "no-cache")
            .header("x-content-type-options", "nosniff")
            .body(body)
            .build()
    };
    let given = spin_sdk::variables::get("providers").unwrap_or_default();
    match parse_providers(&given) {
        Ok(list) => answer(200, serde_json::json!({ "providers": list }).to_string()),
        Err(why) => answer(
            500,
            serde_json::json!({ "error": {
                "code": "misconfigured",
                "message": format!("Skyport is not configured: the console's `providers` variable {why}."),
                "remedy": "Set it in spin.toml to a JSON list with one object per provider, each with an `id` and a `title` (see the README).",
            }})
            .to_string(),
        ),
    }
}

fn parse_providers(given: &str) -> Result<Vec<serde_json::Value>, String> {
    let list: Vec<serde_json::Value> =
        serde_json::from_str(given).map_err(|e| format!("is not a JSON list ({e})"))?;
    for p in &list {
        let id = p["id"].as_str().unwrap_or_default();
        let kebab = !id.is_empty()
            && id.split('-').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !kebab || !p["title"].is_string() {
            return Err(format!(
                "has an entry without a kebab-case `id` and a `title`: {p}"
            ));
        }
        // How Add Account connects it decides which form the console shows.
        if p.get("connect")
            .is_some_and(|c| !["oauth", "token", "oauth+token"].iter().any(|w| c == w))
        {
            return Err(format!(
                "has an entry whose `connect` is not \"oauth\", \"token\" or \"oauth+token\": {p}"
            ));
        }
    }
    Ok(list)
}

#[http_component]
fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(match req.path() {
        "/" | "/index.html" => asset(INDEX, "text/html; charset=utf-8"),
        "/app.js" => asset(SCRIPT, "text/javascript; charset=utf-8"),
        "/app.css" => asset(STYLE, "text/css; charset=utf-8"),
        "/api/v1/providers" if req.method() == &spin_sdk::http::Method::Get => providers(),
        "/api/v1/providers" => Response::builder()
            .status(405)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .header("allow", "GET")
            .body(
                serde_json::json!({ "error": {
                    "code": "method_not_allowed",
                    "message": format!("This endpoint does not take {}.", req.method()),
                    "remedy": "Use GET.",
                    "allow": "GET",
                }})
                .to_string(),
            )
            .build(),
        "/api/v1/openapi.json" => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "no-cache")
            .header("access-control-allow-origin", "*")
            .header("x-content-type-options", "nosniff")
            .body(OPENAPI)
            .build(),
        // Any other API path no component takes: the API's error envelope.
        p if p == "/api" || p.starts_with("/api/") => Response::builder()
            .status(404)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .body(NO_SUCH_ENDPOINT)
            .build(),
        _ => Response::builder()
            .status(404)
            .header("content-type", "text/plain")
            .body("Not Found")
            .build(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_providers;

    #[test]
    fn providers_need_a_kebab_id_and_a_title() {
        let ok =
            parse_providers(r#"[{"id": "acme-cloud", "title": "Acme Cloud", "name": "Acme"}]"#)
                .unwrap();
        assert_eq!(ok[0]["name"], "Acme");
        assert!(parse_providers("").unwrap_err().contains("not a JSON list"));
        for bad in [
            r#"[{"title": "A"}]"#,
            r#"[{"id": "Acme", "title": "A"}]"#,
            r#"[{"id": "a/b", "title": "A"}]"#,
            r#"[{"id": "a"}]"#,
        ] {
            assert!(
                parse_providers(bad).unwrap_err().contains("kebab-case"),
                "{bad}"
            );
        }
        for way in ["oauth", "token", "oauth+token"] {
            let entry = format!(r#"[{{"id": "a", "title": "A", "connect": "{way}"}}]"#);
            assert!(parse_providers(&entry).is_ok(), "{entry}");
        }
        assert!(
            parse_providers(r#"[{"id": "a", "title": "A", "connect": "key"}]"#)
                .unwrap_err()
                .contains("`connect`")
        );
    }
}
