//! Read side: a small pool of read-only connections and the queries they run.
//!
//! Every multi-statement read runs in one (deferred) transaction, which in WAL mode is a
//! consistent snapshot: the revision, the compacted revision and the rows agree.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::db;
use super::schema::{self, COMPACT_REVISION};
use crate::keys::{prefix_end, range_start};
use crate::{Error, Event, KeyValue, RangeResult, Result, Revision};

/// Idle read connections kept for reuse; more are opened on demand under load.
const MAX_IDLE: usize = 8;

pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Run `f` on an idle (or new) read-only connection. Blocking: call from a blocking
    /// thread.
    pub(super) fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => schema::open_reader(&self.path).map_err(db)?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        out
    }
}

fn key_of(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| Error::Backend("sqlite: stored key is not UTF-8".into()))
}

/// A [`KeyValue`] from columns `key, id, create_revision, value` starting at `at`.
fn kv_at(row: &Row<'_>, at: usize) -> rusqlite::Result<(Vec<u8>, Revision, Revision, Vec<u8>)> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
    ))
}

fn to_kv(
    (key, id, create_revision, value): (Vec<u8>, Revision, Revision, Vec<u8>),
) -> Result<KeyValue> {
    Ok(KeyValue {
        key: key_of(key)?,
        value,
        create_revision,
        mod_revision: id,
    })
}

/// The live value of `key`.
pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<KeyValue>> {
    let row = conn
        .prepare_cached(
            "SELECT kv.key, l.id, l.create_revision, l.value
             FROM kv CROSS JOIN log AS l ON l.id = kv.id WHERE kv.key = ?1",
        )
        .map_err(db)?
        .query_row([key.as_bytes()], |row| kv_at(row, 0))
        .optional()
        .map_err(db)?;
    row.map(to_kv).transpose()
}

/// Live keys under `prefix`.
pub(super) fn count(conn: &Connection, prefix: &str) -> Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM kv WHERE key >= ?1 AND key < ?2")
        .map_err(db)?
        .query_row(params![prefix.as_bytes(), prefix_end(prefix)], |row| {
            row.get(0)
        })
        .map_err(db)
}

/// Keys under `prefix` after `start_after`, as of `revision` (None or <= 0: current).
pub(super) fn range(
    conn: &Connection,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
    revision: Option<Revision>,
) -> Result<RangeResult> {
    let tx = conn.unchecked_transaction().map_err(db)?;
    let current = schema::current_revision(&tx).map_err(db)?;
    let at = match revision {
        Some(requested) if requested > 0 => {
            let compacted = schema::meta(&tx, COMPACT_REVISION).map_err(db)?;
            if requested < compacted {
                return Err(Error::Compacted {
                    requested,
                    compacted,
                });
            }
            if requested > current {
                return Err(Error::FutureRevision { requested, current });
            }
            requested
        }
        _ => current,
    };
    let start = range_start(prefix, start_after);
    let end = prefix_end(prefix);
    // One extra row tells whether more keys match.
    let sql_limit = if limit == 0 { -1 } else { limit as i64 + 1 };
    let mut kvs = Vec::new();
    if at == current {
        let mut stmt = tx
            .prepare_cached(
                "SELECT kv.key, l.id, l.create_revision, l.value
                 FROM kv CROSS JOIN log AS l ON l.id = kv.id
                 WHERE kv.key >= ?1 AND kv.key < ?2 ORDER BY kv.key LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![start.as_bytes(), end, sql_limit], |row| {
                kv_at(row, 0)
            })
            .map_err(db)?;
        for row in rows {
            kvs.push(to_kv(row.map_err(db)?)?);
        }
    } else {
        // The newest row at or below `at` of each key, unless it is a deletion.
        let mut stmt = tx
            .prepare_cached(
                "SELECT l.key, l.id, l.create_revision, l.value FROM log AS l
                 WHERE l.key >= ?1 AND l.key < ?2 AND l.id <= ?3 AND l.deleted = 0
                   AND l.id = (SELECT max(m.id) FROM log AS m WHERE m.key = l.key AND m.id <= ?3)
                 ORDER BY l.key LIMIT ?4",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![start.as_bytes(), end, at, sql_limit], |row| {
                kv_at(row, 0)
            })
            .map_err(db)?;
        for row in rows {
            kvs.push(to_kv(row.map_err(db)?)?);
        }
    }
    let more = limit > 0 && kvs.len() > limit;
    kvs.truncate(if limit == 0 { kvs.len() } else { limit });
    Ok(RangeResult {
        kvs,
        more,
        revision: at,
    })
}

/// One log row joined with the row it superseded.
type EventRow = (
    (Vec<u8>, Revision, Revision, Vec<u8>),
    bool,
    Option<(Revision, Revision, bool, Vec<u8>)>,
);

/// Events under `prefix` with revision > `after`, oldest first, at most `limit`.
pub(super) fn events_after(
    conn: &Connection,
    prefix: &str,
    after: Revision,
    limit: usize,
) -> Result<Vec<Event>> {
    let tx = conn.unchecked_transaction().map_err(db)?;
    let compacted = schema::meta(&tx, COMPACT_REVISION).map_err(db)?;
    if after < compacted {
        return Err(Error::Compacted {
            requested: after,
            compacted,
        });
    }
    // `+l.key` keeps the planner on the id (revision) order instead of the key index.
    let mut stmt = tx
        .prepare_cached(
            "SELECT l.key, l.id, l.create_revision, l.value, l.deleted,
                    p.id, p.create_revision, p.deleted, p.value
             FROM log AS l LEFT JOIN log AS p ON p.id = l.prev_revision
             WHERE l.id > ?1 AND +l.key >= ?2 AND +l.key < ?3
             ORDER BY l.id LIMIT ?4",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(
            params![after, prefix.as_bytes(), prefix_end(prefix), limit as i64],
            |row| -> rusqlite::Result<EventRow> {
                let prev = match row.get::<_, Option<Revision>>(5)? {
                    Some(id) => Some((id, row.get(6)?, row.get(7)?, row.get(8)?)),
                    None => None,
                };
                Ok((kv_at(row, 0)?, row.get(4)?, prev))
            },
        )
        .map_err(db)?;
    let mut events = Vec::new();
    for row in rows {
        let (columns, deleted, prev) = row.map_err(db)?;
        let kv = to_kv(columns)?;
        // A superseded tombstone means the key did not exist before this write.
        let prev = prev.filter(|(_, _, prev_deleted, _)| !prev_deleted).map(
            |(id, create_revision, _, value)| KeyValue {
                key: kv.key.clone(),
                value,
                create_revision,
                mod_revision: id,
            },
        );
        let event = if deleted {
            let prev = prev.ok_or_else(|| {
                Error::Backend(format!(
                    "sqlite: deletion of {} at revision {} has no previous value",
                    kv.key, kv.mod_revision
                ))
            })?;
            Event::Delete {
                prev,
                revision: kv.mod_revision,
            }
        } else {
            Event::Put { kv, prev }
        };
        events.push(event);
    }
    Ok(events)
}
