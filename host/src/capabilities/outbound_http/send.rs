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

use super::allowed_hosts::AllowList;
use super::blocked_networks::BlockedNetworks;
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
    /// Addresses no request may reach (runtime config).
    pub blocked: Arc<BlockedNetworks>,
    /// The authorities TLS trusts (public roots, plus `ca_file`'s).
    pub tls: super::Trust,
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
            // Granted as Spin grants it: by the same check as any URL, so
            // `*.spin.internal`, the exact host or `*://*:*`.
            if !self.allow.allows(&scheme, &host, port) {
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
        // wasi-http's own client trusts only the public roots, and connects
        // to whatever the name resolves to: with blocked networks or extra
        // authorities, the request takes the checked path instead.
        if !self.blocked.is_empty() || self.tls.has_extra() {
            let blocked = self.blocked.clone();
            let component = self.component.clone();
            let tls = self.tls.client.clone();
            return Box::new(async move {
                match tokio::time::timeout(
                    t.total,
                    send_checked(request, options, &blocked, &component, tls),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(HttpError::ConnectionReadTimeout),
                }
            });
        }
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

/// What a checked send answers: the response and the future driving its
/// connection.
type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

/// Sends a request when networks are blocked or extra authorities trusted:
/// the host name is resolved once, blocked addresses are dropped (all
/// blocked: `destination-ip-prohibited`), and the connection goes to exactly
/// the addresses checked — never to a second resolution, which DNS rebinding
/// could point elsewhere. TLS verifies the certificate against the host name,
/// with the authorities `tls_config` trusts.
async fn send_checked(
    mut request: http::Request<WasiBody>,
    options: RequestOptions,
    blocked: &BlockedNetworks,
    component: &str,
    tls_config: Arc<rustls::ClientConfig>,
) -> Result<Sent, HttpError> {
    let uri = request.uri().clone();
    let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let connect = options.connect_timeout.unwrap_or(Duration::from_secs(10));

    let resolved: Vec<std::net::SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![(ip, port).into()],
        Err(_) => {
            match tokio::time::timeout(connect, tokio::net::lookup_host((host.as_str(), port)))
                .await
            {
                Ok(Ok(a)) => a.collect(),
                Ok(Err(_)) => {
                    return Err(HttpError::DnsError {
                        rcode: Some("address not available".into()),
                        info_code: None,
                    })
                }
                Err(_) => return Err(HttpError::DnsTimeout),
            }
        }
    };
    let (refused, allowed): (Vec<_>, Vec<_>) = resolved
        .into_iter()
        .partition(|a| blocked.is_blocked(a.ip()));
    if allowed.is_empty() {
        tracing::warn!(
            component = %component,
            "outbound request to {host} refused: every address it resolves to ({}) is in the runtime config's block_networks",
            refused.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Err(HttpError::DestinationIpProhibited);
    }

    let stream =
        match tokio::time::timeout(connect, tokio::net::TcpStream::connect(&allowed[..])).await {
            Ok(Ok(s)) => s,
            Ok(Err(_)) => return Err(HttpError::ConnectionRefused),
            Err(_) => return Err(HttpError::ConnectionTimeout),
        };
    let _ = stream.set_nodelay(true);
    // The request line carries only the path; the Host header the authority.
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    if !request.headers().contains_key(http::header::HOST) {
        if let Ok(v) = http::HeaderValue::from_str(&authority) {
            request.headers_mut().insert(http::header::HOST, v);
        }
    }
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;

    let waits = (
        options
            .first_byte_timeout
            .unwrap_or(Duration::from_secs(30)),
        options
            .between_bytes_timeout
            .unwrap_or(Duration::from_secs(30)),
    );
    if tls {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| HttpError::HttpRequestUriInvalid)?;
        let tls_stream = tokio::time::timeout(
            connect,
            tokio_rustls::TlsConnector::from(tls_config).connect(name, stream),
        )
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(|_| HttpError::TlsProtocolError)?;
        exchange(tls_stream, request, connect, waits).await
    } else {
        exchange(stream, request, connect, waits).await
    }
}

/// One HTTP/1 exchange over an open connection; `waits` are the first-byte
/// and between-bytes timeouts.
async fn exchange<S>(
    stream: S,
    request: http::Request<WasiBody>,
    connect: Duration,
    (first_byte, between): (Duration, Duration),
) -> Result<Sent, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = tokio::time::timeout(
        connect,
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)?
    .map_err(|_| HttpError::ConnectionTerminated)?;
    let driver = tokio::spawn(conn);
    let response = tokio::time::timeout(first_byte, sender.send_request(request))
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)?
        .map_err(|_| HttpError::ConnectionTerminated)?;
    let response = response.map(|body| {
        TimedBody {
            inner: body,
            between,
            timer: Box::pin(tokio::time::sleep(between)),
        }
        .boxed_unsync()
    });
    let io = async move {
        match driver.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(HttpError::ConnectionTerminated),
        }
    };
    Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
}

/// A response body that fails with `connection-read-timeout` when no part
/// of it arrives for `between`, as the default sender's does.
struct TimedBody {
    inner: hyper::body::Incoming,
    between: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for TimedBody {
    type Data = bytes::Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + self.between;
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(_))) => Poll::Ready(Some(Err(HttpError::ConnectionTerminated))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
