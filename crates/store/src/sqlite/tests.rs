//! The shared backend suite on SQLite, plus persistence and crash tests.

use std::sync::Arc;

use super::SqliteStore;
use crate::Store;
use crate::suite::store_suite;

fn make(capacity: usize) -> (Arc<dyn Store>, Box<dyn std::any::Any + Send>) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open_with_watch_capacity(&dir.path().join("db/state.db"), capacity).unwrap();
    (Arc::new(store), Box::new(dir))
}

store_suite!(make);
