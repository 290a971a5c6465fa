//! SQLite schema, connection set-up and the persisted metadata.
//!
//! One `log` table holds every write; its AUTOINCREMENT id is the store revision. `kv` maps
//! each live key to the log row holding its current value, so current reads never scan
//! history. `meta` holds the compacted revision and how far compaction has progressed.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::db;
use crate::{Error, Result, Revision};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_id ON log (key, id);
CREATE TABLE IF NOT EXISTS kv (
    key BLOB PRIMARY KEY,
    id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', 1);
";

/// Name in `meta` of the compacted revision: history at or below it is gone.
pub(super) const COMPACT_REVISION: &str = "compact_revision";
/// Name in `meta` of the revision up to which superseded rows have actually been deleted.
pub(super) const COMPACT_DONE: &str = "compact_done";

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The read-write connection of the writer thread; creates the database when missing.
pub(super) fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    // Only takes effect on a new, empty database: lets compaction give pages back with
    // `incremental_vacuum` instead of a full VACUUM.
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")
        .map_err(db)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Backend(format!(
            "sqlite: cannot switch {} to WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    // FULL: a commit is acknowledged only once the WAL is synced to disk.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(db)?;
    conn.execute_batch(SCHEMA).map_err(db)?;
    Ok(conn)
}

/// A read-only connection for queries.
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// The latest revision ever written (kept by AUTOINCREMENT even when its row is deleted).
pub(super) fn current_revision(conn: &Connection) -> rusqlite::Result<Revision> {
    let seq = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'log'")?
        .query_row([], |row| row.get::<_, i64>(0))
        .optional()?;
    Ok(seq.unwrap_or(0))
}

/// A value from `meta`, 0 when unset.
pub(super) fn meta(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    let value = conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([name], |row| row.get::<_, i64>(0))
        .optional()?;
    Ok(value.unwrap_or(0))
}

pub(super) fn set_meta(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)")?
        .execute(params![name, value])?;
    Ok(())
}
