//! `skyport:identity` for the Microsoft identity platform v2.

use azure_arm::aad::{self, Callback, TokenError};
use azure_arm::enc;
use base64::Engine;

use crate::exports::skyport::identity::identity::{
    CallbackOutcome, Guest, OauthEndpoints, Principal, TokenOutcome,
};
use crate::Plugin;
use azure_arm::contract::types::Cloud;

fn base(cloud: &Cloud) -> &str {
    cloud.authority.trim_end_matches('/')
}

/// The delegated ARM scope for the cloud's management resource
/// (`https://management.azure.com/user_impersonation` in the public cloud).
fn arm_scope(cloud: &Cloud) -> String {
    format!(
        "{}/user_impersonation",
        cloud.audience.trim_end_matches('/')
    )
}

impl Guest for Plugin {
    fn endpoints(cloud: Cloud, tenant: String) -> OauthEndpoints {
        OauthEndpoints {
            authorize_url: format!("{}/{tenant}/oauth2/v2.0/authorize", base(&cloud)),
            token_url: format!("{}/{tenant}/oauth2/v2.0/token", base(&cloud)),
            scopes: vec![
                arm_scope(&cloud),
                "offline_access".into(),
                "openid".into(),
                "profile".into(),
            ],
        }
    }

    fn admin_consent_url(
        cloud: Cloud,
        tenant: String,
        client_id: String,
        redirect_uri: String,
        state: String,
    ) -> String {
        format!(
            "{}/{}/v2.0/adminconsent?client_id={}&scope={}&redirect_uri={}&state={}",
            base(&cloud),
            enc(&tenant),
            enc(&client_id),
            enc(&arm_scope(&cloud)),
            enc(&redirect_uri),
            enc(&state)
        )
    }

    fn classify_callback(
        error: String,
        description: Option<String>,
        subcode: Option<String>,
    ) -> CallbackOutcome {
        match aad::classify_callback(&error, description.as_deref(), subcode.as_deref()) {
            Callback::Denied => CallbackOutcome::Denied,
            Callback::AdminConsentRequired => CallbackOutcome::AdminConsentRequired,
            Callback::Failed(m) => CallbackOutcome::Failed(m),
        }
    }

    fn classify_token_error(status: u16, body: String) -> TokenOutcome {
        match aad::classify_token_error(status, &body) {
            TokenError::GrantExpired(m) => TokenOutcome::GrantExpired(m),
            TokenError::AdminConsentRequired(m) => TokenOutcome::AdminConsentRequired(m),
            TokenError::ClientMisconfigured(m) => TokenOutcome::ClientMisconfigured(m),
            TokenError::Transient(m) => TokenOutcome::Transient(m),
            TokenError::Failed(m) => TokenOutcome::Failed(m),
        }
    }

    fn principal_of(access_token: String) -> Option<Principal> {
        let payload = access_token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        Some(Principal {
            tenant_id: claims["tid"].as_str()?.to_string(),
            user_id: claims["oid"].as_str()?.to_string(),
            name: claims["name"]
                .as_str()
                .or(claims["upn"].as_str())
                .map(str::to_string),
        })
    }
}
