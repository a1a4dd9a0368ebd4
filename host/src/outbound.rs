//! Outbound HTTP (`wasi:http/outgoing-handler`): the allow-list check, the
//! connect and total timeouts, service chaining to `<component>.spin.internal`,
//! and the log line that tells a user which `allowed_outbound_hosts` entry to add.
//!
//! A denied request fails in the guest with `HttpRequestDenied`, as on Spin.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{
    default_send_request, Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks,
};

use crate::allowed_hosts::AllowList;
use crate::metrics::Metrics;

/// Timeouts for outbound requests.
#[derive(Debug, Clone, Copy)]
pub struct OutboundTimeouts {
    pub connect: Duration,
    /// From sending the request to receiving the response head.
    pub total: Duration,
    /// Between two chunks of the response body.
    pub between_bytes: Duration,
}

impl Default for OutboundTimeouts {
    fn default() -> Self {
        OutboundTimeouts {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(30),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// The answer of a chained (in-process) request.
pub type ChainFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, HttpError>> + Send>>;

/// Runs a request against another component of the same app, in-process.
pub type Chain = Arc<dyn Fn(&str, http::Request<WasiBody>) -> ChainFuture + Send + Sync>;

/// The suffix that names an app component for service chaining.
const INTERNAL: &str = ".spin.internal";

/// The per-request hooks wasi:http calls into.
pub struct OutboundHooks {
    pub component: Arc<str>,
    pub allow: Arc<AllowList>,
    pub metrics: Arc<Metrics>,
    pub timeouts: OutboundTimeouts,
    /// Service chaining, for runs of the HTTP trigger only: Spin installs
    /// it there and nowhere else, so a cron run cannot chain.
    pub chain: Option<Chain>,
}

impl OutboundHooks {
    fn deny(&self, scheme: &str, host: &str, port: Option<u16>) -> ResponseFuture {
        let entry = AllowList::suggestion(scheme, host, port);
        tracing::warn!(
            component = %self.component,
            "outbound request to {scheme}://{host}{} denied: add \"{entry}\" to `allowed_outbound_hosts` of component `{}`",
            port.map(|p| format!(":{p}")).unwrap_or_default(),
            self.component
        );
        self.metrics.outbound_denied(&self.component);
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16();
        if let Some(target) = host.strip_suffix(INTERNAL) {
            // Chaining needs an explicit grant; `*://*:*` does not give it.
            if !self.allow.allows_chaining(target) {
                return self.deny(&scheme, &host, port);
            }
            let Some(chain) = &self.chain else {
                // As on Spin: outside an HTTP request the name is just a
                // host name, and it does not resolve.
                tracing::warn!(
                    component = %self.component,
                    "request to {host} failed: service chaining is only available to HTTP-triggered runs (as on Spin); this run was started by another trigger"
                );
                return Box::new(async {
                    Err(HttpError::DnsError {
                        rcode: Some("NXDOMAIN".into()),
                        info_code: None,
                    })
                });
            };
            let call = chain(target, request);
            return Box::new(async move {
                let response = call.await?;
                Ok((
                    response,
                    Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
                ))
            });
        }
        if !self.allow.allows(&scheme, &host, port) {
            return self.deny(&scheme, &host, port);
        }
        let t = self.timeouts;
        // A guest may ask for shorter timeouts, never longer ones.
        let pick =
            |asked: Option<Duration>, cap: Duration| asked.map(|a| a.min(cap)).unwrap_or(cap);
        let options = RequestOptions {
            connect_timeout: Some(pick(options.and_then(|o| o.connect_timeout), t.connect)),
            first_byte_timeout: Some(pick(options.and_then(|o| o.first_byte_timeout), t.total)),
            between_bytes_timeout: Some(pick(
                options.and_then(|o| o.between_bytes_timeout),
                t.between_bytes,
            )),
        };
        Box::new(async move {
            let sent =
                tokio::time::timeout(t.total, default_send_request(request, Some(options))).await;
            let (response, io) = match sent {
                Ok(result) => result?,
                Err(_) => return Err(HttpError::ConnectionReadTimeout),
            };
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
