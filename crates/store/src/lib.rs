//! Revisioned key-value store: one trait, a cluster-wide revision, watch from a revision.
//!
//! Keys are `/`-separated strings such as `/registry/pods/default/web-1`. Every successful
//! write bumps the single store revision by one and stamps the written key with it
//! (`mod_revision`); `resourceVersion` in the API is exactly that number.

use async_trait::async_trait;
use futures::stream::BoxStream;

/// A store revision. Starts at 1 for an empty store's first write; 0 means "no revision".
pub type Revision = i64;

/// One key at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: Revision,
    /// Revision of the last write to this key (for a deletion event: the deletion's revision).
    pub mod_revision: Revision,
}

/// A change delivered by [`Store::watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The key was created (`prev` is `None`) or updated (`prev` holds the old value).
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// The key was deleted at `revision`; `prev` is the last value it had.
    Delete { prev: KeyValue, revision: Revision },
}

impl Event {
    pub fn revision(&self) -> Revision {
        match self {
            Event::Put { kv, .. } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }
    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv, .. } => &kv.key,
            Event::Delete { prev, .. } => &prev.key,
        }
    }
}

/// Result of [`Store::range`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeResult {
    /// Matching keys in ascending key order.
    pub kvs: Vec<KeyValue>,
    /// True when more keys match after the last one returned (limit reached).
    pub more: bool,
    /// The revision the range was read at (the current revision when none was asked for).
    pub revision: Revision,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("key {0} already exists")]
    AlreadyExists(String),
    #[error("key {0} not found")]
    NotFound(String),
    /// Compare-and-swap failed: the key's mod revision is not the expected one.
    #[error("key {key} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },
    /// The requested revision is older than the compacted revision.
    #[error("required revision {requested} has been compacted (oldest available {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is newer than the current revision.
    #[error("revision {requested} is in the future (current {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("storage backend failure: {0}")]
    Backend(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stream of watch events in revision order. Ends (or yields an error) when the store
/// can no longer serve it, e.g. the watcher fell too far behind.
pub type WatchStream = BoxStream<'static, Result<Event>>;

/// The one storage interface. Implementations: [`memory::MemoryStore`], [`sqlite::SqliteStore`]
/// (and later etcd). All writes are linearizable and serialized inside the process.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Latest value of `key`, if it exists.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys starting with `prefix`, strictly after `start_after` when given, in key order,
    /// at most `limit` of them (0 = no limit), as of `revision` (None or <= 0 = current).
    /// [`Error::Compacted`] / [`Error::FutureRevision`] for a revision outside the history.
    async fn range(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult>;

    /// Number of live keys under `prefix`.
    async fn count(&self, prefix: &str) -> Result<i64>;

    /// Create `key`; fails with [`Error::AlreadyExists`] if it exists.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;

    /// Replace `key` only if its mod revision equals `expected`
    /// ([`Error::Conflict`] otherwise, [`Error::NotFound`] if missing).
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue>;

    /// Delete `key`, only if its mod revision equals `expected` when given.
    /// Returns the deleted value (its `mod_revision` is the last write before deletion).
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;

    /// Every change to keys under `prefix` with revision > `after`, exactly once, in order,
    /// then live changes. [`Error::Compacted`] if `after` is older than the compacted revision.
    ///
    /// `after` is taken literally: pass the current revision to watch "from now"; 0 replays
    /// all history (and so fails once anything was compacted); a future revision waits for
    /// it. A watcher that falls too far behind the writers gets one [`Error::Backend`] and
    /// its stream ends; so does one whose catch-up meets a concurrent compaction
    /// ([`Error::Compacted`]). A stream keeps its store alive until dropped.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// The current (latest) revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// The oldest revision still readable (history at or before it has been discarded).
    async fn compacted_revision(&self) -> Result<Revision>;

    /// Discard history up to and including `revision` (latest values are kept). Returns once
    /// the history is deleted; a revision at or below the compacted one is a no-op,
    /// [`Error::FutureRevision`] above the current one.
    async fn compact(&self, revision: Revision) -> Result<()>;
}

mod compactor;
mod keys;
pub mod memory;
pub mod sqlite;
#[cfg(test)]
mod suite;
mod watch;

pub use compactor::{
    DEFAULT_COMPACT_INTERVAL, DEFAULT_KEEP_REVISIONS, compact_once, spawn_compactor,
};
