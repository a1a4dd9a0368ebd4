//! The variables the functions read. A provider's endpoints and app
//! registration reach each function instance under the same neutral names
//! (`client_id`, `authority`, …), mapped from the app's variables in
//! spin.toml, so the code reads them without naming the provider.

use crate::api::ApiError;
use crate::plugin_types::Cloud;
use crate::provider::Provider;

/// The settings every request to the provider needs.
pub struct Config {
    pub provider: Provider,
    /// The app registration and directory of an OAuth sign-in: empty for a
    /// provider that signs in by API token, and checked where a sign-in or
    /// refresh uses them ([`Config::oauth`]).
    pub client_id: String,
    pub client_secret: String,
    pub cloud: Cloud,
    /// `organizations` (any work account), `common`, or a tenant id.
    pub tenant: String,
}

/// A variable's value; `None` when it is unset or empty.
#[cfg(target_arch = "wasm32")]
pub fn get(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|v| !v.is_empty())
}

/// Built natively (the unit tests) there is no Spin to ask: every variable
/// is unset, so the words are the defaults.
#[cfg(not(target_arch = "wasm32"))]
pub fn get(_name: &str) -> Option<String> {
    None
}

fn unset(provider: &str, what: &str) -> ApiError {
    ApiError::config(
        &format!("the component variable `{what}` is not set"),
        &format!("give the {provider} instance of this function `{what}` in spin.toml, from the app variable that holds it (see the README)"),
    )
}

impl Config {
    pub fn load() -> Result<Config, ApiError> {
        let provider = Provider::load()?;
        let need = |what: &str| get(what).ok_or_else(|| unset(&provider.id, what));
        let management = need("management")?;
        Ok(Config {
            client_id: get("client_id").unwrap_or_default(),
            client_secret: get("client_secret").unwrap_or_default(),
            cloud: Cloud {
                authority: get("authority").unwrap_or_default(),
                audience: get("resource").unwrap_or_else(|| management.clone()),
                management,
            },
            tenant: get("tenant").unwrap_or_default(),
            provider,
        })
    }

    /// Checks that the OAuth settings are all there, before a sign-in or a
    /// refresh needs them.
    pub fn oauth(&self) -> Result<&Config, ApiError> {
        for (what, value) in [
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("authority", &self.cloud.authority),
            ("tenant", &self.tenant),
        ] {
            if value.is_empty() {
                return Err(unset(&self.provider.id, what));
            }
        }
        Ok(self)
    }
}

/// The current token key and, during a rotation, the previous one (base64, 32 bytes each).
pub fn token_keys() -> (Option<String>, Option<String>) {
    (get("token_key"), get("token_key_previous"))
}

/// The API key that creates the first organization, if configured.
pub fn bootstrap_api_key() -> Option<String> {
    get("bootstrap_api_key")
}

/// The provider's public price list (the component variable `prices`).
pub fn prices_endpoint() -> Result<String, ApiError> {
    get("prices").ok_or_else(|| {
        ApiError::config(
            "the component variable `prices` is not set",
            "give this function `prices` in spin.toml, from the app variable that holds the provider's price list",
        )
    })
}

/// Where users reach Skyport: `scheme://host[:port]`, from the variable
/// `public_url`, never from a request's Host header (which a caller chooses).
pub fn public_url() -> Result<String, ApiError> {
    let url = get("public_url").ok_or_else(|| {
        ApiError::config(
            "the variable `public_url` is not set",
            "set SPIN_VARIABLE_PUBLIC_URL to the address users reach Skyport at, e.g. https://skyport.example.com",
        )
    })?;
    let url = url.trim_end_matches('/').to_string();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|host| {
        !host.is_empty()
            && !host.contains(['/', '?', '#', '@', ' '])
            && host.chars().all(|c| c.is_ascii_graphic())
    });
    if !ok {
        return Err(ApiError::config(
            &format!("`public_url` is `{url}`, not a scheme and host"),
            "set it to scheme and host only, e.g. https://skyport.example.com (https in production)",
        ));
    }
    Ok(url)
}
