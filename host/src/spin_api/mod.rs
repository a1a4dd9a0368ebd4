//! Spin's host interfaces at the versions spin-sdk 5.2 imports: variables,
//! key-value and SQLite (2.0 and 3.0).
//!
//! Each interface lives in its own file and checks the component's [`Grants`]
//! before touching anything: a label or variable the manifest does not grant
//! answers access-denied or undefined, never data.
//!
//! [`Grants`]: crate::state::Grants

mod key_value;
mod sqlite;
mod variables;

use wasmtime::component::{HasSelf, Linker};

use crate::state::HostState;

pub use key_value::KvStore;
pub use sqlite::Connection;

wasmtime::component::bindgen!({
    path: "wit",
    world: "skyport:host/capabilities",
    with: {
        "fermyon:spin/key-value.store": KvStore,
        "fermyon:spin/sqlite.connection": Connection,
        "spin:sqlite/sqlite.connection": Connection,
    },
});

/// Adds the Spin interfaces to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    fermyon::spin::variables::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    fermyon::spin::key_value::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    fermyon::spin::sqlite::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    spin::sqlite::sqlite::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

/// Opens a database file the way every label uses it: WAL journal so readers
/// do not block the writer, a busy timeout so concurrent writers wait instead
/// of failing, and `NORMAL` sync, which survives a killed process.
pub(crate) fn open_database(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}
