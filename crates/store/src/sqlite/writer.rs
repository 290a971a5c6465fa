//! The single writer thread: group commit of queued writes, then background compaction.
//!
//! Every write of the store goes through this thread's one connection, so SQLite never
//! reports "database is locked". The thread drains whatever writes are queued, applies them
//! in one IMMEDIATE transaction, commits (synchronous=FULL: durable on return), and only
//! then publishes the events and answers each caller. Compaction deletes history in small
//! transactions between batches so writers are never blocked for long.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{broadcast, oneshot};

use super::db;
use super::schema::{self, COMPACT_DONE, COMPACT_REVISION};
use crate::{Error, Event, KeyValue, Result, Revision};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Revisions of history examined per compaction transaction.
const COMPACT_CHUNK: Revision = 2_000;
/// Free pages (4 KiB each) worth giving back to the file system after a compaction.
const VACUUM_MIN_FREE_PAGES: i64 = 256;
/// Pages given back per incremental-vacuum transaction.
const VACUUM_STEP_PAGES: i64 = 512;

pub(super) enum Op {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
    Compact {
        revision: Revision,
    },
}

pub(super) enum Reply {
    Kv(KeyValue),
    Deleted(KeyValue, Revision),
    Compacted,
}

type ReplyTx = oneshot::Sender<Result<Reply>>;

pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: ReplyTx,
}

/// Revisions published to the async side after each commit.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) revision: AtomicI64,
    pub(super) compacted: AtomicI64,
}

/// What an operation produced inside the batch transaction.
enum Outcome {
    Reply(Result<Reply>),
    /// A compaction: answered once its history is deleted.
    Compaction,
}

/// State of the open batch transaction, applied to the writer only after COMMIT.
struct Staged {
    revision: Revision,
    compacted: Revision,
    events: Vec<Event>,
}

struct Compaction {
    done: Revision,
    target: Revision,
    waiters: Vec<ReplyTx>,
}

pub(super) struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<Event>>,
    counters: Arc<Counters>,
    revision: Revision,
    compacted: Revision,
    compact_done: Revision,
    compaction: Option<Compaction>,
    vacuum: bool,
}

impl Writer {
    /// Load the persisted revisions from `conn` and publish them in `counters`.
    pub(super) fn new(
        conn: Connection,
        rx: mpsc::Receiver<Request>,
        events: broadcast::Sender<Arc<Event>>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let revision = schema::current_revision(&conn).map_err(db)?;
        let compacted = schema::meta(&conn, COMPACT_REVISION).map_err(db)?;
        let compact_done = schema::meta(&conn, COMPACT_DONE).map_err(db)?;
        counters.revision.store(revision, Ordering::SeqCst);
        counters.compacted.store(compacted, Ordering::SeqCst);
        let mut writer = Writer {
            conn,
            rx,
            events,
            counters,
            revision,
            compacted,
            compact_done,
            compaction: None,
            vacuum: false,
        };
        // Finish a compaction interrupted by a crash.
        writer.start_compaction();
        Ok(writer)
    }

    /// Serve requests until every sender is gone.
    pub(super) fn run(mut self) {
        loop {
            let busy = self.compaction.is_some() || self.vacuum;
            let first = if busy {
                match self.rx.try_recv() {
                    Ok(request) => Some(request),
                    Err(mpsc::TryRecvError::Empty) => None,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            } else {
                match self.rx.recv() {
                    Ok(request) => Some(request),
                    Err(mpsc::RecvError) => return,
                }
            };
            if let Some(first) = first {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match self.rx.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                self.apply_batch(batch);
            }
            if self.compaction.is_some() {
                self.compact_step();
            } else if self.vacuum {
                self.vacuum_step();
            }
        }
    }

    fn apply_batch(&mut self, batch: Vec<Request>) {
        let mut staged = Staged {
            revision: self.revision,
            compacted: self.compacted,
            events: Vec::new(),
        };
        let mut answered: Vec<(ReplyTx, Outcome)> = Vec::with_capacity(batch.len());
        let tx = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(tx) => tx,
            Err(err) => return fail_all(batch.into_iter().map(|r| r.reply), db(err)),
        };
        let mut requests = batch.into_iter();
        while let Some(Request { op, reply }) = requests.next() {
            match apply_op(&tx, &mut staged, op) {
                Ok(outcome) => answered.push((reply, outcome)),
                Err(err) => {
                    // The whole transaction rolls back: nothing of this batch was written.
                    drop(tx);
                    let replies = answered
                        .into_iter()
                        .map(|(reply, _)| reply)
                        .chain(std::iter::once(reply))
                        .chain(requests.map(|r| r.reply));
                    return fail_all(replies, db(err));
                }
            }
        }
        if let Err(err) = tx.commit() {
            return fail_all(answered.into_iter().map(|(reply, _)| reply), db(err));
        }
        // Durable: publish, then answer.
        self.revision = staged.revision;
        self.compacted = staged.compacted;
        self.counters
            .revision
            .store(self.revision, Ordering::SeqCst);
        self.counters
            .compacted
            .store(self.compacted, Ordering::SeqCst);
        for event in staged.events {
            // No receivers is fine: nobody is watching.
            let _ = self.events.send(Arc::new(event));
        }
        for (reply, outcome) in answered {
            match outcome {
                Outcome::Reply(result) => {
                    // The caller may have given up waiting; the write stands.
                    let _ = reply.send(result);
                }
                Outcome::Compaction => {
                    self.start_compaction();
                    match self.compaction.as_mut() {
                        Some(compaction) => compaction.waiters.push(reply),
                        None => {
                            let _ = reply.send(Ok(Reply::Compacted));
                        }
                    }
                }
            }
        }
    }

    /// Begin (or extend) deleting history up to the compacted revision.
    fn start_compaction(&mut self) {
        if self.compact_done >= self.compacted {
            return;
        }
        match self.compaction.as_mut() {
            Some(compaction) => compaction.target = self.compacted,
            None => {
                self.compaction = Some(Compaction {
                    done: self.compact_done,
                    target: self.compacted,
                    waiters: Vec::new(),
                })
            }
        }
    }

    /// Delete superseded rows and tombstones for one chunk of revisions.
    fn compact_step(&mut self) {
        let Some(compaction) = self.compaction.as_mut() else {
            return;
        };
        let low = compaction.done;
        let high = (low + COMPACT_CHUNK).min(compaction.target);
        match compact_chunk(&mut self.conn, low, high) {
            Ok(()) => {
                compaction.done = high;
                self.compact_done = high;
                if high >= compaction.target {
                    for waiter in compaction.waiters.drain(..) {
                        let _ = waiter.send(Ok(Reply::Compacted));
                    }
                    self.compaction = None;
                    self.vacuum = true;
                }
            }
            Err(err) => {
                tracing::warn!(%err, "sqlite store: compaction step failed");
                let err = db(err);
                fail_all(compaction.waiters.drain(..), err);
                // Retried by the next compaction request (or on restart).
                self.compaction = None;
            }
        }
    }

    /// Give free pages back to the file system, a few at a time.
    fn vacuum_step(&mut self) {
        let step = || -> rusqlite::Result<bool> {
            let free: i64 = self
                .conn
                .query_row("PRAGMA freelist_count", [], |row| row.get(0))?;
            if free < VACUUM_MIN_FREE_PAGES {
                return Ok(false);
            }
            // Each step of this statement frees one page: run it to completion.
            let mut stmt = self
                .conn
                .prepare_cached(&format!("PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})"))?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            Ok(free > VACUUM_STEP_PAGES)
        };
        match step() {
            Ok(more) => self.vacuum = more,
            Err(err) => {
                tracing::warn!(%err, "sqlite store: incremental vacuum failed");
                self.vacuum = false;
            }
        }
    }
}

fn fail_all(replies: impl IntoIterator<Item = ReplyTx>, err: Error) {
    for reply in replies {
        let _ = reply.send(Err(err.clone()));
    }
}

/// The live value of `key`, read inside the batch transaction.
fn live(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached(
        "SELECT l.id, l.create_revision, l.value
         FROM kv CROSS JOIN log AS l ON l.id = kv.id WHERE kv.key = ?1",
    )?
    .query_row([key.as_bytes()], |row| {
        Ok(KeyValue {
            key: key.to_string(),
            value: row.get(2)?,
            create_revision: row.get(1)?,
            mod_revision: row.get(0)?,
        })
    })
    .optional()
}

fn insert_log(
    conn: &Connection,
    revision: Revision,
    key: &str,
    create_revision: Revision,
    prev_revision: Revision,
    value: Option<&[u8]>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO log (id, key, create_revision, prev_revision, deleted, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        revision,
        key.as_bytes(),
        create_revision,
        prev_revision,
        value.is_none(),
        value.unwrap_or_default(),
    ])?;
    Ok(())
}

fn conflict(key: String, expected: Revision, actual: Revision) -> Outcome {
    Outcome::Reply(Err(Error::Conflict {
        key,
        expected,
        actual,
    }))
}

/// Apply one operation inside the batch transaction. `Err` only for SQLite failures.
fn apply_op(conn: &Connection, staged: &mut Staged, op: Op) -> rusqlite::Result<Outcome> {
    match op {
        Op::Create { key, value } => {
            if live(conn, &key)?.is_some() {
                return Ok(Outcome::Reply(Err(Error::AlreadyExists(key))));
            }
            let revision = staged.revision + 1;
            insert_log(conn, revision, &key, revision, 0, Some(&value))?;
            conn.prepare_cached("INSERT INTO kv (key, id) VALUES (?1, ?2)")?
                .execute(params![key.as_bytes(), revision])?;
            staged.revision = revision;
            let kv = KeyValue {
                key,
                value,
                create_revision: revision,
                mod_revision: revision,
            };
            staged.events.push(Event::Put {
                kv: kv.clone(),
                prev: None,
            });
            Ok(Outcome::Reply(Ok(Reply::Kv(kv))))
        }
        Op::Update {
            key,
            value,
            expected,
        } => {
            let Some(prev) = live(conn, &key)? else {
                return Ok(Outcome::Reply(Err(Error::NotFound(key))));
            };
            if prev.mod_revision != expected {
                return Ok(conflict(key, expected, prev.mod_revision));
            }
            let revision = staged.revision + 1;
            insert_log(
                conn,
                revision,
                &key,
                prev.create_revision,
                prev.mod_revision,
                Some(&value),
            )?;
            conn.prepare_cached("UPDATE kv SET id = ?2 WHERE key = ?1")?
                .execute(params![key.as_bytes(), revision])?;
            staged.revision = revision;
            let kv = KeyValue {
                key,
                value,
                create_revision: prev.create_revision,
                mod_revision: revision,
            };
            staged.events.push(Event::Put {
                kv: kv.clone(),
                prev: Some(prev),
            });
            Ok(Outcome::Reply(Ok(Reply::Kv(kv))))
        }
        Op::Delete { key, expected } => {
            let Some(prev) = live(conn, &key)? else {
                return Ok(Outcome::Reply(Err(Error::NotFound(key))));
            };
            if let Some(expected) = expected
                && prev.mod_revision != expected
            {
                return Ok(conflict(key, expected, prev.mod_revision));
            }
            let revision = staged.revision + 1;
            insert_log(
                conn,
                revision,
                &key,
                prev.create_revision,
                prev.mod_revision,
                None,
            )?;
            conn.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute([key.as_bytes()])?;
            staged.revision = revision;
            staged.events.push(Event::Delete {
                prev: prev.clone(),
                revision,
            });
            Ok(Outcome::Reply(Ok(Reply::Deleted(prev, revision))))
        }
        Op::Compact { revision } => {
            if revision > staged.revision {
                return Ok(Outcome::Reply(Err(Error::FutureRevision {
                    requested: revision,
                    current: staged.revision,
                })));
            }
            if revision > staged.compacted {
                schema::set_meta(conn, COMPACT_REVISION, revision)?;
                staged.compacted = revision;
            }
            Ok(Outcome::Compaction)
        }
    }
}

/// Delete, for the writes with revision in (`low`, `high`], the rows they superseded and
/// the deletion tombstones among them. Latest values are never touched: no write at or
/// below the compacted revision supersedes them.
fn compact_chunk(conn: &mut Connection, low: Revision, high: Revision) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "DELETE FROM log WHERE id IN
           (SELECT prev_revision FROM log WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)",
    )?
    .execute(params![low, high])?;
    tx.prepare_cached("DELETE FROM log WHERE id > ?1 AND id <= ?2 AND deleted = 1")?
        .execute(params![low, high])?;
    schema::set_meta(&tx, COMPACT_DONE, high)?;
    tx.commit()
}
