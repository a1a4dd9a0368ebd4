//! Rows as the API's lists show them, kept ready in each row: SQLite writes
//! an account's or server's JSON into its `listed` column whenever a shown
//! field changes (triggers installed by a migration), so a page of 50 is 50
//! stored strings read and joined, not 50 JSON documents built per request.
//!
//! The expressions write the fields of the typed views (`accounts::Shown`,
//! the servers function's `Shown`) in the same order; NULL where a row needs
//! more than its own columns, and the list then shows it as a read does.

use spin_sdk::sqlite::Connection;

use crate::api::ApiError;

/// An account: the stored subscriptions and badges copied as they are. The
/// small fields before and after the subscriptions are joined first, so the
/// long text is copied twice, not once per field. Stored JSON is checked
/// as it is copied; NULL for a row whose badges were never worked out (or
/// whose JSON is damaged).
const ACCOUNT: &str = r#"CASE WHEN json_valid(badges) AND json_valid(badges_withheld) AND json_valid(subscriptions) THEN
    ('{"badges":' || CASE status WHEN 'Active' THEN badges ELSE '[]' END
    || ',"badges_withheld":' || badges_withheld
    || ',"created_at":' || created_at
    || ',"id":' || json_quote(id)
    || ',"last_checked":' || COALESCE(last_checked, 'null')
    || ',"provider":' || json_quote(provider)
    || ',"status":' || json_quote(status)
    || ',"status_reason":' || json_quote(status_reason)
    || ',"subscriptions":')
    || CASE WHEN substr(subscriptions, 1, 1) = '[' THEN subscriptions ELSE '[]' END
    || (',"tenant_id":' || json_quote(tenant_id)
    || ',"user":{"id":' || json_quote(user_id) || ',"name":' || json_quote(user_name) || '}}')
    END"#;

/// The columns [`ACCOUNT`] reads: only an update of one of them rewrites
/// `listed` (a token refresh, the most frequent write, does not).
const ACCOUNT_COLUMNS: &str = "badges, badges_withheld, created_at, id, last_checked, provider, status, status_reason, subscriptions, tenant_id, user_id, user_name";

/// A server: its stored resources copied as they are. NULL where the
/// servers function has more to do: a failed server's error is another
/// query, and a server made before admin users were kept shows the
/// provider's default one.
const SERVER: &str = r#"CASE WHEN status = 'failed' OR admin_username IS NULL THEN NULL ELSE
    '{"account_id":' || json_quote(account_id)
    || ',"admin_username":' || json_quote(admin_username)
    || ',"checked_at":' || COALESCE(checked_at, 'null')
    || ',"created_at":' || created_at
    || ',"id":' || json_quote(id)
    || ',"name":' || json_quote(name)
    || ',"public_ip":' || json_quote(public_ip)
    || ',"region":' || json_quote(region)
    || ',"resources":' || CASE WHEN json_valid(resources) THEN resources ELSE 'null' END
    || ',"size":' || json_quote(size)
    || ',"ssh_command":' || CASE WHEN public_ip IS NULL THEN 'null' ELSE json_quote('ssh ' || admin_username || '@' || public_ip) END
    || ',"status":' || json_quote(status)
    || CASE WHEN status IN ('stopped', 'missing') AND status_reason IS NOT NULL THEN ',"status_reason":' || json_quote(status_reason) ELSE '' END
    || ',"subscription_id":' || json_quote(subscription_id) || '}'
    END"#;

const SERVER_COLUMNS: &str = "account_id, admin_username, checked_at, created_at, id, name, public_ip, region, resources, size, status, status_reason, subscription_id";

/// The listed tables: name, expression, the columns it reads.
const TABLES: [(&str, &str, &str); 2] = [
    ("accounts", ACCOUNT, ACCOUNT_COLUMNS),
    ("servers", SERVER, SERVER_COLUMNS),
];

/// Migration: the `listed` column of accounts and servers, filled for every
/// row, and the triggers that keep it current.
pub(crate) fn add(db: &Connection) -> Result<(), ApiError> {
    for (table, _, _) in TABLES {
        db.execute(&format!("ALTER TABLE {table} ADD COLUMN listed TEXT"), &[])?;
    }
    install(db)
}

/// (Re)creates the triggers with the current expressions and rewrites every
/// row's `listed`. Changing what a list shows is a new migration that
/// calls this again: the triggers and stored rows then follow the change.
pub(crate) fn install(db: &Connection) -> Result<(), ApiError> {
    for (table, expression, columns) in TABLES {
        // The trigger's own UPDATE writes `listed` alone, which is not in
        // the watched columns: it never fires itself, whatever the
        // connection's `recursive_triggers` setting.
        let set = format!("UPDATE {table} SET listed = {expression} WHERE rowid = NEW.rowid;");
        for statement in [
            format!("DROP TRIGGER IF EXISTS {table}_listed_insert"),
            format!("DROP TRIGGER IF EXISTS {table}_listed_update"),
            format!("CREATE TRIGGER {table}_listed_insert AFTER INSERT ON {table} BEGIN {set} END"),
            format!("CREATE TRIGGER {table}_listed_update AFTER UPDATE OF {columns} ON {table} BEGIN {set} END"),
            format!("UPDATE {table} SET listed = {expression}"),
        ] {
            db.execute(&statement, &[])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TABLES;

    /// The column names an expression reads: its words outside quoted
    /// text, less SQL's own words and functions.
    fn columns_read(expression: &str) -> Vec<String> {
        const SQL: &[&str] = &[
            "case",
            "when",
            "then",
            "else",
            "end",
            "and",
            "or",
            "not",
            "is",
            "in",
            "null",
            "json_valid",
            "json_quote",
            "coalesce",
            "substr",
        ];
        let mut outside = String::new();
        let mut quoted = false;
        for c in expression.chars() {
            if c == '\'' {
                quoted = !quoted;
            } else if !quoted {
                outside.push(c);
            }
        }
        outside
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()))
            .map(str::to_ascii_lowercase)
            .filter(|w| !SQL.contains(&w.as_str()))
            .collect()
    }

    #[test]
    fn every_column_an_expression_reads_is_watched() {
        for (table, expression, columns) in TABLES {
            let watched: Vec<&str> = columns.split(", ").collect();
            let read = columns_read(expression);
            assert!(read.len() > 5, "{table}: {read:?}");
            for column in read {
                assert!(
                    watched.contains(&column.as_str()),
                    "{table}: `{column}` is shown but an update of it would not rewrite `listed`"
                );
            }
        }
    }
}
