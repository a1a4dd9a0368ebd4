//! The app's SQLite database (label `default`): the schema as versioned
//! migrations, applied once per database on open (a version check per
//! request otherwise), and small helpers over spin-sdk's SQLite interface.

use spin_sdk::sqlite::{Connection, QueryResult, Value};

use crate::api::{ApiError, Page};

/// The schema as it stood when versions began. Every statement tolerates a
/// database made before then, so migration 1 also adopts those.
const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL)",
    // The organization the variable `bootstrap_api_key` opens: one row, made once.
    "CREATE TABLE IF NOT EXISTS bootstrap_org (id INTEGER PRIMARY KEY CHECK (id = 1), org_id TEXT NOT NULL REFERENCES orgs(id), created_at INTEGER NOT NULL)",
    // API keys before key management (hashes only). Nothing writes here any
    // more; the `orgs` module copies its rows into `keys`, once each.
    "CREATE TABLE IF NOT EXISTS api_keys (key_hash TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), created_at INTEGER NOT NULL)",
    // API keys: the SHA-256 of the key, never the key; `prefix` recognizes it
    // in lists (NULL for keys copied from `api_keys`, `migrated` = 1).
    "CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), key_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL, prefix TEXT, migrated INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS keys_org ON keys (org_id)",
    // One row per sign-in started: single-use, expiring state and its PKCE verifier.
    "CREATE TABLE IF NOT EXISTS pending (state TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT, verifier TEXT NOT NULL,
        redirect_uri TEXT NOT NULL, authorize_url TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER)",
    // A finished sign-in waiting for the client that started it to claim it
    // with its own API key; its tokens (sealed) are discarded unused when it expires.
    "CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT, tokens TEXT NOT NULL,
        tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT, subscriptions TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, provider TEXT NOT NULL,
        tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT, status TEXT NOT NULL, status_reason TEXT,
        tokens TEXT NOT NULL, access_expires_at INTEGER NOT NULL, subscriptions TEXT NOT NULL DEFAULT '[]',
        last_checked INTEGER, refresh_lock INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS accounts_org ON accounts (org_id)",
    // Zones chosen for an organization's domains.
    "CREATE TABLE IF NOT EXISTS dns_domains (org_id TEXT NOT NULL, name TEXT NOT NULL, account_id TEXT NOT NULL, zone_id TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (org_id, name))",
    // Backup storage set-ups in progress and done, and the targets they made.
    "CREATE TABLE IF NOT EXISTS storage_ops (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, container TEXT NOT NULL,
        token TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, error TEXT, target_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS backup_targets (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, storage_account_id TEXT NOT NULL,
        storage_account TEXT NOT NULL, container TEXT NOT NULL, endpoint TEXT NOT NULL, verified_at INTEGER NOT NULL)",
    // Servers, the operations that make and remove them, and idempotency keys.
    "CREATE TABLE IF NOT EXISTS servers (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, account_id TEXT NOT NULL, subscription_id TEXT NOT NULL,
        name TEXT NOT NULL, region TEXT NOT NULL, size TEXT NOT NULL, status TEXT NOT NULL, provider_id TEXT NOT NULL, public_ip TEXT,
        resources TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS operations (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, kind TEXT NOT NULL, server_id TEXT NOT NULL,
        token TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, step_index INTEGER NOT NULL, steps INTEGER NOT NULL,
        error TEXT, cleanup_id TEXT, lease INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS idempotency (org_id TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL, operation_id TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (org_id, key))",
    // Short named locks (e.g. one create at a time per subscription and
    // region, so parallel creates see each other against the quota).
    "CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    // Refused callbacks and other events worth keeping.
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT, kind TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL)",
];

/// Migration 3: `operations` becomes every function's, and the storage
/// set-ups move into it (their target's id becomes the subject).
const ONE_ENGINE: &[&str] = &[
    "ALTER TABLE operations RENAME COLUMN server_id TO subject_id",
    "ALTER TABLE operations ADD COLUMN account_id TEXT",
    "ALTER TABLE operations ADD COLUMN data TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE operations ADD COLUMN result TEXT",
    "ALTER TABLE operations ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE operations ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    "UPDATE operations SET account_id = (SELECT account_id FROM servers WHERE servers.id = operations.subject_id) WHERE account_id IS NULL",
    "INSERT INTO operations (id, org_id, kind, subject_id, account_id, data, token, status, step, step_index, steps, error, created_at, updated_at)
     SELECT id, org_id, 'storage_setup', COALESCE(target_id, id), account_id, json_object('container', container), token, status, step,
            CASE status WHEN 'running' THEN 1 ELSE 2 END, 2, error, created_at, updated_at FROM storage_ops",
    "DROP TABLE storage_ops",
    // The jobs component's scan: running operations whose lease is free.
    "CREATE INDEX IF NOT EXISTS operations_running ON operations (status, lease)",
    "CREATE INDEX IF NOT EXISTS operations_subject ON operations (subject_id)",
];

/// Migration 5: events say what they are about and carry their data; webhook
/// endpoints (secrets sealed like tokens) and one delivery per endpoint and event.
const EVENTS: &[&str] = &[
    "ALTER TABLE events ADD COLUMN uid TEXT",
    "ALTER TABLE events ADD COLUMN object_type TEXT",
    "ALTER TABLE events ADD COLUMN object_id TEXT",
    "ALTER TABLE events ADD COLUMN data TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_uid ON events (uid)",
    "CREATE INDEX IF NOT EXISTS events_org ON events (org_id, id)",
    "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
        description TEXT, secret TEXT NOT NULL, previous_secret TEXT, previous_until INTEGER,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, disabled_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS webhooks_org ON webhooks (org_id)",
    "CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, webhook_id TEXT NOT NULL, event_uid TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER, lease INTEGER, last_status INTEGER, last_error TEXT,
        created_at INTEGER NOT NULL, delivered_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at)",
    "CREATE INDEX IF NOT EXISTS deliveries_webhook ON deliveries (webhook_id, created_at)",
];

/// One step of a migration.
enum Step {
    Sql(&'static str),
    Run(fn(&Connection) -> Result<(), ApiError>),
}

/// The migrations, in order; the database's `user_version` counts those
/// applied. Never change a published one: append.
fn migrations() -> Vec<Vec<Step>> {
    vec![
        // 1: the schema of the first versioned release.
        SCHEMA_V1.iter().map(|s| Step::Sql(s)).collect(),
        // 2: keys of databases made before key management, copied once.
        vec![Step::Run(crate::orgs::copy_legacy_keys)],
        // 3: one operation engine: servers', storage set-ups' and DNS
        // changes' operations in one table, with a version for
        // compare-and-set, their account, parameters, result and retries.
        ONE_ENGINE.iter().map(|s| Step::Sql(s)).collect(),
        // 4: background upkeep of accounts: when their refresh token was
        // last used, and when their health is checked next (with backoff).
        vec![
            Step::Sql("ALTER TABLE accounts ADD COLUMN refreshed_at INTEGER"),
            Step::Sql("ALTER TABLE accounts ADD COLUMN next_check_at INTEGER"),
            Step::Sql("ALTER TABLE accounts ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0"),
        ],
        // 5: events for the activity feed and webhooks, the endpoints, and
        // the outbox of deliveries.
        EVENTS.iter().map(|s| Step::Sql(s)).collect(),
        // 6: incoming hooks and the messages they received (each acted on once).
        vec![
            Step::Sql("CREATE TABLE IF NOT EXISTS hooks (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, action TEXT NOT NULL, params TEXT NOT NULL,
                description TEXT, secret TEXT NOT NULL, created_at INTEGER NOT NULL, disabled_at INTEGER)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS hooks_org ON hooks (org_id)"),
            Step::Sql("CREATE TABLE IF NOT EXISTS hook_messages (hook_id TEXT NOT NULL, message_id TEXT NOT NULL, received_at INTEGER NOT NULL,
                status INTEGER, outcome TEXT, PRIMARY KEY (hook_id, message_id))"),
        ],
        // 7: a failed operation owes its undo until it has run, so a crash
        // between the failure and the clean-up loses nothing.
        vec![Step::Sql("ALTER TABLE operations ADD COLUMN undo_pending INTEGER NOT NULL DEFAULT 0")],
        // 8: the servers' watch: when each server is looked at next (with
        // backoff), a change seen once and waiting to be confirmed, and why
        // a server is stopped or missing.
        vec![
            Step::Sql("ALTER TABLE servers ADD COLUMN status_reason TEXT"),
            Step::Sql("ALTER TABLE servers ADD COLUMN next_check_at INTEGER"),
            Step::Sql("ALTER TABLE servers ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0"),
            Step::Sql("ALTER TABLE servers ADD COLUMN observed TEXT"),
            Step::Sql("ALTER TABLE servers ADD COLUMN checked_at INTEGER"),
            Step::Sql("CREATE INDEX IF NOT EXISTS servers_watch ON servers (status, next_check_at)"),
        ],
        // 9: every paged list reads its page from an index in the list's
        // order, not by sorting the organization's rows on each request.
        vec![
            Step::Sql("CREATE INDEX IF NOT EXISTS accounts_page ON accounts (org_id, created_at, id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS servers_page ON servers (org_id, created_at, id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS operations_page ON operations (org_id, created_at, id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS backup_targets_page ON backup_targets (org_id, verified_at, id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS dns_domains_page ON dns_domains (org_id, created_at, name)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS webhooks_page ON webhooks (org_id, created_at, id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS hooks_page ON hooks (org_id, created_at, id)"),
        ],
        // 10: a server's admin user, for its SSH command; earlier servers
        // take it from the request that made them (none when it named none:
        // the provider's default user is shown for them when read).
        vec![
            Step::Sql("ALTER TABLE servers ADD COLUMN admin_username TEXT"),
            Step::Sql("UPDATE servers SET admin_username = (SELECT json_extract(o.data, '$.request.admin_username') FROM operations o
                WHERE o.subject_id = servers.id AND o.kind = 'create' AND json_valid(o.data) ORDER BY o.created_at LIMIT 1)"),
        ],
        // 11: backup targets are checked again in the background: whether
        // the last check passed (`verified`, `access_denied`, `check_failed`)
        // and why not, when, and when next (with backoff).
        vec![
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN status TEXT NOT NULL DEFAULT 'verified'"),
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN status_reason TEXT"),
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN checked_at INTEGER"),
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN next_check_at INTEGER"),
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0"),
            Step::Sql("UPDATE backup_targets SET checked_at = verified_at"),
        ],
        // 12: cost estimates: list prices kept a day per region and item,
        // the region of a backup target's storage account, and a server's
        // events found by the server; the targets' due checks by time.
        vec![
            Step::Sql("CREATE TABLE IF NOT EXISTS price_rates (key TEXT PRIMARY KEY, rates TEXT NOT NULL, fetched_at INTEGER NOT NULL)"),
            Step::Sql("ALTER TABLE backup_targets ADD COLUMN region TEXT"),
            Step::Sql("CREATE INDEX IF NOT EXISTS events_object ON events (object_type, object_id)"),
            Step::Sql("CREATE INDEX IF NOT EXISTS backup_targets_due ON backup_targets (next_check_at)"),
        ],
        // 13: several providers side by side: a sign-in comes back to, and
        // is claimed at, the provider that started it (rows from before
        // name none).
        vec![
            Step::Sql("ALTER TABLE pending ADD COLUMN provider TEXT"),
            Step::Sql("ALTER TABLE claims ADD COLUMN provider TEXT"),
        ],
        // 14: an account's badges are worked out when its subscriptions
        // are written and kept beside them, so a list copies them.
        vec![
            Step::Sql("ALTER TABLE accounts ADD COLUMN badges TEXT"),
            Step::Sql("ALTER TABLE accounts ADD COLUMN badges_withheld TEXT"),
            Step::Run(crate::accounts::store_every_badge),
        ],
        // 15: a deleted account's grant is owed a revocation at its
        // provider, recorded with the deletion and kept until revoked.
        vec![Step::Sql(
            "CREATE TABLE IF NOT EXISTS revocations (account_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, provider TEXT NOT NULL,
                tokens TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL)",
        )],
        // 16: accounts and servers keep their JSON as lists show it,
        // rewritten by triggers when a shown field changes, so a page reads
        // it rather than writing it.
        vec![Step::Run(crate::listed::add)],
    ]
}

fn user_version(db: &Connection) -> Result<usize, ApiError> {
    let r = db.execute("PRAGMA user_version", &[])?;
    Ok(get_int(&r, 0, "user_version").unwrap_or(0).max(0) as usize)
}

/// Opens the database and brings its schema up to date: one version read
/// per request, and the missing migrations — once, in one transaction each
/// run, all or nothing — when the database is behind.
pub fn open() -> Result<Connection, ApiError> {
    let db = Connection::open_default().map_err(|e| {
        ApiError::config(
            &format!("the SQLite database `default` cannot be opened ({e:?})"),
            "grant it with `sqlite_databases = [\"default\"]` on the component",
        )
    })?;
    let all = migrations();
    if user_version(&db)? < all.len() {
        migrate(&db, &all)?;
    }
    Ok(db)
}

fn migrate(db: &Connection, all: &[Vec<Step>]) -> Result<(), ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    // Another request may have migrated while this one waited for the lock.
    let from = match user_version(db) {
        Ok(v) => v,
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            return Err(e);
        }
    };
    for (n, steps) in all.iter().enumerate().skip(from) {
        for step in steps {
            let done = match step {
                Step::Sql(sql) => db.execute(sql, &[]).map(|_| ()).map_err(ApiError::from),
                Step::Run(f) => f(db),
            };
            if let Err(e) = done {
                let _ = db.execute("ROLLBACK", &[]);
                return Err(ApiError::config(
                    &format!(
                        "database migration {} of {} failed ({}), and the database was left as it was",
                        n + 1,
                        all.len(),
                        e.message
                    ),
                    "restore the database from a backup, or report the error with this message",
                ));
            }
        }
    }
    let set = db
        .execute(&format!("PRAGMA user_version = {}", all.len()), &[])
        .and_then(|_| db.execute("COMMIT", &[]));
    if let Err(e) = set {
        let _ = db.execute("ROLLBACK", &[]);
        return Err(e.into());
    }
    Ok(())
}

/// Runs `f` in one immediate transaction: committed when it returns `Ok`,
/// rolled back otherwise.
pub fn transaction<T>(
    db: &Connection,
    f: impl FnOnce() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    match f() {
        Ok(v) => {
            if let Err(e) = db.execute("COMMIT", &[]) {
                let _ = db.execute("ROLLBACK", &[]);
                return Err(e.into());
            }
            Ok(v)
        }
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub fn int(n: i64) -> Value {
    Value::Integer(n)
}

pub fn opt_text(s: Option<&str>) -> Value {
    s.map(text).unwrap_or(Value::Null)
}

/// The value of `column` in row `row` as text.
pub fn get_text(r: &QueryResult, row: usize, column: &str) -> Option<String> {
    let i = r.columns.iter().position(|c| c == column)?;
    match r.rows.get(row)?.values.get(i)? {
        Value::Text(t) => Some(t.clone()),
        Value::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn get_int(r: &QueryResult, row: usize, column: &str) -> Option<i64> {
    let i = r.columns.iter().position(|c| c == column)?;
    match r.rows.get(row)?.values.get(i)? {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

/// How many rows the last statement changed.
pub fn changes(db: &Connection) -> Result<i64, ApiError> {
    let r = db.execute("SELECT changes() AS n", &[])?;
    Ok(get_int(&r, 0, "n").unwrap_or(0))
}

/// Records an event (refused state, reconnect mismatch…).
pub fn event(db: &Connection, org: Option<&str>, kind: &str, detail: &str) {
    let _ = db.execute(
        "INSERT INTO events (org_id, kind, detail, at) VALUES (?, ?, ?, ?)",
        &[opt_text(org), text(kind), text(detail), int(crate::now())],
    );
}

/// Takes the named lock for `ttl` seconds, waiting up to `wait` seconds for
/// whoever holds it; a holder that died loses it when its time runs out.
/// Returns the holder token to release it with, or `None` when it stayed busy.
pub fn lock(db: &Connection, name: &str, ttl: i64, wait: i64) -> Result<Option<String>, ApiError> {
    let holder = crate::new_id();
    let deadline = crate::now() + wait;
    loop {
        let now = crate::now();
        db.execute(
            "DELETE FROM locks WHERE name = ? AND expires_at < ?",
            &[text(name), int(now)],
        )?;
        db.execute(
            "INSERT OR IGNORE INTO locks (name, holder, expires_at) VALUES (?, ?, ?)",
            &[text(name), text(&holder), int(now + ttl)],
        )?;
        if changes(db)? == 1 {
            return Ok(Some(holder));
        }
        if now > deadline {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Releases a lock taken with [`lock`] (only if still held by `holder`).
pub fn unlock(db: &Connection, name: &str, holder: &str) -> Result<(), ApiError> {
    db.execute(
        "DELETE FROM locks WHERE name = ? AND holder = ?",
        &[text(name), text(holder)],
    )?;
    Ok(())
}

/// The keyset condition for a page (`AND (t > ? OR (t = ? AND k > ?))` over
/// the sort columns `t`, `k`) and its values; empty for the first page.
pub fn after(page: &Page, time: &str, key: &str) -> (String, Vec<Value>) {
    match &page.after {
        None => (String::new(), Vec::new()),
        Some((at, id)) => (
            format!(" AND ({time} > ? OR ({time} = ? AND {key} > ?))"),
            vec![int(*at), int(*at), text(id)],
        ),
    }
}

/// Cuts a page's rows (fetched with `LIMIT limit + 1`) to the limit and
/// gives the cursor of the next page, if there is one.
pub fn paged<T>(
    mut rows: Vec<T>,
    page: &Page,
    key: impl Fn(&T) -> (i64, String),
) -> (Vec<T>, Option<String>) {
    if rows.len() <= page.limit {
        return (rows, None);
    }
    rows.truncate(page.limit);
    let next = rows.last().map(|r| {
        let (at, id) = key(r);
        crate::api::cursor(at, &id)
    });
    (rows, next)
}

/// One page of an organization's rows of `table` (a constant of the code,
/// never input) with `columns` (which name `time` and `key`), in `(time,
/// key)` order, and the next cursor: one query for the page, whatever its
/// rows need after. `filter` narrows it further (`AND status != 'deleted'`,
/// or "").
#[allow(clippy::too_many_arguments)]
pub fn page_rows(
    db: &Connection,
    table: &str,
    columns: &str,
    time: &str,
    key: &str,
    filter: &str,
    org: &str,
    page: &Page,
) -> Result<(QueryResult, Option<String>), ApiError> {
    let (cond, mut values) = after(page, time, key);
    let mut params = vec![text(org)];
    params.append(&mut values);
    params.push(int(page.limit as i64 + 1));
    let mut r = db.execute(
        &format!("SELECT {columns} FROM {table} WHERE org_id = ? {filter}{cond} ORDER BY {time}, {key} LIMIT ?"),
        &params,
    )?;
    if r.rows.len() <= page.limit {
        return Ok((r, None));
    }
    r.rows.truncate(page.limit);
    let last = page.limit - 1;
    let next = get_int(&r, last, time)
        .zip(get_text(&r, last, key))
        .map(|(at, id)| crate::api::cursor(at, &id));
    Ok((r, next))
}

/// [`page_rows`] for a table whose rows keep their JSON as the API shows
/// them in a `listed` column ([`crate::listed`]; joined by
/// [`crate::api::page_response_json`]), NULL for a row that needs more than
/// its columns: that one is shown by `fallback` from its `key`. The page's
/// items in order, and the next cursor.
#[allow(clippy::too_many_arguments)]
pub fn page_of_json(
    db: &Connection,
    table: &str,
    time: &str,
    key: &str,
    filter: &str,
    org: &str,
    page: &Page,
    fallback: impl Fn(&str) -> Result<String, ApiError>,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    let columns = format!("listed, {key}, {time}");
    let (r, next) = page_rows(db, table, &columns, time, key, filter, org, page)?;
    let mut items = Vec::with_capacity(r.rows.len());
    for row in r.rows {
        let mut values = row.values.into_iter();
        match (values.next(), values.next()) {
            (Some(Value::Text(listed)), _) => items.push(listed),
            (_, Some(Value::Text(k))) => items.push(fallback(&k)?),
            _ => {}
        }
    }
    Ok((items, next))
}

/// [`page_rows`] for the rows' `key` values alone.
pub fn page_of_keys(
    db: &Connection,
    table: &str,
    time: &str,
    key: &str,
    filter: &str,
    org: &str,
    page: &Page,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    let (r, next) = page_rows(
        db,
        table,
        &format!("{key}, {time}"),
        time,
        key,
        filter,
        org,
        page,
    )?;
    let keys = (0..r.rows.len())
        .filter_map(|i| get_text(&r, i, key))
        .collect();
    Ok((keys, next))
}
