//! The app variables the functions read. Endpoints are configuration: the
//! public cloud by default, a sovereign cloud or the emulator by setting them.

use spin_sdk::variables;

use crate::api::ApiError;
use crate::plugin_types::Cloud;

/// The settings every request needs.
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    pub cloud: Cloud,
    /// `organizations` (any work account), `common`, or a tenant id.
    pub tenant: String,
}

fn get(name: &str) -> Option<String> {
    variables::get(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    pub fn load() -> Result<Config, ApiError> {
        let missing = |what: &str| {
            ApiError::config(&format!("the variable `{what}` is not set"), &format!("set SPIN_VARIABLE_{} (see the README: connecting a real Azure app registration)", what.to_ascii_uppercase()))
        };
        Ok(Config {
            client_id: get("azure_client_id").ok_or_else(|| missing("azure_client_id"))?,
            client_secret: get("azure_client_secret")
                .ok_or_else(|| missing("azure_client_secret"))?,
            cloud: Cloud {
                authority: get("azure_authority")
                    .unwrap_or_else(|| "https://login.microsoftonline.com".into()),
                management: get("azure_management")
                    .unwrap_or_else(|| "https://management.azure.com".into()),
                audience: get("azure_resource")
                    .unwrap_or_else(|| "https://management.azure.com".into()),
            },
            tenant: get("azure_tenant").unwrap_or_else(|| "organizations".into()),
        })
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

/// The provider's public price list (`azure_prices`; Azure's own when unset).
pub fn prices_endpoint() -> String {
    get("azure_prices").unwrap_or_else(|| "https://prices.azure.com".into())
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
