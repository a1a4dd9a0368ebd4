//! The transport plugins use inside a component: wasi:http's outgoing handler
//! through spin-sdk, driven to completion with spin-sdk's executor (plugin
//! exports are synchronous), and `std::thread::sleep` for waits, which
//! wasm32-wasip2 implements with wasi:clocks.

use std::time::Duration;

use spin_sdk::http::{Method, Request as SpinRequest, Response as SpinResponse};

use crate::{Request, Response, Transport};

/// Sends through the host's outbound HTTP, subject to `allowed_outbound_hosts`.
pub struct SpinTransport;

impl Transport for SpinTransport {
    fn send(&self, request: &Request) -> Result<Response, String> {
        let method = match request.method {
            "GET" => Method::Get,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => return Err(format!("unsupported method {other}")),
        };
        let mut builder = SpinRequest::builder();
        builder.method(method).uri(request.url.clone());
        for (k, v) in &request.headers {
            builder.header(k.clone(), v.clone());
        }
        if let Some(body) = &request.body {
            builder.body(body.clone());
        }
        let response: SpinResponse = spin_sdk::http::run(spin_sdk::http::send(builder.build()))
            .map_err(|e| format!("{e:?}"))?;
        Ok(Response {
            status: *response.status(),
            headers: response
                .headers()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: response.body().to_vec(),
        })
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
