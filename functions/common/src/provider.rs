//! Which provider this instance of a function serves, and the words its
//! messages use for it. spin.toml instantiates every function once per
//! provider with that provider's plugins (docs/architecture.md); these
//! component variables tell the instances apart, so no function names one.

use spin_sdk::variables;

use crate::api::ApiError;

/// The provider this component instance serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The id accounts record and paths carry (`/api/v1/accounts/<id>/connect`),
    /// from the variable `provider`.
    pub id: String,
    /// Its name in messages ("… refused the access token"), from
    /// `provider_name`; the id when unset.
    pub name: String,
    /// How Add Account lists it ("Add Account › …"), from `provider_title`;
    /// the name when unset.
    pub title: String,
    /// Whose sign-in the user goes through ("The … sign-in was cancelled"),
    /// from `provider_signin`; the name when unset.
    pub signin: String,
    /// Where its users manage what Skyport made ("manage it in …"), from
    /// `provider_portal`; the provider's console by name when unset.
    pub portal: String,
    /// Where an organization's administrators manage the apps it lets in
    /// (tenant ids, enterprise applications), from `provider_directory`;
    /// the portal when unset.
    pub directory: String,
    /// How a user takes back the access they granted, after disconnecting,
    /// from `provider_revoke`; a pointer to the portal when unset.
    pub revoke: String,
}

fn get(name: &str) -> Option<String> {
    variables::get(name).ok().filter(|v| !v.is_empty())
}

/// The provider's name for a message, where nothing else of it is needed
/// (an error on its way out); "The provider" when the variables are missing.
pub fn name() -> String {
    get("provider_name")
        .or_else(|| get("provider"))
        .unwrap_or_else(|| "The provider".into())
}

/// The provider's id, for a message to the console; empty when unset.
pub fn id() -> String {
    get("provider").unwrap_or_default()
}

/// Where the provider's users manage what Skyport made, for a remedy.
pub fn portal() -> String {
    get("provider_portal").unwrap_or_else(|| format!("the {} console", name()))
}

impl Provider {
    /// Reads the provider's variables. A component that serves no provider
    /// has no `provider` variable, and says so.
    pub fn load() -> Result<Provider, ApiError> {
        let id = get("provider").ok_or_else(|| {
            ApiError::config(
                "this component has no `provider` variable",
                "give each function component `provider = \"<id>\"` and its provider's plugins in spin.toml (docs/architecture.md)",
            )
        })?;
        Ok(Provider::named(id, |word| get(&format!("provider_{word}"))))
    }

    /// The provider from its id and its words (`word("name")` and so on),
    /// each falling back as the fields say.
    pub fn named(id: String, word: impl Fn(&str) -> Option<String>) -> Provider {
        let name = word("name").unwrap_or_else(|| id.clone());
        let portal = word("portal").unwrap_or_else(|| format!("the {name} console"));
        Provider {
            title: word("title").unwrap_or_else(|| name.clone()),
            signin: word("signin").unwrap_or_else(|| name.clone()),
            directory: word("directory").unwrap_or_else(|| portal.clone()),
            revoke: word("revoke").unwrap_or_else(|| {
                format!("To revoke the app itself, remove Skyport's access in {portal}.")
            }),
            portal,
            id,
            name,
        }
    }

    /// The path the provider's sign-in sends the user back to.
    pub fn callback_path(&self) -> String {
        format!("/oauth/{}/callback", self.id)
    }

    /// The popup's first stop for a started sign-in.
    pub fn popup_path(&self, state: &str) -> String {
        format!("/oauth/{}/start?state={state}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_words_fall_back_to_the_name() {
        let p = Provider::named("acme".into(), |w| {
            (w == "name").then(|| "Acme Cloud".into())
        });
        assert_eq!(
            (p.title.as_str(), p.signin.as_str()),
            ("Acme Cloud", "Acme Cloud")
        );
        assert_eq!(p.portal, "the Acme Cloud console");
        assert_eq!(p.directory, "the Acme Cloud console");
        let p = Provider::named("acme".into(), |w| {
            (w == "portal").then(|| "the dashboard".into())
        });
        assert_eq!(
            (p.name.as_str(), p.portal.as_str()),
            ("acme", "the dashboard")
        );
        assert!(p.revoke.contains("the dashboard"), "{}", p.revoke);
        assert_eq!(p.callback_path(), "/oauth/acme/callback");
        assert_eq!(p.popup_path("s1"), "/oauth/acme/start?state=s1");
    }
}
