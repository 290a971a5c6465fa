//! Embedded SQLite store: a write log whose AUTOINCREMENT id is the revision, one writer
//! thread with group commit, read-only connections for queries.
//!
//! Durability: WAL mode with `synchronous=FULL`; a write is acknowledged only after the
//! COMMIT of the batch holding it returned. Revisions continue across restarts; the
//! compacted revision is persisted.

mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::{broadcast, oneshot};

use crate::watch::{self, DEFAULT_CHANNEL_CAPACITY, History};
use crate::{Error, Event, KeyValue, RangeResult, Result, Revision, Store, WatchStream};
use read::Readers;
use writer::{Counters, Op, Reply, Request, Writer};

/// A [`Store`] in one SQLite database file (plus its `-wal` and `-shm` companions).
///
/// Dropping the last handle (including watch streams, which keep the store alive) stops the
/// writer thread after it finished the batch at hand.
pub struct SqliteStore {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    readers: Readers,
    events: broadcast::Sender<Arc<Event>>,
    counters: Arc<Counters>,
}

fn db(err: rusqlite::Error) -> Error {
    Error::Backend(format!("sqlite: {err}"))
}

fn writer_gone() -> Error {
    Error::Backend("sqlite: the writer thread has stopped".into())
}

impl SqliteStore {
    /// Open (creating if missing, with its parent directory) the database at `path` and
    /// start its writer thread.
    ///
    /// Synchronous: it does blocking file I/O (schema creation, WAL recovery after a crash),
    /// so from async code prefer `tokio::task::spawn_blocking`. No Tokio runtime is needed.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_watch_capacity(path, DEFAULT_CHANNEL_CAPACITY)
    }

    /// [`SqliteStore::open`] whose watchers may fall at most `capacity` events behind before
    /// their streams end with an error.
    pub fn open_with_watch_capacity(path: &Path, capacity: usize) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                Error::Backend(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        let conn = schema::open_writer(path)?;
        let (events, _) = broadcast::channel(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let (requests, rx) = mpsc::channel();
        let writer = Writer::new(conn, rx, events.clone(), counters.clone())?;
        let thread = std::thread::Builder::new()
            .name("skiff-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|err| Error::Backend(format!("cannot start the sqlite writer: {err}")))?;
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                requests: Some(requests),
                thread: Some(thread),
                readers: Readers::new(path.to_path_buf()),
                events,
                counters,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    async fn write(&self, op: Op) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        let requests = self.shared.requests.as_ref().ok_or_else(writer_gone)?;
        requests
            .send(Request { op, reply })
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        self.shared.read(f).await
    }
}

impl Shared {
    async fn read<R, F>(self: &Arc<Self>, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || shared.readers.with(f))
            .await
            .map_err(|err| Error::Backend(format!("sqlite read task failed: {err}")))?
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue stops the writer; wait so the database is closed on return.
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// History reads for watchers, on the read pool.
struct WatchHistory(Arc<Shared>);

#[async_trait]
impl History for WatchHistory {
    async fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let prefix = prefix.to_string();
        self.0
            .read(move |conn| read::events_after(conn, &prefix, after, limit))
            .await
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.0.events.subscribe()
    }

    fn current(&self) -> Revision {
        self.0.counters.revision.load(Ordering::SeqCst)
    }
}

fn unexpected() -> Error {
    Error::Backend("sqlite: unexpected reply from the writer".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_string();
        self.read(move |conn| read::get(conn, &key)).await
    }

    async fn range(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult> {
        let prefix = prefix.to_string();
        let start_after = start_after.map(str::to_string);
        self.read(move |conn| read::range(conn, &prefix, start_after.as_deref(), limit, revision))
            .await
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let prefix = prefix.to_string();
        self.read(move |conn| read::count(conn, &prefix)).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let key = key.to_string();
        match self.write(Op::Create { key, value }).await? {
            Reply::Kv(kv) => Ok(kv),
            _ => Err(unexpected()),
        }
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        let key = key.to_string();
        match self
            .write(Op::Update {
                key,
                value,
                expected,
            })
            .await?
        {
            Reply::Kv(kv) => Ok(kv),
            _ => Err(unexpected()),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let key = key.to_string();
        match self.write(Op::Delete { key, expected }).await? {
            Reply::Deleted(prev, revision) => Ok((prev, revision)),
            _ => Err(unexpected()),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let compacted = self.shared.counters.compacted.load(Ordering::SeqCst);
        if after < compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted,
            });
        }
        let history = Arc::new(WatchHistory(self.shared.clone()));
        Ok(watch::stream(history, prefix.to_string(), after))
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.shared.counters.revision.load(Ordering::SeqCst))
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.shared.counters.compacted.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self.write(Op::Compact { revision }).await? {
            Reply::Compacted => Ok(()),
            _ => Err(unexpected()),
        }
    }
}

#[cfg(test)]
mod tests;
