//! Time: an injectable clock and conversions between API timestamps and seconds.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// A source of "now"; tests inject a fixed or shifted one.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The system clock shifted by a number of seconds (tests: reach the next minute soon).
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock(pub i64);

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_second(Timestamp::now().as_second() + self.0).unwrap_or(Timestamp::now())
    }
}

/// The shared clock type controllers hold.
pub type SharedClock = Arc<dyn Clock>;

/// Seconds since the epoch of an API time.
pub fn secs(t: &Time) -> i64 {
    t.0.as_second()
}

/// An API time from seconds since the epoch (clamped into the representable range).
pub fn time(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}
