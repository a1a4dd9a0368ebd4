//! The console: a page, a stylesheet and a script, compiled into the
//! component so the app needs no web server and the user no toolchain. The
//! page talks to the API with the key the user enters, kept in the tab's
//! session storage — never in a URL. It also serves the API's OpenAPI
//! description at `/api/v1/openapi.json`.

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

#[http_component]
fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(match req.path() {
        "/" | "/index.html" => asset(INDEX, "text/html; charset=utf-8"),
        "/app.js" => asset(SCRIPT, "text/javascript; charset=utf-8"),
        "/app.css" => asset(STYLE, "text/css; charset=utf-8"),
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
