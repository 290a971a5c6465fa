//! In-memory store for tests: full history per key, compaction and watch, nothing on disk.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::keys::range_start;
use crate::watch::{self, DEFAULT_CHANNEL_CAPACITY, History};
use crate::{Error, Event, KeyValue, RangeResult, Result, Revision, Store, WatchStream};

/// A [`Store`] kept entirely in memory. Cheap to clone handles are not offered: wrap it in
/// an `Arc` to share it.
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<Event>>,
}

/// One version of a key; `value` is `None` for a deletion.
struct Version {
    mod_revision: Revision,
    create_revision: Revision,
    value: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    revision: Revision,
    compacted: Revision,
    /// Every retained version of every key, oldest first.
    keys: BTreeMap<String, Vec<Version>>,
    /// Every event after the compacted revision, oldest first.
    log: VecDeque<Arc<Event>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store (revision 0).
    pub fn new() -> Self {
        Self::with_watch_capacity(DEFAULT_CHANNEL_CAPACITY)
    }

    /// An empty store whose watchers may fall at most `capacity` events behind before their
    /// streams end with an error.
    pub fn with_watch_capacity(capacity: usize) -> Self {
        let (events, _) = broadcast::channel(capacity.max(1));
        MemoryStore {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                events,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record a write: bump the revision, log the event and publish it, all under the lock so
    /// the channel sees events in revision order and only once they are readable.
    fn commit(&self, state: &mut State, key: &str, version: Version, event: Event) {
        state.revision = version.mod_revision;
        state.keys.entry(key.to_string()).or_default().push(version);
        let event = Arc::new(event);
        state.log.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }
}

impl State {
    /// The live version of `key` as a [`KeyValue`].
    fn live(&self, key: &str) -> Option<KeyValue> {
        let version = self.keys.get(key)?.last()?;
        to_kv(key, version)
    }

    fn check_readable(&self, revision: Revision) -> Result<()> {
        if revision < self.compacted {
            return Err(Error::Compacted {
                requested: revision,
                compacted: self.compacted,
            });
        }
        if revision > self.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: self.revision,
            });
        }
        Ok(())
    }
}

fn to_kv(key: &str, version: &Version) -> Option<KeyValue> {
    Some(KeyValue {
        key: key.to_string(),
        value: version.value.clone()?,
        create_revision: version.create_revision,
        mod_revision: version.mod_revision,
    })
}

#[async_trait]
impl History for Shared {
    async fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let state = self.lock();
        if after < state.compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted: state.compacted,
            });
        }
        let start = state.log.partition_point(|e| e.revision() <= after);
        Ok(state
            .log
            .range(start..)
            .filter(|e| e.key().starts_with(prefix))
            .take(limit)
            .map(|e| Event::clone(e))
            .collect())
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    fn current(&self) -> Revision {
        self.lock().revision
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.state().live(key))
    }

    async fn range(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult> {
        let state = self.state();
        let at = match revision {
            Some(r) if r > 0 => {
                state.check_readable(r)?;
                r
            }
            _ => state.revision,
        };
        let start = range_start(prefix, start_after);
        let mut kvs = Vec::new();
        let mut more = false;
        let matching = state
            .keys
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix));
        for (key, versions) in matching {
            let visible = versions.partition_point(|v| v.mod_revision <= at);
            let Some(kv) = visible
                .checked_sub(1)
                .and_then(|i| to_kv(key, &versions[i]))
            else {
                continue;
            };
            if limit > 0 && kvs.len() == limit {
                more = true;
                break;
            }
            kvs.push(kv);
        }
        Ok(RangeResult {
            kvs,
            more,
            revision: at,
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let state = self.state();
        let live = state
            .keys
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .filter(|(_, versions)| versions.last().is_some_and(|v| v.value.is_some()))
            .count();
        Ok(live as i64)
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let mut state = self.state();
        if state.live(key).is_some() {
            return Err(Error::AlreadyExists(key.to_string()));
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_string(),
            value,
            create_revision: revision,
            mod_revision: revision,
        };
        let version = Version {
            mod_revision: revision,
            create_revision: revision,
            value: Some(kv.value.clone()),
        };
        let event = Event::Put {
            kv: kv.clone(),
            prev: None,
        };
        self.shared.commit(&mut state, key, version, event);
        Ok(kv)
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        let mut state = self.state();
        let prev = state
            .live(key)
            .ok_or_else(|| Error::NotFound(key.to_string()))?;
        if prev.mod_revision != expected {
            return Err(Error::Conflict {
                key: key.to_string(),
                expected,
                actual: prev.mod_revision,
            });
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_string(),
            value,
            create_revision: prev.create_revision,
            mod_revision: revision,
        };
        let version = Version {
            mod_revision: revision,
            create_revision: prev.create_revision,
            value: Some(kv.value.clone()),
        };
        let event = Event::Put {
            kv: kv.clone(),
            prev: Some(prev),
        };
        self.shared.commit(&mut state, key, version, event);
        Ok(kv)
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let mut state = self.state();
        let prev = state
            .live(key)
            .ok_or_else(|| Error::NotFound(key.to_string()))?;
        if let Some(expected) = expected
            && prev.mod_revision != expected
        {
            return Err(Error::Conflict {
                key: key.to_string(),
                expected,
                actual: prev.mod_revision,
            });
        }
        let revision = state.revision + 1;
        let version = Version {
            mod_revision: revision,
            create_revision: prev.create_revision,
            value: None,
        };
        let event = Event::Delete {
            prev: prev.clone(),
            revision,
        };
        self.shared.commit(&mut state, key, version, event);
        Ok((prev, revision))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        {
            let state = self.state();
            if after < state.compacted {
                return Err(Error::Compacted {
                    requested: after,
                    compacted: state.compacted,
                });
            }
        }
        Ok(watch::stream(
            self.shared.clone(),
            prefix.to_string(),
            after,
        ))
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.state().revision)
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.state().compacted)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut state = self.state();
        if revision > state.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        if revision <= state.compacted {
            return Ok(());
        }
        state.compacted = revision;
        state.keys.retain(|_, versions| {
            // Keep the newest version at or below `revision` unless it is a deletion.
            let at_or_below = versions.partition_point(|v| v.mod_revision <= revision);
            let keep_from = match at_or_below.checked_sub(1) {
                Some(i) if versions[i].value.is_some() => i,
                _ => at_or_below,
            };
            versions.drain(..keep_from);
            !versions.is_empty()
        });
        while state.log.front().is_some_and(|e| e.revision() <= revision) {
            state.log.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
