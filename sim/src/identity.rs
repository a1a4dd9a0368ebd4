//! The Microsoft identity platform v2: `/{tenant}/oauth2/v2.0/authorize` (a
//! sign-in and consent page a browser or a test can drive), `/token`
//! (authorization_code with PKCE, refresh_token with rotation) and
//! `/{tenant}/v2.0/adminconsent`, with the errors reference/azure.md lists.
//!
//! Failures that real Azure shows on its own pages (unknown app, redirect URI
//! mismatch) are pages here too; the rest go back to the redirect URI or come
//! as the token endpoint's JSON error body.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{enc, Req, Resp};
use crate::state::{guid, now, Code, Grant, Revocation, SignInOutcome, State};
use crate::world::{App, Tenant, User};

/// The audience of ARM access tokens.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:Segoe UI,system-ui,sans-serif;max-width:440px;margin:40px auto;padding:0 16px;color:#1b1b1b}}\
         .box{{border:1px solid #ddd;padding:24px 28px;box-shadow:0 2px 6px rgba(0,0,0,.1)}}button{{padding:8px 20px;margin-right:8px;font-size:15px}}\
         .primary{{background:#0067b8;color:#fff;border:0}}li{{margin:6px 0}}.code{{color:#666;font-size:13px}}</style></head>\
         <body><div class=\"box\"><p><strong>Microsoft</strong> <span class=\"code\">(Skyport Azure emulator)</span></p>{body}</div></body></html>"
    )
}

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `<input type="hidden" name="…" value="…">`, the value escaped: the one
/// shape every form of the emulator carries its parameters in, so a test
/// can read them back with one pattern.
pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
        escape(value)
    )
}

/// The hidden inputs of those of `names` that `value` gives a value.
pub(crate) fn hidden_inputs(names: &[&str], value: impl Fn(&str) -> Option<String>) -> String {
    names
        .iter()
        .filter_map(|n| value(n).map(|v| hidden(n, &v)))
        .collect()
}

/// A Microsoft-style error page (no redirect), as for AADSTS50011.
fn error_page(status: u16, code: u32, message: &str) -> Resp {
    Resp::html(
        status,
        page(
            "Sign in to your account",
            &format!(
                "<h1>Sorry, but we’re having trouble signing you in.</h1><p id=\"error\">AADSTS{code}: {}</p>\
                 <p class=\"code\">Request Id: {}<br>Correlation Id: {}<br>Timestamp: {}</p>",
                escape(message),
                guid(),
                guid(),
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
    )
}

/// The JSON error body of the token endpoint.
pub fn token_error(status: u16, error: &str, code: u32, description: &str) -> Resp {
    let trace = guid();
    let correlation = guid();
    let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    Resp::json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}"),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// Which tenant(s) an authority segment names.
enum Authority {
    /// `common` or `organizations`: any work account.
    Any,
    Tenant(Tenant),
}

fn authority(state: &State, segment: &str) -> Result<Authority, Resp> {
    match segment.to_ascii_lowercase().as_str() {
        "common" | "organizations" => Ok(Authority::Any),
        "consumers" => Err(error_page(400, 500200, "User account is a personal Microsoft account. Personal Microsoft accounts are not supported for this application; sign in with a work or school account.")),
        s => state
            .world
            .tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(s) || t.domain.eq_ignore_ascii_case(s))
            .cloned()
            .map(Authority::Tenant)
            .ok_or_else(|| error_page(400, 90002, &format!("Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."))),
    }
}

/// Redirect URIs match exactly, except that the port of an `http` loopback
/// URI (localhost or 127.0.0.1) is ignored, as the identity platform does.
pub fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost") | Some("127.0.0.1"))
    };
    loopback(&r)
        && loopback(&g)
        && r.host_str() == g.host_str()
        && r.path() == g.path()
        && r.query() == g.query()
}

fn app<'a>(state: &'a State, client_id: &str) -> Option<&'a App> {
    state
        .world
        .apps
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
}

/// Describes a scope for the consent page; `None` for scopes the emulator does not know.
fn describe(scope: &str) -> Option<&'static str> {
    let s = scope.to_ascii_lowercase();
    Some(match s.as_str() {
        "openid" => "Sign you in",
        "profile" => "View your basic profile",
        "email" => "View your email address",
        "offline_access" => "Maintain access to data you have given it access to",
        _ if is_arm_scope(&s) => {
            "Access Azure Service Management as you (Windows Azure Service Management API)"
        }
        _ => return None,
    })
}

fn is_arm_scope(scope: &str) -> bool {
    let s = scope.to_ascii_lowercase();
    [
        "https://management.azure.com/",
        "https://management.core.windows.net/",
        "https://management.core.windows.net//",
    ]
    .iter()
    .any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest == "user_impersonation" || rest == ".default")
    })
}

/// The authorize parameters that travel through the consent form.
const CARRIED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "login_hint",
    "prompt",
];

/// A parameter of the form body, else of the query string.
pub(crate) fn param(
    req: &Req,
    form: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    form.get(name)
        .cloned()
        .or_else(|| req.q(name).map(str::to_string))
}

/// Sends the authorization response to the client the way `response_mode` asks.
pub(crate) fn respond(
    redirect_uri: &str,
    mode: Option<&str>,
    fields: &[(&str, String)],
    state: &str,
) -> Resp {
    let mut fields = fields.to_vec();
    if !state.is_empty() {
        fields.push(("state", state.to_string()));
    }
    match mode {
        Some("form_post") => {
            let inputs: String = fields.iter().map(|(k, v)| hidden(k, v)).collect();
            Resp::html(200, format!("<!doctype html><html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}<noscript><button>Continue</button></noscript></form></body></html>", escape(redirect_uri)))
        }
        Some("fragment") => {
            let q: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect();
            Resp::redirect(&format!("{redirect_uri}#{}", q.join("&")))
        }
        _ => {
            let q: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect();
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            Resp::redirect(&format!("{redirect_uri}{sep}{}", q.join("&")))
        }
    }
}

/// The answer when the user cancels: `access_denied` with `error_subcode=cancel`.
fn declined(redirect_uri: &str, mode: Option<&str>, st: &str) -> Resp {
    let fields = [
        ("error", "access_denied".to_string()),
        ("error_subcode", "cancel".to_string()),
        (
            "error_description",
            "AADSTS65004: User declined to consent to access the app.".to_string(),
        ),
    ];
    respond(redirect_uri, mode, &fields, st)
}

/// `GET|POST /{tenant}/oauth2/v2.0/authorize`.
pub fn authorize(state: &mut State, tenant_segment: &str, req: &Req) -> Resp {
    let form = if req.method == http::Method::POST {
        req.form()
    } else {
        Default::default()
    };
    let p = |n: &str| param(req, &form, n);
    let authority = match authority(state, tenant_segment) {
        Ok(a) => a,
        Err(page) => return page,
    };
    let Some(client_id) = p("client_id") else {
        return error_page(
            400,
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(app) = app(state, &client_id).cloned() else {
        return error_page(400, 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant_segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."));
    };
    if matches!(authority, Authority::Any) && !app.multi_tenant {
        return error_page(400, 50194, &format!("Application '{client_id}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", app.name));
    }
    let redirect_uri = match p("redirect_uri") {
        Some(r) => r,
        None if app.redirect_uris.len() == 1 => app.redirect_uris[0].clone(),
        None => {
            return error_page(
                400,
                900144,
                "The request body must contain the following parameter: 'redirect_uri'.",
            )
        }
    };
    if !app
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(r, &redirect_uri))
    {
        return error_page(400, 50011, &format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."));
    }
    let mode = p("response_mode");
    let st = p("state").unwrap_or_default();
    let fail = |error: &str, code: u32, description: &str| {
        let fields = vec![
            ("error", error.to_string()),
            ("error_description", format!("AADSTS{code}: {description}")),
        ];
        respond(&redirect_uri, mode.as_deref(), &fields, &st)
    };
    if p("response_type").as_deref() != Some("code") {
        return fail("unsupported_response_type", 700054, "response_type 'code' is required; this emulator implements the authorization code flow.");
    }
    let scope = p("scope").unwrap_or_default();
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.is_empty() {
        return fail(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    }
    if let Some(unknown) = scopes.iter().find(|s| describe(s).is_none()) {
        return fail("invalid_scope", 70011, &format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {unknown} is not valid."));
    }
    let challenge = p("code_challenge");
    let method = p("code_challenge_method").unwrap_or_else(|| "plain".into());
    if challenge.is_some() && method != "S256" && method != "plain" {
        return fail(
            "invalid_request",
            50148,
            "The code_challenge_method is not supported; use S256.",
        );
    }

    let decision = form.get("decision").map(String::as_str);
    if req.method != http::Method::POST || decision.is_none() {
        return consent_page(state, tenant_segment, &app, req, &form, &scopes, &authority);
    }
    if decision == Some("deny") {
        return declined(&redirect_uri, mode.as_deref(), &st);
    }

    let username = form
        .get("user")
        .cloned()
        .or_else(|| p("login_hint"))
        .unwrap_or_default();
    let Some(user) = state.user(&username).cloned() else {
        return error_page(400, 50034, &format!("The user account {username} does not exist in the directory. To sign into this application, the account must be added to the directory."));
    };
    let tenant = match &authority {
        Authority::Any => state
            .world
            .tenants
            .iter()
            .find(|t| t.id == user.tenant)
            .cloned()
            .expect("checked world"),
        Authority::Tenant(t) => {
            if user.tenant != t.id && !user.guest_of.contains(&t.id) {
                return error_page(400, 50020, &format!("User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{}' and cannot access the application '{client_id}'({}) in that tenant.", user.username, user.tenant, t.name, app.name));
            }
            t.clone()
        }
    };
    let scripted = state.next_sign_in.take();
    if scripted == Some(SignInOutcome::Deny) {
        return declined(&redirect_uri, mode.as_deref(), &st);
    }
    let needs_admin = scripted == Some(SignInOutcome::AdminConsentRequired)
        || (tenant.admin_consent_required
            && !state
                .admin_consents
                .contains(&(tenant.id.clone(), app.client_id.clone())));
    if needs_admin {
        return admin_approval_page(&tenant, &app, &redirect_uri, mode.as_deref(), &st);
    }

    state
        .consents
        .insert((user.id.clone(), app.client_id.clone()));
    let code = format!("1.{}{}", guid().replace('-', ""), guid().replace('-', ""));
    state.codes.insert(
        code.clone(),
        Code {
            client_id: app.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            user: user.id.clone(),
            tenant: tenant.id.clone(),
            scope: scope.clone(),
            challenge: challenge.map(|c| (c, method)),
            expires: now() + 600,
            redeemed: false,
            nonce: p("nonce").filter(|n| !n.is_empty()),
        },
    );
    let mut fields = vec![("code", code)];
    fields.push(("session_state", guid()));
    respond(&redirect_uri, mode.as_deref(), &fields, &st)
}

fn consent_page(
    state: &State,
    tenant_segment: &str,
    app: &App,
    req: &Req,
    form: &std::collections::BTreeMap<String, String>,
    scopes: &[&str],
    authority: &Authority,
) -> Resp {
    let hidden = hidden_inputs(CARRIED, |n| param(req, form, n));
    let users: Vec<_> = state
        .world
        .users
        .iter()
        .filter(|u| match authority {
            Authority::Any => true,
            Authority::Tenant(t) => u.tenant == t.id || u.guest_of.contains(&t.id),
        })
        .collect();
    let hint = param(req, form, "login_hint");
    let options = user_options(users.iter().copied(), hint.as_deref());
    let mut seen = std::collections::BTreeSet::new();
    let permissions: String = scopes
        .iter()
        .filter_map(|s| describe(s))
        .filter(|d| seen.insert(*d))
        .map(|d| format!("<li>{d}</li>"))
        .collect();
    Resp::html(
        200,
        page(
            "Permissions requested",
            &format!(
                "<form method=\"post\" action=\"/{}/oauth2/v2.0/authorize\">{hidden}\
                 <h1>Permissions requested</h1><p><strong>{}</strong> (unverified)<br>This app would like to:</p>\
                 <ul id=\"permissions\">{permissions}</ul>\
                 <p><label for=\"user\">Sign in as</label><br><select id=\"user\" name=\"user\">{options}</select></p>\
                 <p>Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement.</p>\
                 <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Cancel</button>\
                 <button type=\"submit\" class=\"primary\" name=\"decision\" value=\"accept\" id=\"accept\">Accept</button></form>",
                escape(tenant_segment),
                escape(&app.name)
            ),
        ),
    )
}

fn admin_approval_page(
    tenant: &Tenant,
    app: &App,
    redirect_uri: &str,
    mode: Option<&str>,
    st: &str,
) -> Resp {
    let fields = vec![
        ("error", "access_denied".to_string()),
        ("error_description", format!("AADSTS90094: Admin consent is required for the permissions requested by this application. An admin of '{}' must grant consent.", tenant.name)),
    ];
    let back = respond(redirect_uri, mode, &fields, st);
    let href = back
        .get_header("location")
        .unwrap_or(redirect_uri)
        .to_string();
    Resp::html(
        200,
        page(
            "Need admin approval",
            &format!(
                "<h1>Need admin approval</h1><p><strong>{}</strong></p><p id=\"error\">AADSTS90094: {} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>\
                 <p><a id=\"return\" href=\"{}\">Return to the application without granting consent</a></p>",
                escape(&app.name),
                escape(&app.name),
                escape(&href)
            ),
        ),
    )
}

/// `GET|POST /{tenant}/v2.0/adminconsent`.
///
/// `{tenant}` is a tenant id, a verified domain, or `organizations` (the
/// admin's home tenant is then the one consented for); `common` is refused,
/// since a personal account cannot consent for an organization.
pub fn admin_consent(state: &mut State, tenant_segment: &str, req: &Req) -> Resp {
    let form = if req.method == http::Method::POST {
        req.form()
    } else {
        Default::default()
    };
    let p = |n: &str| param(req, &form, n);
    let fixed = match tenant_segment.to_ascii_lowercase().as_str() {
        "common" => {
            return error_page(
                400,
                90002,
                "Tenant 'common' is not valid for admin consent. Use a tenant ID, a verified domain of the tenant, or 'organizations'; personal Microsoft accounts cannot grant consent for an organization.",
            )
        }
        "organizations" => None,
        _ => match authority(state, tenant_segment) {
            Ok(Authority::Tenant(t)) => Some(t),
            Ok(Authority::Any) => unreachable!("common and organizations are handled above"),
            Err(page) => return page,
        },
    };
    let Some(app) = p("client_id").and_then(|c| app(state, &c).cloned()) else {
        return error_page(400, 700016, "Application was not found in the directory.");
    };
    let redirect_uri = p("redirect_uri").unwrap_or_else(|| app.redirect_uris[0].clone());
    if !app
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(r, &redirect_uri))
    {
        return error_page(400, 50011, &format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'.", app.client_id));
    }
    let st = p("state").unwrap_or_default();
    let decision = form.get("decision").map(String::as_str);
    // With `organizations` the admin signs in first; their home tenant is
    // the one that consents.
    let signed_in = form
        .get("user")
        .cloned()
        .or_else(|| p("login_hint"))
        .and_then(|u| state.user(&u).cloned());
    let tenant = match (&fixed, decision, &signed_in) {
        (Some(t), _, _) => Some(t.clone()),
        (None, Some(_), Some(u)) => state
            .world
            .tenants
            .iter()
            .find(|t| t.id == u.tenant)
            .cloned(),
        (None, Some("accept"), None) => {
            let username = form.get("user").cloned().unwrap_or_default();
            return error_page(400, 50034, &format!("The user account {username} does not exist in the directory. To sign into this application, the account must be added to the directory."));
        }
        (None, _, _) => None,
    };
    match (decision, tenant) {
        (Some("accept"), Some(tenant)) => {
            state
                .admin_consents
                .insert((tenant.id.clone(), app.client_id.clone()));
            let fields = vec![
                ("admin_consent", "True".to_string()),
                ("tenant", tenant.id.clone()),
                ("scope", p("scope").unwrap_or_default()),
            ];
            respond(&redirect_uri, None, &fields, &st)
        }
        // Declined: the documented error answer, which carries the state
        // but no `admin_consent`.
        (Some(_), _) => {
            let fields = vec![
                ("error", "permission_denied".to_string()),
                (
                    "error_description",
                    "The admin canceled the request".to_string(),
                ),
            ];
            respond(&redirect_uri, None, &fields, &st)
        }
        (None, tenant) => {
            let hidden = hidden_inputs(&["client_id", "redirect_uri", "scope", "state"], p);
            let (org, picker) = match &tenant {
                Some(t) => (escape(&t.name), String::new()),
                None => {
                    let hint = p("login_hint");
                    let options = user_options(state.world.users.iter(), hint.as_deref());
                    (
                        "your organization".to_string(),
                        format!("<p><label for=\"user\">Sign in as</label><br><select id=\"user\" name=\"user\">{options}</select></p>"),
                    )
                }
            };
            Resp::html(
                200,
                page(
                    "Permissions requested — accept for your organization",
                    &format!(
                        "<form method=\"post\" action=\"/{}/v2.0/adminconsent\">{hidden}<h1>Permissions requested</h1>\
                         <p><strong>{}</strong><br>Accept for your organization ({org})</p><ul><li>Access Azure Service Management as organization users</li></ul>{picker}\
                         <button name=\"decision\" value=\"deny\" id=\"deny\">Cancel</button> <button class=\"primary\" name=\"decision\" value=\"accept\" id=\"accept\">Accept</button></form>",
                        escape(tenant_segment),
                        escape(&app.name),
                    ),
                ),
            )
        }
    }
}

/// The client id and secret a token request authenticates with: the
/// `client_id` and `client_secret` parameters, else those of
/// `Authorization: Basic`.
pub(crate) fn client_credentials(
    req: &Req,
    params: &std::collections::BTreeMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = basic_auth(req);
    let id = params
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = params
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1));
    (id, secret)
}

/// The client id and secret of `Authorization: Basic`, each form-decoded (RFC 6749 §2.3.1).
fn basic_auth(req: &Req) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let d = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((d(id), d(secret)))
}

/// Whether `verifier` answers the `(code_challenge, method)` of RFC 7636
/// (`S256`, else `plain`).
pub(crate) fn pkce_ok(challenge: &(String, String), verifier: &str) -> bool {
    use base64::Engine;
    match challenge.1.as_str() {
        "S256" => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()))
                == challenge.0
        }
        _ => challenge.0 == verifier,
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub fn token(state: &mut State, tenant_segment: &str, req: &Req) -> Resp {
    if req.method != http::Method::POST {
        return token_error(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    let content_type = req.header("content-type").unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return token_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'. The body must be application/x-www-form-urlencoded.");
    }
    let authority = match authority(state, tenant_segment) {
        Ok(a) => a,
        Err(_) => {
            return token_error(
                400,
                "invalid_request",
                90002,
                &format!("Tenant '{tenant_segment}' not found."),
            )
        }
    };
    let form = req.form();
    let (client_id, secret) = client_credentials(req, &form);
    let Some(client_id) = client_id else {
        return token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(app) = app(state, &client_id).cloned() else {
        return token_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant_segment}'."));
    };
    match (&app.client_secret, &secret) {
        (Some(_), None) => return token_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
        (Some(expected), Some(given)) if expected != given => {
            return token_error(401, "invalid_client", 7000215, &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id))
        }
        (None, Some(_)) => return token_error(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
        _ => {}
    }
    let Some(grant_type) = form.get("grant_type") else {
        return token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    match grant_type.as_str() {
        "authorization_code" => {
            let Some(code_value) = form.get("code") else {
                return token_error(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'code'.",
                );
            };
            let Some(code) = state.codes.get_mut(code_value) else {
                return token_error(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                );
            };
            if code.redeemed {
                return token_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
            }
            if code.expires < now() {
                return token_error(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.");
            }
            if !code.client_id.eq_ignore_ascii_case(&app.client_id) {
                return token_error(400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to another client.");
            }
            if form.get("redirect_uri") != Some(&code.redirect_uri) {
                return token_error(400, "invalid_grant", 500112, "The reply address does not match the reply address provided when requesting Authorization code.");
            }
            if let Some(ch) = &code.challenge {
                match form.get("code_verifier") {
                    None => return token_error(400, "invalid_grant", 900144, "The request body must contain the following parameter: 'code_verifier'."),
                    Some(v) if !pkce_ok(ch, v) => return token_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."),
                    _ => {}
                }
            }
            code.redeemed = true;
            let code = code.clone();
            let extras = Extras {
                nonce: code.nonce.as_deref(),
                client_info: wants_client_info(&form),
            };
            issue(state, &app, &code.user, &code.tenant, &code.scope, extras)
        }
        "refresh_token" => {
            let Some(rt) = form.get("refresh_token") else {
                return token_error(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'refresh_token'.",
                );
            };
            let Some(grant) = state.grants.get(rt).cloned() else {
                return token_error(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                );
            };
            if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
                return token_error(400, "invalid_grant", 70000, "The provided value for the 'refresh_token' parameter is not valid. It was issued to another client.");
            }
            // A refresh token unused for too long has died of inactivity.
            let idle = now() - grant.issued;
            if idle > state.world.settings.refresh_token_idle_secs {
                let issued = chrono::DateTime::from_timestamp(grant.issued, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                let (code, text) = Revocation::Expired.aadsts();
                let span = state.world.settings.refresh_token_idle_secs;
                let text = text.replace("{issued}", &issued).replace(
                    "90.00:00:00",
                    &format!(
                        "{}.{:02}:{:02}:{:02}",
                        span / 86400,
                        span % 86400 / 3600,
                        span % 3600 / 60,
                        span % 60
                    ),
                );
                return token_error(400, "invalid_grant", code, &text);
            }
            if let Some((at, why)) = state.revocations.get(&grant.user) {
                if *at > grant.seq {
                    let (code, text) = why.aadsts();
                    let issued = chrono::DateTime::from_timestamp(grant.issued, 0)
                        .map(|d| d.to_rfc3339())
                        .unwrap_or_default();
                    return token_error(
                        400,
                        "invalid_grant",
                        code,
                        &text.replace("{issued}", &issued),
                    );
                }
            }
            let user = grant.user.clone();
            let Some(u) = state.user(&user).cloned() else {
                return token_error(
                    400,
                    "invalid_grant",
                    50034,
                    "The user account does not exist in the directory.",
                );
            };
            let tenant = match authority {
                Authority::Any => u.tenant.clone(),
                Authority::Tenant(t) => {
                    if u.tenant != t.id && !u.guest_of.contains(&t.id) {
                        return token_error(
                            400,
                            "invalid_grant",
                            50020,
                            &format!(
                                "User account '{}' does not exist in tenant '{}'.",
                                u.username, t.name
                            ),
                        );
                    }
                    t.id
                }
            };
            let scope = form.get("scope").cloned().unwrap_or(grant.scope.clone());
            let extras = Extras {
                nonce: None,
                client_info: wants_client_info(&form),
            };
            issue(state, &app, &user, &tenant, &scope, extras)
        }
        other => token_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

/// What a token response carries beyond the tokens.
struct Extras<'a> {
    /// The authorize request's `nonce`, for the id_token.
    nonce: Option<&'a str>,
    /// `client_info=1` was sent: answer with `client_info`.
    client_info: bool,
}

fn wants_client_info(form: &std::collections::BTreeMap<String, String>) -> bool {
    form.get("client_info").map(String::as_str) == Some("1")
}

/// The `client_info` of a token response: base64url (no padding) of
/// `{"uid": <user object id>, "utid": <the user's home tenant id>}`.
pub fn client_info(uid: &str, utid: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "uid": uid, "utid": utid }).to_string())
}

/// Mints an access token (and a refresh and id token when asked for).
fn issue(
    state: &mut State,
    app: &App,
    user_id: &str,
    tenant: &str,
    scope: &str,
    extras: Extras<'_>,
) -> Resp {
    let user = state
        .user(user_id)
        .cloned()
        .expect("users are never removed");
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let lifetime = state.world.settings.access_token_lifetime_secs;
    let iat = now();
    let seq = state.next_seq();
    let audience = if scopes.iter().any(|s| {
        s.to_ascii_lowercase()
            .starts_with("https://management.core.windows.net")
    }) {
        "https://management.core.windows.net/"
    } else {
        ARM_AUDIENCE
    };
    let access = crate::jwt::encode(
        &state.key,
        &json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": iat, "nbf": iat, "exp": iat + lifetime,
            "appid": app.client_id,
            "oid": user.id, "sub": user.id,
            "tid": tenant,
            "name": user.name, "upn": user.username,
            "scp": "user_impersonation",
            "uti": guid(),
            // Orders tokens against `expire_access_tokens` within one second.
            "xms_seq": seq,
            "ver": "1.0",
        }),
    );
    let resource_scopes: Vec<&str> = scopes.iter().copied().filter(|s| is_arm_scope(s)).collect();
    let mut body = json!({
        "token_type": "Bearer",
        "scope": if resource_scopes.is_empty() { format!("{ARM_AUDIENCE}/user_impersonation") } else { resource_scopes.join(" ") },
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access,
    });
    if scopes
        .iter()
        .any(|s| s.eq_ignore_ascii_case("offline_access"))
    {
        let rt = format!(
            "1.A{}{}{}",
            guid().replace('-', ""),
            guid().replace('-', ""),
            guid().replace('-', "")
        );
        let seq = state.next_seq();
        state.grants.insert(
            rt.clone(),
            Grant {
                client_id: app.client_id.clone(),
                user: user.id.clone(),
                scope: scope.to_string(),
                issued: iat,
                seq,
            },
        );
        body["refresh_token"] = Value::String(rt);
    }
    if scopes.iter().any(|s| s.eq_ignore_ascii_case("openid")) {
        let mut claims = json!({
            "aud": app.client_id,
            "iss": format!("{}/{tenant}/v2.0", state.base_url),
            "iat": iat, "nbf": iat, "exp": iat + lifetime,
            "oid": user.id, "sub": user.id, "tid": tenant,
            "name": user.name, "preferred_username": user.username,
            "ver": "2.0",
        });
        if let Some(nonce) = extras.nonce {
            claims["nonce"] = Value::String(nonce.to_string());
        }
        body["id_token"] = Value::String(crate::jwt::encode(&state.key, &claims));
    }
    if extras.client_info {
        body["client_info"] = Value::String(client_info(&user.id, &user.tenant));
    }
    Resp::json(200, &body)
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub fn openid_configuration(state: &State, tenant: &str) -> Resp {
    let base = &state.base_url;
    Resp::json(
        200,
        &json!({
            // Entra's multi-tenant documents name no tenant: the issuer has
            // a placeholder each token's `tid` fills.
            "issuer": match tenant.to_ascii_lowercase().as_str() {
                "common" | "organizations" | "consumers" => format!("{base}/{{tenantid}}/v2.0"),
                _ => format!("{base}/{tenant}/v2.0"),
            },
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["pairwise"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid", "preferred_username", "tid", "ver"],
            "request_uri_parameter_supported": false,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }),
    )
}

/// The sign-in picker's `<option>`s, the one matching `login_hint` selected.
fn user_options<'a>(users: impl Iterator<Item = &'a User>, hint: Option<&str>) -> String {
    users
        .map(|u| {
            let selected = if hint.is_some_and(|h| h.eq_ignore_ascii_case(&u.username)) {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{} ({})</option>",
                escape(&u.username),
                escape(&u.name),
                escape(&u.username)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_are_flexible_others_exact() {
        assert!(redirect_matches(
            "http://localhost:3000/cb",
            "http://localhost:51234/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:9/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost:3000/cb",
            "http://localhost:3000/other"
        ));
        assert!(!redirect_matches(
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost:3000/cb",
            "http://127.0.0.1:3000/cb"
        ));
    }

    #[test]
    fn arm_scopes() {
        assert!(is_arm_scope(
            "https://management.azure.com/user_impersonation"
        ));
        assert!(is_arm_scope(
            "https://management.core.windows.net//user_impersonation"
        ));
        assert!(is_arm_scope("https://management.azure.com/.default"));
        assert!(!is_arm_scope("https://graph.microsoft.com/User.Read"));
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let ch = (
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string(),
            "S256".to_string(),
        );
        assert!(pkce_ok(&ch, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!pkce_ok(&ch, "wrong"));
    }
}
