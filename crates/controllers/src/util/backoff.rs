//! Per-key exponential requeue delays after failed syncs, like client-go's default
//! item rate limiter (5 ms doubling, capped at 1000 s).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const BASE: Duration = Duration::from_millis(5);
const MAX: Duration = Duration::from_secs(1000);

/// Failure counts per key.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Counts one more failure of `key` and returns how long to wait before retrying.
    pub fn next(&self, key: &str) -> Duration {
        let Ok(mut m) = self.failures.lock() else {
            return MAX;
        };
        let n = m.entry(key.to_string()).or_insert(0);
        let d = BASE.saturating_mul(2u32.saturating_pow(*n)).min(MAX);
        *n = n.saturating_add(1);
        d
    }

    /// A success: the key starts again from the base delay.
    pub fn reset(&self, key: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let b = Backoff::default();
        assert_eq!(b.next("a"), Duration::from_millis(5));
        assert_eq!(b.next("a"), Duration::from_millis(10));
        assert_eq!(b.next("a"), Duration::from_millis(20));
        assert_eq!(b.next("b"), Duration::from_millis(5));
        for _ in 0..40 {
            b.next("a");
        }
        assert_eq!(b.next("a"), MAX);
        b.reset("a");
        assert_eq!(b.next("a"), Duration::from_millis(5));
    }
}
