//! Expectations: the creations and deletions a controller made that its cache has not yet
//! shown, so a sync that runs before the watch catches up neither creates nor deletes twice.
//!
//! Upstream counts adds/dels and lowers them from informer events. Skiff records the UIDs it
//! created or deleted: a creation is met once the watch has delivered that UID (the pod
//! watch calls [`Expectations::observe`]) or the cache holds it; a deletion once the cache no
//! longer holds the pod or shows it terminating. Records are forgotten after five minutes,
//! as upstream's TTL does.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's expectations TTL.
pub const TTL: Duration = Duration::from_secs(300);
const OBSERVED_PRUNE_AT: usize = 4096;

#[derive(Debug, Default)]
struct Entry {
    created: HashSet<String>,
    deleted: HashSet<String>,
    since: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    keys: HashMap<String, Entry>,
    /// UIDs the watch delivered recently (a watch event may beat the create's response).
    observed: HashMap<String, Instant>,
}

/// Per-key pending creations and deletions.
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<Inner>,
}

/// What the cache says about one UID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not in the cache.
    Absent,
    /// In the cache, not being deleted.
    Present,
    /// In the cache with a deletionTimestamp.
    Deleting,
}

impl Expectations {
    /// Records an object this key created (known by its UID).
    pub fn created(&self, key: &str, uid: &str) {
        if let Ok(mut m) = self.inner.lock() {
            if m.observed.contains_key(uid) {
                return;
            }
            let e = m.keys.entry(key.to_string()).or_default();
            e.since.get_or_insert_with(Instant::now);
            e.created.insert(uid.to_string());
        }
    }

    /// Records an object this key deleted.
    pub fn deleted(&self, key: &str, uid: &str) {
        if let Ok(mut m) = self.inner.lock() {
            let e = m.keys.entry(key.to_string()).or_default();
            e.since.get_or_insert_with(Instant::now);
            e.deleted.insert(uid.to_string());
        }
    }

    /// The watch delivered an object with this UID: its creation is seen.
    pub fn observe(&self, uid: &str) {
        if let Ok(mut m) = self.inner.lock() {
            for e in m.keys.values_mut() {
                e.created.remove(uid);
            }
            if m.observed.len() >= OBSERVED_PRUNE_AT {
                m.observed.retain(|_, t| t.elapsed() < TTL);
            }
            m.observed.insert(uid.to_string(), Instant::now());
        }
    }

    /// Whether the cache has caught up with everything this key did; clears what it has.
    pub fn satisfied(&self, key: &str, seen: impl Fn(&str) -> Seen) -> bool {
        let Ok(mut m) = self.inner.lock() else {
            return true;
        };
        let Some(e) = m.keys.get_mut(key) else {
            return true;
        };
        e.created.retain(|u| seen(u) == Seen::Absent);
        e.deleted.retain(|u| seen(u) == Seen::Present);
        let expired = e.since.is_some_and(|s| s.elapsed() > TTL);
        if expired || (e.created.is_empty() && e.deleted.is_empty()) {
            m.keys.remove(key);
            return true;
        }
        false
    }

    /// Forgets a key (its owner is gone).
    pub fn forget(&self, key: &str) {
        if let Ok(mut m) = self.inner.lock() {
            m.keys.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_cache_shows_creates_and_deletes() {
        let e = Expectations::default();
        assert!(e.satisfied("k", |_| Seen::Absent));
        e.created("k", "a");
        e.deleted("k", "b");
        // nothing seen yet: the create is not in the cache, the deleted pod still is
        let before = |u: &str| {
            if u == "a" {
                Seen::Absent
            } else {
                Seen::Present
            }
        };
        assert!(!e.satisfied("k", before));
        // the create shows, the deleted pod is still there
        assert!(!e.satisfied("k", |_| Seen::Present));
        // the deleted pod is terminating
        assert!(e.satisfied("k", |u| if u == "b" {
            Seen::Deleting
        } else {
            Seen::Present
        }));
        // cleared: nothing pending any more
        assert!(e.satisfied("k", |_| Seen::Absent));
        e.created("k", "c");
        e.forget("k");
        assert!(e.satisfied("k", |_| Seen::Absent));
    }

    #[test]
    fn a_created_pod_deleted_before_the_sync_is_still_seen() {
        let e = Expectations::default();
        e.created("k", "a");
        e.observe("a");
        // gone from the cache again by the time the owner syncs
        assert!(e.satisfied("k", |_| Seen::Absent));
        // the watch event came before the create's response
        e.observe("b");
        e.created("k", "b");
        assert!(e.satisfied("k", |_| Seen::Absent));
    }
}
