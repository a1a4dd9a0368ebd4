//! Which provider this instance of a function serves, and the words its
//! messages use for it. spin.toml instantiates every function once per
//! provider with that provider's plugins (docs/architecture.md); these
//! component variables tell the instances apart, so no function names one.

use crate::api::ApiError;
use crate::config::get;
use crate::db::{get_text, text};
use spin_sdk::http::{Request, Response};
use spin_sdk::sqlite::Connection;

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

/// Whether `id` is a provider id: kebab-case, as Spin's component ids are,
/// since it becomes part of one (`<function>-<id>`) and of paths.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// This instance's provider id, when its `provider` variable holds a valid
/// one.
fn mine() -> Option<String> {
    get("provider").filter(|p| valid_id(p))
}

/// This instance's provider id, or why the component has none.
pub fn own_id() -> Result<String, ApiError> {
    mine().ok_or_else(unset)
}

/// The portal's words when `provider_portal` leaves them out.
fn default_portal(name: &str) -> String {
    format!("the {name} console")
}

/// SQL that keeps the rows of a background share that are this instance's
/// to work on: those whose account (`column`, e.g. `t.account_id`) is of
/// this provider, or gone. Without a valid provider, none: an instance
/// never works on rows it cannot tell are its own. `column` must not be
/// one `accounts` has (`id`), or it would name the inner row.
pub fn own_rows(column: &str) -> String {
    match mine() {
        // The id is kebab-case, so it is safe as an SQL literal.
        Some(p) => format!(
            "NOT EXISTS (SELECT 1 FROM accounts own WHERE own.id = {column} AND own.provider != '{p}')"
        ),
        None => "1 = 0".into(),
    }
}

/// SQL that keeps the accounts this instance's background share works on:
/// its provider's (`alias` names the accounts row, e.g. `t`, or is empty).
/// Without a valid provider, none.
pub fn own_accounts(alias: &str) -> String {
    let column = match alias {
        "" => "provider".to_string(),
        a => format!("{a}.provider"),
    };
    match mine() {
        Some(p) => format!("{column} = '{p}'"),
        None => "1 = 0".into(),
    }
}

/// Refuses to act on `account` with this instance's plugins when it is
/// another provider's: the last guard, where tokens are used, behind the
/// routing of [`answered_elsewhere`].
pub fn check_own(account_provider: &str) -> Result<(), ApiError> {
    match mine() {
        Some(p) if p == account_provider => Ok(()),
        Some(p) => Err(ApiError::new(
            409,
            "provider_mismatch",
            &format!("This account is of the provider `{account_provider}`, and this request reached the instance that serves `{p}`."),
            "Send the request again; if it persists, check that spin.toml gives each provider its own instances (docs/architecture.md).",
        )),
        None => Err(unset()),
    }
}

fn unset() -> ApiError {
    ApiError::config(
        "this component has no `provider` variable, or it is not kebab-case",
        "give each function component `provider = \"<id>\"` and its provider's plugins in spin.toml (docs/architecture.md)",
    )
}

/// A row a request's path names: `<prefix>/<value>/…` is the row of `table`
/// whose `key` is `value`.
pub struct Named<'a> {
    prefix: &'a str,
    table: &'a str,
    key: &'a str,
    scope: Option<&'a str>,
}

impl<'a> Named<'a> {
    pub const fn row(prefix: &'a str, table: &'a str, key: &'a str) -> Named<'a> {
        Named {
            prefix,
            table,
            key,
            scope: None,
        }
    }

    /// The row keeps its scope in `column`: when its own account is gone
    /// (deleted by a release before accounts in use were protected), the
    /// request is the provider's whose account of the organization reaches
    /// that scope, the account that can adopt the row.
    pub const fn scoped(self, column: &'a str) -> Named<'a> {
        Named {
            scope: Some(column),
            ..self
        }
    }
}

/// The answer of `function`'s instance for another provider when the
/// request of `org` is about an account of that provider, passed on to it
/// as it came (`<function>-<provider>`, by Spin's service chaining:
/// docs/architecture.md); `None` when it is this instance's to answer. An
/// instance without a valid provider answers nothing about accounts: it
/// cannot tell its own from others' (and would pass them to itself).
pub async fn answered_elsewhere(
    db: &Connection,
    org: &str,
    req: &Request,
    function: &str,
    rows: &[Named<'_>],
) -> Result<Option<Response>, ApiError> {
    let Some(theirs) = provider_of(db, org, req, rows)? else {
        return Ok(None);
    };
    if own_id()? == theirs || !valid_id(&theirs) {
        return Ok(None);
    }
    pass_on(req, &format!("{function}-{theirs}"))
        .await
        .map(Some)
}

/// The provider of the account a request of `org` is about, if any, read
/// in one query. The account is the `{account}` of
/// `/api/v1/accounts/{account}/…`; else that of the row the path names (for
/// each `(prefix, table, key)` of `rows`, a path `<prefix>/<k>/…` names the
/// row of `table` whose `key` is `k`, compared in lower case as the
/// functions store names and ids); else the `account_id` of its JSON body,
/// for the routes that name no row.
fn provider_of(
    db: &Connection,
    org: &str,
    req: &Request,
    rows: &[Named<'_>],
) -> Result<Option<String>, ApiError> {
    let path: Vec<&str> = crate::api::segments(req.path());
    if let ["api", "v1", "accounts", account, ..] = path.as_slice() {
        return by_account(db, org, account);
    }
    let named = rows.iter().find_map(|n| {
        let prefix = crate::api::segments(n.prefix);
        (path.len() > prefix.len() && path.starts_with(&prefix)).then(|| (n, path[prefix.len()]))
    });
    if let Some((n, value)) = named {
        // Table and column names are the functions' own constants.
        let adopter = match n.scope {
            Some(scope) => format!(
                "(SELECT o.provider FROM accounts o WHERE o.org_id = t.org_id AND {}
                 ORDER BY o.created_at DESC LIMIT 1)",
                crate::accounts::reaching("o", &format!("t.{scope}"))
            ),
            None => "NULL".into(),
        };
        let r = db.execute(
            &format!(
                "SELECT COALESCE(a.provider, {adopter}) AS provider FROM {table} t LEFT JOIN accounts a ON a.id = t.account_id
                 WHERE t.{key} = ? AND t.org_id = ?",
                table = n.table,
                key = n.key,
            ),
            &[text(&value.to_ascii_lowercase()), text(org)],
        )?;
        return Ok(get_text(&r, 0, "provider"));
    }
    match serde_json::from_slice::<serde_json::Value>(req.body()) {
        Ok(body) => match body["account_id"].as_str() {
            Some(account) => by_account(db, org, account),
            None => Ok(None),
        },
        Err(_) => Ok(None),
    }
}

fn by_account(db: &Connection, org: &str, account: &str) -> Result<Option<String>, ApiError> {
    let r = db.execute(
        "SELECT provider FROM accounts WHERE id = ? AND org_id = ?",
        &[text(account), text(org)],
    )?;
    Ok(get_text(&r, 0, "provider"))
}

/// The providers other than this one that hold accounts, or are owed the
/// revocation of a deleted one's grant: their instances do their share of
/// the background work.
pub fn others(db: &Connection) -> Result<Vec<String>, ApiError> {
    let r = db.execute(
        "SELECT provider FROM accounts WHERE provider != ?1 UNION SELECT provider FROM revocations WHERE provider != ?1 ORDER BY 1",
        &[text(&own_id()?)],
    )?;
    Ok(valid_ids(&r))
}

/// The other providers holding accounts of `org`.
pub fn others_in(db: &Connection, org: &str) -> Result<Vec<String>, ApiError> {
    let r = db.execute(
        "SELECT DISTINCT provider FROM accounts WHERE org_id = ? AND provider != ? ORDER BY provider",
        &[text(org), text(&own_id()?)],
    )?;
    Ok(valid_ids(&r))
}

fn valid_ids(r: &spin_sdk::sqlite::QueryResult) -> Vec<String> {
    (0..r.rows.len())
        .filter_map(|i| get_text(r, i, "provider"))
        .filter(|p| valid_id(p))
        .collect()
}

/// The other providers whose accounts have work of a function's kinds: an
/// operation of one of `kinds` still to finish (or to undo), or a row in
/// one of `tables` (each with an `account_id`) to look after. A provider
/// with none has nothing for that function's instance to do, so it is not
/// asked (nor is an instance it may not deploy).
pub fn others_with_work(
    db: &Connection,
    kinds: &[&str],
    tables: &[&'static str],
) -> Result<Vec<String>, ApiError> {
    // One pass over the operations still to finish (the same condition as
    // the engine's own), and one over each table.
    let marks = vec!["?"; kinds.len()].join(", ");
    let mut work = vec![format!(
        "SELECT a.provider FROM operations o JOIN accounts a ON a.id = o.account_id
         WHERE a.provider != ?1 AND (o.status = 'running' OR o.undo_pending = 1) AND o.kind IN ({marks})"
    )];
    work.extend(tables.iter().map(|t| {
        format!("SELECT a.provider FROM {t} t JOIN accounts a ON a.id = t.account_id WHERE a.provider != ?1")
    }));
    let mut params = vec![text(&own_id()?)];
    params.extend(kinds.iter().map(|k| text(k)));
    let r = db.execute(&format!("{} ORDER BY 1", work.join(" UNION ")), &params)?;
    Ok(valid_ids(&r))
}

/// Sends `req` on, unchanged but for the component, to `component` by
/// chaining, and gives its answer.
pub async fn pass_on(req: &Request, component: &str) -> Result<Response, ApiError> {
    pass_on_with(req, component, &[]).await
}

/// [`pass_on`], with `extra` headers added.
pub async fn pass_on_with(
    req: &Request,
    component: &str,
    extra: &[(&str, &str)],
) -> Result<Response, ApiError> {
    let query = match req.query() {
        "" => String::new(),
        q => format!("?{q}"),
    };
    let mut b = Request::builder();
    b.method(req.method().clone()).uri(format!(
        "http://{component}.spin.internal{}{query}",
        req.path()
    ));
    for (name, value) in req.headers() {
        // The host sets the callee's own Spin headers, and the framing; the
        // headers this call sets replace any the caller sent.
        let own = name.starts_with("spin-")
            || ["host", "content-length", "connection", "transfer-encoding"].contains(&name)
            || extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if let (false, Some(v)) = (own, value.as_str()) {
            b.header(name, v);
        }
    }
    for (name, value) in extra {
        b.header(*name, *value);
    }
    b.body(req.body().to_vec());
    spin_sdk::http::send::<_, Response>(b.build()).await.map_err(|e| {
        ApiError::new(
            503,
            "provider_not_served",
            &format!("The component `{component}`, which serves this provider, could not be reached ({e:?})."),
            "Add that provider's instance of the function to spin.toml, and allow `http://*.spin.internal` in this one's allowed_outbound_hosts (docs/architecture.md).",
        )
    })
}

/// Where the provider's users manage what Skyport made, for a remedy.
pub fn portal() -> String {
    get("provider_portal").unwrap_or_else(|| default_portal(&name()))
}

/// The access that can create resources, named as the provider names it
/// ("… hold {roles}", `provider_roles`).
pub fn roles() -> String {
    get("provider_roles")
        .unwrap_or_else(|| format!("access that can create resources (in {})", portal()))
}

/// Where quotas and limits are seen and raised (`provider_quotas`).
pub fn quotas() -> String {
    get("provider_quotas").unwrap_or_else(portal)
}

/// Where the services an account needs are registered or enabled
/// (`provider_registration`).
pub fn registration() -> String {
    get("provider_registration").unwrap_or_else(portal)
}

/// What the provider calls a server's machine (`provider_machine`, e.g.
/// "instance"); "VM" when unset, the guide's word.
pub fn machine() -> String {
    get("provider_machine").unwrap_or_else(|| "VM".into())
}

/// What the provider calls the scope an account's resources live in
/// (`provider_scope`, e.g. "project"); "subscription" when unset.
pub fn scope() -> String {
    get("provider_scope").unwrap_or_else(|| "subscription".into())
}

/// What the provider calls the storage that holds backups
/// (`provider_storage`, e.g. "bucket"); "storage account" when unset.
pub fn storage() -> String {
    get("provider_storage").unwrap_or_else(|| "storage account".into())
}

/// The provider's rule for a storage name, as a refusal states it
/// (`provider_storage_rule`, e.g. "3–24 lowercase letters and digits");
/// what every provider takes, and a pointer to its own rule, when unset.
pub fn storage_rule() -> String {
    get("provider_storage_rule").unwrap_or_else(|| {
        format!(
            "lowercase letters, digits and hyphens (3 to 63 of them, and {}'s own rule for a {})",
            name(),
            storage()
        )
    })
}

/// What the provider calls the part of that storage backups go in
/// (`provider_container`, e.g. "folder"); "container" when unset.
pub fn container() -> String {
    get("provider_container").unwrap_or_else(|| "container".into())
}

/// Where the network rules of that storage are set, for a refused access
/// check (`provider_network_rules`).
pub fn network_rules() -> String {
    get("provider_network_rules")
        .unwrap_or_else(|| format!("the {}'s network rules in {}", storage(), portal()))
}

/// `word` with its first letter in capitals, to begin a sentence.
pub fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl Provider {
    /// Reads the provider's variables. A component that serves no provider
    /// has no `provider` variable, and says so.
    pub fn load() -> Result<Provider, ApiError> {
        let id = own_id()?;
        Ok(Provider::named(id, |word| get(&format!("provider_{word}"))))
    }

    /// The provider from its id and its words (`word("name")` and so on),
    /// each falling back as the fields say.
    pub fn named(id: String, word: impl Fn(&str) -> Option<String>) -> Provider {
        let name = word("name").unwrap_or_else(|| id.clone());
        let portal = word("portal").unwrap_or_else(|| default_portal(&name));
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
    fn a_word_begins_a_sentence_in_capitals() {
        assert_eq!(capitalised("instance"), "Instance");
        assert_eq!(capitalised("VM"), "VM");
        assert_eq!(capitalised(""), "");
    }

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

    #[test]
    fn provider_ids_are_kebab_case() {
        for ok in ["acme", "globex", "acme-cloud", "initech2"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "Acme", "a_b", "a--b", "-a", "a'", "a b", "a.b"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
