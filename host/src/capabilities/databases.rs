//! The SQLite files behind key-value stores and SQLite databases, shared by
//! both capabilities: each label's [`Database`] keeps its idle connections for
//! the next run, [`Labelled`] is one run's view of its granted labels, and
//! [`patiently`] decides where a statement waits for another's lock.
//!
//! A run used to open its own connection and close it at the end; opening
//! costs a file open, two pragmas and a parse of the whole schema on the
//! first statement, on every request. A pooled connection has all of that
//! done. Runs stay isolated: a connection goes back only when its run left
//! no transaction open and changed nothing that outlives a statement on
//! the connection (a pragma set, a temporary object, an attached database),
//! which SQLite's authorizer reports as it happens. As on Spin, a guest may
//! attach only temporary and in-memory databases, never a file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::InstanceContext;

/// How long a statement waits for another connection's lock.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// At most this many idle connections are kept per file: as many as runs
/// that use it at once, on a busy host.
const MAX_IDLE: usize = 64;

/// Prepared statements kept per connection: enough for every statement an
/// app's request runs, so a pooled connection parses each of them once.
const STATEMENT_CACHE: usize = 128;

/// A database file and its idle connections.
pub struct Database {
    pub path: PathBuf,
    idle: Mutex<Vec<GuestConnection>>,
    /// Whether the key-value table is known to exist in this file.
    pub(crate) key_value_ready: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

impl Database {
    pub fn new(path: PathBuf) -> Arc<Database> {
        Arc::new(Database {
            path,
            idle: Mutex::new(Vec::new()),
            key_value_ready: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// A connection for one run: an idle one, or a new one.
    fn connection(self: &Arc<Self>) -> rusqlite::Result<Pooled> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => GuestConnection::open(&self.path)?,
        };
        Ok(Pooled {
            conn: Some(conn),
            home: self.clone(),
        })
    }
}

/// A connection for guests' statements, with what its authorizer saw.
struct GuestConnection {
    conn: rusqlite::Connection,
    /// Set when a statement changed the connection itself (not the data).
    changed: Arc<std::sync::atomic::AtomicBool>,
}

impl GuestConnection {
    fn open(path: &Path) -> rusqlite::Result<GuestConnection> {
        use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
        let conn = open_guest_database(path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let changed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mark = changed.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            let changes_connection = match ctx.action {
                // Spin's rule: temporary and in-memory databases only.
                AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                    return Authorization::Deny
                }
                // Reading a pragma changes nothing; setting one does.
                AuthAction::Pragma { pragma_value, .. } => pragma_value.is_some(),
                AuthAction::Attach { .. }
                | AuthAction::Detach { .. }
                | AuthAction::CreateTempTable { .. }
                | AuthAction::CreateTempIndex { .. }
                | AuthAction::CreateTempTrigger { .. }
                | AuthAction::CreateTempView { .. } => true,
                _ => false,
            };
            if changes_connection {
                mark.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Authorization::Allow
        }));
        Ok(GuestConnection { conn, changed })
    }

    /// Whether the next run can have it as if it were new.
    fn reusable(&self) -> bool {
        if self.changed.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        // A run that ended (or was killed) inside a transaction leaves it
        // open: rolled back here, or the connection is not kept.
        self.conn.is_autocommit() || self.conn.execute_batch("ROLLBACK").is_ok()
    }
}

/// A connection on loan to one run; back to its [`Database`] when dropped,
/// if the next run can have it as if it were new, else closed.
pub struct Pooled {
    conn: Option<GuestConnection>,
    home: Arc<Database>,
}

impl std::ops::Deref for Pooled {
    type Target = rusqlite::Connection;

    fn deref(&self) -> &rusqlite::Connection {
        &self
            .conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
            .conn
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.reusable() {
            return;
        }
        let mut idle = self.home.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// Label → database, for every label the runtime config maps (and `default`).
pub type Labels = std::collections::BTreeMap<String, Arc<Database>>;

/// One run's state for the capabilities that open databases by label
/// (key-value stores, SQLite): the component, the labels its grant maps to
/// databases, and the resources (stores, connections) this run has open.
pub struct Labelled {
    component: Arc<str>,
    granted: Arc<Labels>,
    pub(crate) table: wasmtime::component::ResourceTable,
}

impl Labelled {
    pub(crate) fn new(grant: &Arc<Labels>, ctx: &InstanceContext<'_>) -> Labelled {
        Labelled {
            component: ctx.component.clone(),
            granted: grant.clone(),
            table: wasmtime::component::ResourceTable::new(),
        }
    }

    /// A connection to the database granted as `label`, with that database.
    /// `None` when the component was not granted it; the log then names the
    /// manifest `field` that grants it.
    pub(crate) fn open_label(
        &self,
        what: &str,
        label: &str,
        field: &str,
    ) -> Option<rusqlite::Result<(Pooled, Arc<Database>)>> {
        let Some(db) = self.granted.get(label) else {
            tracing::warn!(
                component = %self.component,
                "{what} `{label}` denied: add it to `{field}` in the component's manifest"
            );
            return None;
        };
        Some(db.connection().map(|c| (c, db.clone())))
    }
}

/// Opens a database file the way every label uses it: WAL journal so readers
/// do not block the writer, a busy timeout so concurrent writers wait instead
/// of failing, and `NORMAL` sync, which survives a killed process.
pub(crate) fn open_database(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    open_waiting(path, BUSY_WAIT)
}

fn open_waiting(path: &Path, wait: Duration) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(wait)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}

/// Opens a database for guests' calls, as [`open_database`] but answering
/// at once when the database is busy, so that [`patiently`] decides where
/// each wait happens (the open itself waits as it does).
fn open_guest_database(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    match open_waiting(path, Duration::ZERO) {
        Err(e) if is_busy(&e) => off_the_workers(|| {
            let conn = open_waiting(path, BUSY_WAIT)?;
            conn.busy_timeout(Duration::ZERO)?;
            Ok(conn)
        }),
        other => other,
    }
}

/// Runs one statement's work, `f`, for a guest. Guests run on the async
/// workers and yield mid-transaction (every epoch tick), so a statement that
/// waited for a lock there would hold a worker while the run holding the
/// lock waits for one to finish its transaction: with as many waiters as
/// workers, every one waits until it fails with "database is locked". So
/// `f` runs first with no wait, the common case, which costs nothing more;
/// only when the database is busy does it run again, waiting up to the busy
/// timeout, off the workers. A busy statement did nothing, so running it
/// again is safe.
pub(crate) fn patiently<T>(
    conn: &rusqlite::Connection,
    mut f: impl FnMut(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    match f(conn) {
        Err(e) if is_busy(&e) => off_the_workers(|| {
            conn.busy_timeout(BUSY_WAIT)?;
            let result = f(conn);
            conn.busy_timeout(Duration::ZERO)?;
            result
        }),
        other => other,
    }
}

/// Runs `f`, which may block, with `block_in_place` on a multi-threaded
/// runtime (this worker's other tasks move to another thread meanwhile), or
/// as it is elsewhere.
fn off_the_workers<T>(f: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> Arc<Database> {
        let dir = std::env::temp_dir().join(format!("skyport-db-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Database::new(dir.join("test.db"))
    }

    fn idle(db: &Database) -> usize {
        db.idle.lock().unwrap().len()
    }

    #[test]
    fn a_connection_comes_back_for_the_next_run() {
        let db = temp_db("reuse");
        let first = db.connection().unwrap();
        first
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
            .unwrap();
        let _: i64 = first
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        drop(first);
        assert_eq!(idle(&db), 1, "data and pragma reads leave it reusable");
        let _second = db.connection().unwrap();
        assert_eq!(idle(&db), 0, "the idle connection is the one handed out");
    }

    #[test]
    fn a_connection_a_run_changed_is_closed_not_reused() {
        let db = temp_db("changed");
        for change in [
            "PRAGMA foreign_keys = ON",
            "CREATE TEMP TABLE scratch (x)",
            "ATTACH DATABASE ':memory:' AS side",
        ] {
            let run = db.connection().unwrap();
            run.execute_batch(change).unwrap();
            drop(run);
            assert_eq!(idle(&db), 0, "{change}");
        }
    }

    #[test]
    fn attaching_a_file_is_refused_as_on_spin() {
        let db = temp_db("attach");
        let run = db.connection().unwrap();
        let other = db.path.with_file_name("other.db");
        let err = run
            .execute_batch(&format!("ATTACH DATABASE '{}' AS o", other.display()))
            .unwrap_err();
        assert!(err.to_string().contains("not authorized"), "{err}");
        assert!(!other.exists());
    }

    #[test]
    fn a_transaction_left_open_is_rolled_back_before_reuse() {
        let db = temp_db("rollback");
        let run = db.connection().unwrap();
        run.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        drop(run); // the run ended inside its transaction
        assert_eq!(idle(&db), 1);
        let next = db.connection().unwrap();
        assert!(next.is_autocommit());
        let n: i64 = next
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "the abandoned insert was rolled back");
        // And the file is free for another writer.
        let other = open_database(&db.path).unwrap();
        other.execute_batch("INSERT INTO t VALUES (2)").unwrap();
    }

    #[test]
    fn a_busy_statement_waits_off_the_workers_and_then_runs() {
        let db = temp_db("busy");
        let holder = open_database(&db.path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        let guest = db.connection().unwrap();
        // Without waiting, the write is refused at once.
        assert!(guest.execute_batch("INSERT INTO t VALUES (2)").is_err());
        std::thread::scope(|s| {
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                holder.execute_batch("COMMIT").unwrap();
            });
            patiently(&guest, |c| c.execute_batch("INSERT INTO t VALUES (2)")).unwrap();
        });
        let n: i64 = guest
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
