//! `fermyon:spin/key-value@2.0.0` over an embedded SQLite file per label.
//!
//! Each `open` takes its own connection so that concurrent requests never share
//! a statement or a transaction; WAL mode keeps readers and writers apart.

use rusqlite::OptionalExtension;
use wasmtime::component::Resource;

use super::fermyon::spin::key_value::{Error, Host, HostStore};
use super::open_database;
use crate::state::HostState;

/// An open store: its label and its own connection.
pub struct KvStore {
    label: String,
    conn: rusqlite::Connection,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl HostState {
    fn kv(&mut self, store: &Resource<KvStore>) -> Result<&KvStore, Error> {
        self.table.get(store).map_err(other)
    }
}

impl Host for HostState {}

impl HostStore for HostState {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, Error> {
        let Some(path) = self.grants.key_value.get(&label) else {
            tracing::warn!(
                component = %self.grants.component,
                "key-value store `{label}` denied: add it to `key_value_stores` in the component's manifest"
            );
            return Err(Error::AccessDenied);
        };
        let conn = open_database(path).map_err(other)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                 store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                 PRIMARY KEY (store, key))",
        )
        .map_err(other)?;
        self.table.push(KvStore { label, conn }).map_err(other)
    }

    fn get(&mut self, store: Resource<KvStore>, key: String) -> Result<Option<Vec<u8>>, Error> {
        let s = self.kv(&store)?;
        s.conn
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                (&s.label, &key),
                |r| r.get(0),
            )
            .optional()
            .map_err(other)
    }

    fn set(&mut self, store: Resource<KvStore>, key: String, value: Vec<u8>) -> Result<(), Error> {
        let s = self.kv(&store)?;
        s.conn
            .execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                (&s.label, &key, &value),
            )
            .map(|_| ())
            .map_err(other)
    }

    fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), Error> {
        let s = self.kv(&store)?;
        s.conn
            .execute(
                "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
                (&s.label, &key),
            )
            .map(|_| ())
            .map_err(other)
    }

    fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, Error> {
        Ok(self.get(store, key)?.is_some())
    }

    fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, Error> {
        let s = self.kv(&store)?;
        let mut stmt = s
            .conn
            .prepare("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")
            .map_err(other)?;
        let keys = stmt.query_map([&s.label], |r| r.get(0)).map_err(other)?;
        keys.collect::<Result<Vec<String>, _>>().map_err(other)
    }

    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}
