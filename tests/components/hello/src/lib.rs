//! Answers every request with a fixed greeting and imports nothing beyond
//! wasi:http, so `wasmtime serve` can run it too.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(Response::new(200, "Hello, Skyport!"))
}
