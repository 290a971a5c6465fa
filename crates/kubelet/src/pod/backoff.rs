//! Restart and image-pull back-off: 10 s doubling to 5 min, forgotten after 10 min quiet.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Upstream's initial back-off.
pub const INITIAL: Duration = Duration::from_secs(10);
/// Upstream's maximum back-off.
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: DateTime<Utc>,
}

/// Per-key exponential back-off, as upstream's `flowcontrol.Backoff`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(INITIAL, MAX)
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    /// Current back-off of `key` (zero when none).
    pub fn get(&self, key: &str) -> Duration {
        self.entries.get(key).map(|e| e.backoff).unwrap_or_default()
    }

    /// Record one more failure of `key` at `now`: start at the initial delay, or double it;
    /// an entry untouched for twice the maximum (10 min) starts over.
    pub fn next(&mut self, key: &str, now: DateTime<Utc>) {
        let initial = self.initial;
        let max = self.max;
        let e = self.entries.entry(key.to_string()).or_insert(Entry {
            backoff: Duration::ZERO,
            last_update: now,
        });
        let quiet = (now - e.last_update).to_std().unwrap_or_default();
        e.backoff = if e.backoff.is_zero() || quiet > max * 2 {
            initial
        } else {
            (e.backoff * 2).min(max)
        };
        e.last_update = now;
    }

    /// Whether `key` is still backing off at `now` counting from `since` (e.g. the exit time).
    pub fn in_backoff_since(&self, key: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let Some(e) = self.entries.get(key) else {
            return false;
        };
        if (now - e.last_update).to_std().unwrap_or_default() > self.max * 2 {
            return false;
        }
        (now - since).to_std().unwrap_or_default() < e.backoff
    }

    /// Whether `key` is still backing off at `now` counting from its last failure.
    pub fn in_backoff_since_update(&self, key: &str, now: DateTime<Utc>) -> bool {
        self.entries
            .get(key)
            .is_some_and(|e| (now - e.last_update).to_std().unwrap_or_default() < e.backoff)
    }

    /// Forget `key`.
    pub fn reset(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn doubles_to_the_cap_and_resets_after_quiet() {
        let mut b = Backoff::default();
        let t0 = Utc::now();
        assert!(!b.in_backoff_since("c", t0, t0));
        b.next("c", t0);
        assert_eq!(b.get("c"), Duration::from_secs(10));
        assert!(b.in_backoff_since("c", t0, t0 + TimeDelta::seconds(9)));
        assert!(!b.in_backoff_since("c", t0, t0 + TimeDelta::seconds(10)));
        let mut t = t0;
        for want in [20, 40, 80, 160, 300, 300] {
            t += TimeDelta::seconds(1);
            b.next("c", t);
            assert_eq!(b.get("c").as_secs(), want);
        }
        t += TimeDelta::minutes(11);
        assert!(!b.in_backoff_since("c", t, t));
        b.next("c", t);
        assert_eq!(b.get("c"), Duration::from_secs(10));
    }
}
