//! SQLite: `fermyon:spin/sqlite@2.0.0` and `spin:sqlite/sqlite@3.0.0` over
//! embedded SQLite files, one per label.
//!
//! Both versions share one implementation ([`Connection::execute`]); the two
//! `Host` impls only translate their own generated types. Each `open` gets its
//! own connection, so a guest's `BEGIN … COMMIT` spans only its own statements.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::{HasSelf, Linker, Resource};

use super::databases::{patiently, Pooled};
use super::fermyon::spin::sqlite as v2;
use super::key_value::{check_labels, grant_labels, labels, Labels, RawStore};
use super::spin::sqlite::sqlite as v3;
use super::{Capability, GrantContext, InstanceContext, ManifestContext, RuntimeContext};
use crate::error::ConfigError;
use crate::manifest::Component;
use crate::state::HostState;

/// The SQLite capability.
pub struct Sqlite;

// ---------------------------------------------------------------------------
// Manifest section: `sqlite_databases = ["default", …]`.
// Runtime-config section: `[sqlite_database.<label>]`, mapped like key-value
// stores.
// ---------------------------------------------------------------------------

impl Capability for Sqlite {
    type RuntimeSection = BTreeMap<String, RawStore>;
    type Config = Labels;
    type Grant = Labels;
    type Instance = Instance;

    fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError> {
        check_labels(
            component,
            "sqlite_databases",
            &component.sqlite_databases,
            ctx,
        )
    }

    fn configure(
        section: BTreeMap<String, RawStore>,
        ctx: &RuntimeContext<'_>,
    ) -> Result<Labels, ConfigError> {
        labels(
            "sqlite_database",
            &section,
            "sqlite_db.db",
            Path::new("."),
            ctx,
        )
    }

    fn grant(
        component: &Component,
        config: &Labels,
        ctx: &GrantContext<'_>,
    ) -> Result<Labels, ConfigError> {
        grant_labels(
            component,
            "sqlite_databases",
            &component.sqlite_databases,
            config,
            "sqlite_database",
            "SQLite database",
            ctx,
        )
    }

    fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
        v2::add_to_linker::<_, HasSelf<Instance>>(linker, |s: &mut HostState| &mut s.sqlite)?;
        v3::add_to_linker::<_, HasSelf<Instance>>(linker, |s: &mut HostState| &mut s.sqlite)
    }

    fn instance(grant: &Arc<Labels>, ctx: &InstanceContext<'_>) -> Instance {
        Instance::new(grant, ctx)
    }
}

// ---------------------------------------------------------------------------
// Per-instance state: the granted labels and this run's open connections.
// ---------------------------------------------------------------------------

pub type Instance = super::databases::Labelled;

/// An open database connection.
pub struct Connection {
    conn: Pooled,
    last_insert_rowid: i64,
    changes: u64,
    /// The pooled connection's change count when this run opened it: until
    /// it moves, this run changed nothing and `changes` is 0.
    opened_at: u64,
}

/// A version-neutral failure.
enum Failure {
    NoSuchDatabase,
    AccessDenied,
    InvalidConnection,
    Io(String),
}

struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

impl Connection {
    fn execute(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<Rows, Failure> {
        let rows = patiently(&self.conn, |conn| query(conn, statement, &params)).map_err(|e| {
            Failure::Io(match e {
                // Spin's words for the text it cannot read.
                rusqlite::Error::Utf8Error(_) => "internal runtime error".into(),
                e => e.to_string(),
            })
        })?;
        self.last_insert_rowid = self.conn.last_insert_rowid();
        self.changes = if self.conn.total_changes() == self.opened_at {
            0
        } else {
            self.conn.changes()
        };
        Ok(rows)
    }
}

/// Runs one statement and reads every row it answers.
fn query(
    conn: &rusqlite::Connection,
    statement: &str,
    params: &[SqlValue],
) -> rusqlite::Result<Rows> {
    // Cached per pooled connection, as Spin caches them per database: the
    // product's reads are the same few statements on every request.
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let mut cursor = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = cursor.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(n) => SqlValue::Integer(n),
                ValueRef::Real(f) => SqlValue::Real(f),
                ValueRef::Text(t) => SqlValue::Text(text(t)?),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            });
        }
        rows.push(values);
    }
    Ok(Rows { columns, rows })
}

/// A text value as a string; text that is not UTF-8 fails the statement,
/// as on Spin.
fn text(t: &[u8]) -> rusqlite::Result<String> {
    std::str::from_utf8(t)
        .map(str::to_owned)
        .map_err(rusqlite::Error::Utf8Error)
}

impl Instance {
    fn open_sqlite(&mut self, label: &str) -> Result<Resource<Connection>, Failure> {
        let (conn, _) = self
            .open_label("SQLite database", label, "sqlite_databases")
            .ok_or(Failure::AccessDenied)?
            .map_err(|e| Failure::Io(e.to_string()))?;
        // Spin opens a new connection each time, whose last row id is 0;
        // a pooled one must not show the one an earlier run inserted.
        // SAFETY: the handle is this connection's own, used on this thread
        // while nothing else uses the connection.
        unsafe { rusqlite::ffi::sqlite3_set_last_insert_rowid(conn.handle(), 0) };
        let opened_at = conn.total_changes();
        self.table
            .push(Connection {
                conn,
                last_insert_rowid: 0,
                changes: 0,
                opened_at,
            })
            .map_err(|_| Failure::NoSuchDatabase)
    }

    fn sqlite(&mut self, conn: &Resource<Connection>) -> Result<&mut Connection, Failure> {
        self.table
            .get_mut(conn)
            .map_err(|_| Failure::InvalidConnection)
    }
}

/// Implements one version of the interface over [`Connection::execute`];
/// `$extra` adds the methods only that version has.
macro_rules! sqlite_version {
    ($m:ident, { $($extra:tt)* }) => {
        impl From<Failure> for $m::Error {
            fn from(f: Failure) -> Self {
                match f {
                    Failure::NoSuchDatabase => $m::Error::NoSuchDatabase,
                    Failure::AccessDenied => $m::Error::AccessDenied,
                    Failure::InvalidConnection => $m::Error::InvalidConnection,
                    Failure::Io(s) => $m::Error::Io(s),
                }
            }
        }

        impl From<$m::Value> for SqlValue {
            fn from(v: $m::Value) -> Self {
                match v {
                    $m::Value::Integer(n) => SqlValue::Integer(n),
                    $m::Value::Real(f) => SqlValue::Real(f),
                    $m::Value::Text(t) => SqlValue::Text(t),
                    $m::Value::Blob(b) => SqlValue::Blob(b),
                    $m::Value::Null => SqlValue::Null,
                }
            }
        }

        impl From<SqlValue> for $m::Value {
            fn from(v: SqlValue) -> Self {
                match v {
                    SqlValue::Integer(n) => $m::Value::Integer(n),
                    SqlValue::Real(f) => $m::Value::Real(f),
                    SqlValue::Text(t) => $m::Value::Text(t),
                    SqlValue::Blob(b) => $m::Value::Blob(b),
                    SqlValue::Null => $m::Value::Null,
                }
            }
        }

        impl From<Rows> for $m::QueryResult {
            fn from(r: Rows) -> Self {
                $m::QueryResult {
                    columns: r.columns,
                    rows: r
                        .rows
                        .into_iter()
                        .map(|values| $m::RowResult { values: values.into_iter().map(Into::into).collect() })
                        .collect(),
                }
            }
        }

        impl $m::Host for Instance {}

        impl $m::HostConnection for Instance {
            fn open(&mut self, database: String) -> Result<Resource<Connection>, $m::Error> {
                Ok(self.open_sqlite(&database)?)
            }

            fn execute(&mut self, conn: Resource<Connection>, statement: String, parameters: Vec<$m::Value>) -> Result<$m::QueryResult, $m::Error> {
                let params = parameters.into_iter().map(Into::into).collect();
                Ok(self.sqlite(&conn)?.execute(&statement, params)?.into())
            }

            fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
                self.table.delete(conn)?;
                Ok(())
            }

            $($extra)*
        }
    };
}

sqlite_version!(v2, {});
sqlite_version!(v3, {
    fn last_insert_rowid(&mut self, conn: Resource<Connection>) -> i64 {
        self.sqlite(&conn).map(|c| c.last_insert_rowid).unwrap_or(0)
    }

    fn changes(&mut self, conn: Resource<Connection>) -> u64 {
        self.sqlite(&conn).map(|c| c.changes).unwrap_or(0)
    }
});

#[cfg(test)]
mod tests {
    use super::query;

    #[test]
    fn text_that_is_not_utf8_fails_the_statement() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let rows = query(&conn, "SELECT 'Contoso › Prod'", &[]).unwrap();
        assert!(matches!(&rows.rows[0][0], super::SqlValue::Text(t) if t == "Contoso › Prod"));
        let err = query(&conn, "SELECT CAST(x'61ff62' AS TEXT)", &[]).err();
        assert!(
            matches!(err, Some(rusqlite::Error::Utf8Error(_))),
            "{err:?}"
        );
    }
}
