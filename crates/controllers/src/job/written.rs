//! The resourceVersion of each Job's last status write, so that a sync never decides from a
//! cached Job older than what this controller itself wrote.
//!
//! Counting finished pods exactly once rests on two facts read together: the Job's
//! `status.succeeded`/`failed`/`uncountedTerminatedPods` and which pods still hold the
//! tracking finalizer. Right after a sync counts a pod and removes its finalizer, the pod
//! cache may already show the finalizer gone while the Job cache still shows the status from
//! before the count. A sync on that pair sees neither the pod (no finalizer) nor the count
//! (stale status): it would write the lower count back and create a replacement pod, whose
//! success is later counted on top of the original one. Skipping syncs until the Job cache
//! shows our own last write closes that window; resourceVersion preconditions on the writes
//! close it for writes by anyone else.

use std::collections::HashMap;
use std::sync::Mutex;

/// Last written resourceVersion per Job key (`namespace/name`).
#[derive(Default)]
pub struct Written {
    versions: Mutex<HashMap<String, u64>>,
}

/// A resourceVersion as a number; Skiff's are store revisions (opaque strings upstream, so
/// anything else is treated as unknown).
fn revision(rv: Option<&str>) -> Option<u64> {
    rv?.parse().ok()
}

impl Written {
    /// Remember that a write of this controller left the Job at `rv`.
    pub fn record(&self, key: &str, rv: Option<&str>) {
        let (Some(rv), Ok(mut m)) = (revision(rv), self.versions.lock()) else {
            return;
        };
        let e = m.entry(key.to_string()).or_insert(rv);
        *e = (*e).max(rv);
    }

    /// The cached Job (at `cached_rv`) is older than this controller's last write to it.
    /// Once the cache has caught up the entry is dropped.
    pub fn cache_is_behind(&self, key: &str, cached_rv: Option<&str>) -> bool {
        let Ok(mut m) = self.versions.lock() else {
            return false;
        };
        let Some(&written) = m.get(key) else {
            return false;
        };
        match revision(cached_rv) {
            Some(cached) if cached < written => true,
            _ => {
                m.remove(key);
                false
            }
        }
    }

    /// Forget a Job (deleted).
    pub fn forget(&self, key: &str) {
        if let Ok(mut m) = self.versions.lock() {
            m.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_until_the_cache_shows_the_write() {
        let w = Written::default();
        assert!(
            !w.cache_is_behind("ns/a", Some("10")),
            "nothing written yet"
        );
        w.record("ns/a", Some("12"));
        assert!(w.cache_is_behind("ns/a", Some("10")));
        assert!(w.cache_is_behind("ns/a", Some("11")));
        assert!(!w.cache_is_behind("ns/b", Some("1")), "per Job");
        assert!(!w.cache_is_behind("ns/a", Some("12")));
        // caught up: forgotten, so an older cached version no longer blocks
        assert!(!w.cache_is_behind("ns/a", Some("3")));
    }

    #[test]
    fn keeps_the_newest_write_and_ignores_unknown_versions() {
        let w = Written::default();
        w.record("ns/a", Some("20"));
        w.record("ns/a", Some("15"));
        assert!(w.cache_is_behind("ns/a", Some("19")));
        w.record("ns/b", Some("not-a-number"));
        assert!(!w.cache_is_behind("ns/b", Some("1")));
        w.record("ns/c", Some("5"));
        assert!(!w.cache_is_behind("ns/c", None), "no version: cannot tell");
        w.record("ns/d", Some("5"));
        w.forget("ns/d");
        assert!(!w.cache_is_behind("ns/d", Some("1")));
    }
}
