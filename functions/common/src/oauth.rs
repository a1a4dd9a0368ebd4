//! The OAuth 2.0 authorization-code flow with PKCE, on the `oauth2` crate with
//! an HTTP client over Spin's outbound HTTP. Starting a flow stores a
//! single-use `state` that expires in ten minutes with its (sealed) verifier.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use spin_sdk::sqlite::Connection;

use crate::api::ApiError;
use crate::config::Config;
use crate::crypto::Keys;
use crate::db::{int, opt_text, text};
use crate::plugin_identity::{self as identity, TokenOutcome};

/// How long a started sign-in stays valid.
pub const STATE_TTL: i64 = 600;

/// A started sign-in.
pub struct Started {
    pub state: String,
    pub authorize_url: String,
    pub expires_at: i64,
}

/// Tokens from the token endpoint, or an API token the user gave.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: i64,
    /// An API token (sign-in by token): it is the access token, never
    /// expires by the clock and has nothing to refresh it with. Absent in
    /// tokens stored before sign-in by token existed, which were all OAuth.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api_token: bool,
}

impl Tokens {
    /// An API token as the account's tokens.
    pub fn api_token(token: &str) -> Tokens {
        Tokens {
            access_token: token.to_string(),
            refresh_token: None,
            expires_at: NEVER,
            api_token: true,
        }
    }
}

/// The expiry recorded for an API token: the last second of year 9999, so
/// the clock never asks for a refresh.
pub const NEVER: i64 = 253_402_300_799;

/// An HTTP failure talking to the token endpoint.
#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// `oauth2`'s HTTP client, over wasi:http.
async fn send(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let method = match parts.method.as_str() {
        "POST" => spin_sdk::http::Method::Post,
        _ => spin_sdk::http::Method::Get,
    };
    let mut b = spin_sdk::http::Request::builder();
    b.method(method).uri(parts.uri.to_string());
    for (k, v) in &parts.headers {
        b.header(k.as_str(), v.to_str().unwrap_or(""));
    }
    b.body(body);
    let resp: spin_sdk::http::Response = spin_sdk::http::send(b.build())
        .await
        .map_err(|e| HttpError(format!("{e:?}")))?;
    let mut out = oauth2::http::Response::builder().status(*resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v.as_bytes());
    }
    out.body(resp.body().to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

fn client(
    cfg: &Config,
    tenant: &str,
    redirect_uri: Option<&str>,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    ApiError,
> {
    cfg.oauth()?;
    let endpoints = identity::endpoints(&cfg.cloud, tenant);
    let bad = |what: &str| {
        ApiError::config(
            &format!("the {what} URL is not valid"),
            "check the component variable `authority` (the provider's sign-in address)",
        )
    };
    let mut c = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_client_secret(ClientSecret::new(cfg.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(endpoints.authorize_url).map_err(|_| bad("authorize"))?)
        .set_token_uri(TokenUrl::new(endpoints.token_url).map_err(|_| bad("token"))?);
    if let Some(r) = redirect_uri {
        c = c.set_redirect_uri(RedirectUrl::new(r.to_string()).map_err(|_| {
            ApiError::bad_request(
                "bad_redirect",
                "The callback URL is not valid.",
                "Reach Skyport through a valid http(s) URL.",
            )
        })?);
    }
    Ok(c)
}

/// Starts a sign-in for `org` (and, when reconnecting, `account`).
pub fn start(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    org: &str,
    account: Option<&str>,
) -> Result<Started, ApiError> {
    let redirect_uri = format!(
        "{}{}",
        crate::config::public_url()?,
        cfg.provider.callback_path()
    );
    let verifier = crate::random_token(48);
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
    let state = crate::random_token(32);
    let scopes = identity::endpoints(&cfg.cloud, &cfg.tenant).scopes;
    let c = client(cfg, &cfg.tenant, Some(&redirect_uri))?;
    let st = state.clone();
    let (url, _) = c
        .authorize_url(move || CsrfToken::new(st))
        .add_scopes(scopes.into_iter().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    let now = crate::now();
    db.execute(
        "INSERT INTO pending (state, org_id, provider, account_id, verifier, redirect_uri, authorize_url, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[text(&state), text(org), text(&cfg.provider.id), opt_text(account), text(&keys.seal(verifier.as_bytes(), &state)), text(&redirect_uri), text(url.as_str()), int(now), int(now + STATE_TTL)],
    )?;
    Ok(Started {
        state,
        authorize_url: url.to_string(),
        expires_at: now + STATE_TTL,
    })
}

/// Why the token endpoint did not give tokens.
#[derive(Debug, Clone)]
pub enum TokenFailure {
    /// What the provider said, classified by the plugin.
    Provider(TokenOutcome),
    /// No answer at all.
    Unreachable(String),
}

fn failure(e: RequestTokenError<HttpError, oauth2::basic::BasicErrorResponse>) -> TokenFailure {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let body = serde_json::json!({ "error": r.error().as_ref(), "error_description": r.error_description() }).to_string();
            TokenFailure::Provider(identity::classify_token_error(400, &body))
        }
        RequestTokenError::Parse(_, body) => TokenFailure::Provider(
            identity::classify_token_error(400, &String::from_utf8_lossy(&body)),
        ),
        RequestTokenError::Request(e) => TokenFailure::Unreachable(e.to_string()),
        RequestTokenError::Other(e) => TokenFailure::Unreachable(e),
    }
}

fn tokens(r: &oauth2::basic::BasicTokenResponse) -> Tokens {
    Tokens {
        access_token: r.access_token().secret().clone(),
        refresh_token: r.refresh_token().map(|t| t.secret().clone()),
        expires_at: crate::now() + r.expires_in().map(|d| d.as_secs() as i64).unwrap_or(3600),
        api_token: false,
    }
}

/// Redeems an authorization code with its PKCE verifier.
pub async fn exchange(
    cfg: &Config,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Tokens, TokenFailure> {
    let c = client(cfg, &cfg.tenant, Some(redirect_uri))
        .map_err(|e| TokenFailure::Unreachable(e.message))?;
    let r = c
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&send)
        .await
        .map_err(failure)?;
    Ok(tokens(&r))
}

/// Uses a refresh token, against `tenant`'s token endpoint.
pub async fn refresh(
    cfg: &Config,
    refresh_token: &str,
    tenant: &str,
) -> Result<Tokens, TokenFailure> {
    let c = client(cfg, tenant, None).map_err(|e| TokenFailure::Unreachable(e.message))?;
    let rt = RefreshToken::new(refresh_token.to_string());
    let r = c
        .exchange_refresh_token(&rt)
        .request_async(&send)
        .await
        .map_err(failure)?;
    let mut t = tokens(&r);
    // Keep the old refresh token when the provider does not rotate it.
    t.refresh_token = t.refresh_token.or_else(|| Some(refresh_token.to_string()));
    Ok(t)
}
