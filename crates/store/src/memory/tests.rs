//! The shared backend suite on the in-memory store.

use std::sync::Arc;

use super::MemoryStore;
use crate::suite::store_suite;

store_suite!(|capacity| (
    Arc::new(MemoryStore::with_watch_capacity(capacity)) as Arc<dyn crate::Store>,
    Box::new(()) as Box<dyn std::any::Any + Send>
));
