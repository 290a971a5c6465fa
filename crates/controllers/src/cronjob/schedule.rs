//! Cron schedules as CronJobs take them: five fields (minute hour day-of-month month
//! day-of-week) with lists, ranges, steps, month and weekday names, `?`, and the `@hourly`
//! family; next times computed in a time zone (IANA names, via chrono-tz).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Why a schedule or time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("expected exactly 5 fields, found {0}: {1}")]
    FieldCount(usize, String),
    #[error("unrecognized descriptor: {0}")]
    Descriptor(String),
    #[error("failed to parse int from {0}")]
    Number(String),
    #[error("beginning of range ({0}) below minimum ({1}): {2}")]
    BelowMin(u32, u32, String),
    #[error("end of range ({0}) above maximum ({1}): {2}")]
    AboveMax(u32, u32, String),
    #[error("beginning of range ({0}) beyond end of range ({1}): {2}")]
    Reversed(u32, u32, String),
    #[error("step of range should be a positive number: {0}")]
    Step(String),
    #[error("unknown time zone {0}")]
    TimeZone(String),
}

/// A parsed schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// Day-of-month or day-of-week was `*`/`?`: both must match (else either may).
    dom_star: bool,
    dow_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn number(s: &str, names: &[&str], offset: u32) -> Result<u32, ScheduleError> {
    let l = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == l) {
        return Ok(i as u32 + offset);
    }
    s.parse().map_err(|_| ScheduleError::Number(s.to_string()))
}

/// Parses one field into a bit set; returns (bits, was a star).
fn field(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    offset: u32,
) -> Result<(u64, bool), ScheduleError> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let st: u32 = s
                    .parse()
                    .map_err(|_| ScheduleError::Number(s.to_string()))?;
                if st == 0 {
                    return Err(ScheduleError::Step(part.to_string()));
                }
                (r, Some(st))
            }
            None => (part, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            if step.is_none() {
                star = true;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(a, names, offset)?, number(b, names, offset)?)
        } else {
            let a = number(range, names, offset)?;
            (a, if step.is_some() { max } else { a })
        };
        if lo < min {
            return Err(ScheduleError::BelowMin(lo, min, part.to_string()));
        }
        if hi > max {
            return Err(ScheduleError::AboveMax(hi, max, part.to_string()));
        }
        if lo > hi {
            return Err(ScheduleError::Reversed(lo, hi, part.to_string()));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a standard cron line or a descriptor.
    pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
        let spec = spec.trim();
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(ScheduleError::Descriptor(s.to_string())),
            s => s,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(ScheduleError::FieldCount(f.len(), spec.to_string()));
        }
        let (minute, _) = field(f[0], 0, 59, &[], 0)?;
        let (hour, _) = field(f[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(f[2], 1, 31, &[], 0)?;
        let (month, _) = field(f[3], 1, 12, &MONTHS, 1)?;
        let (mut dow, dow_star) = field(f[4], 0, 7, &DAYS, 0)?;
        if dow & (1 << 7) != 0 {
            dow |= 1; // 7 is Sunday too
        }
        Ok(Schedule {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().num_days_from_sunday()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first activation strictly after `after`, in `tz`; None if none within 5 years.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&tz).naive_local();
        let mut t = local.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = t.year() + 5;
        while t.year() <= limit {
            if self.month & (1 << t.month()) == 0 {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !self.day_matches(t.date()) {
                t = (t.date() + Duration::days(1)).and_hms_opt(0, 0, 0)?;
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if self.minute & (1 << t.minute()) == 0 {
                t += Duration::minutes(1);
                continue;
            }
            match to_utc(t, tz) {
                Some(u) if u > after => return Some(u),
                _ => t += Duration::minutes(1),
            }
        }
        None
    }
}

fn to_utc(t: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    // a local time skipped by a DST change does not exist: no activation then
    tz.from_local_datetime(&t)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// The time zone of spec.timeZone (UTC when unset).
pub fn time_zone(name: Option<&str>) -> Result<Tz, ScheduleError> {
    match name {
        None => Ok(Tz::UTC),
        Some(n) => n
            .parse()
            .map_err(|_| ScheduleError::TimeZone(n.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn next(spec: &str, after: &str, tz: Tz) -> String {
        Schedule::parse(spec)
            .ok()
            .and_then(|s| s.next_after(at(after), tz))
            .map(|d| d.to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn every_minute_and_descriptors() {
        assert_eq!(
            next("* * * * *", "2024-01-01T10:00:30Z", Tz::UTC),
            "2024-01-01T10:01:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2024-01-01T10:00:00Z", Tz::UTC),
            "2024-01-01T11:00:00+00:00"
        );
        assert_eq!(
            next("@daily", "2024-01-01T10:00:00Z", Tz::UTC),
            "2024-01-02T00:00:00+00:00"
        );
        assert_eq!(
            next("@weekly", "2024-01-01T10:00:00Z", Tz::UTC),
            "2024-01-07T00:00:00+00:00"
        );
        assert_eq!(
            next("@yearly", "2024-01-01T10:00:00Z", Tz::UTC),
            "2025-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn ranges_steps_lists_and_names() {
        assert_eq!(
            next("*/15 * * * *", "2024-01-01T10:16:00Z", Tz::UTC),
            "2024-01-01T10:30:00+00:00"
        );
        assert_eq!(
            next("5-10/5 9 * * *", "2024-01-01T09:06:00Z", Tz::UTC),
            "2024-01-01T09:10:00+00:00"
        );
        assert_eq!(
            next("0 12 * * MON-FRI", "2024-01-06T00:00:00Z", Tz::UTC),
            "2024-01-08T12:00:00+00:00"
        );
        assert_eq!(
            next("0 0 1 JAN,jul *", "2024-02-01T00:00:00Z", Tz::UTC),
            "2024-07-01T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 * * 7", "2024-01-01T00:00:00Z", Tz::UTC),
            "2024-01-07T00:00:00+00:00"
        );
        // day-of-month OR day-of-week when both are restricted
        assert_eq!(
            next("0 0 13 * 5", "2024-01-01T00:00:00Z", Tz::UTC),
            "2024-01-05T00:00:00+00:00"
        );
        assert_eq!(next("0 0 30 2 *", "2024-01-01T00:00:00Z", Tz::UTC), "");
    }

    #[test]
    fn time_zones_shift_the_activation() {
        let tz = time_zone(Some("Europe/Paris")).unwrap_or(Tz::UTC);
        assert_eq!(
            next("0 9 * * *", "2024-01-01T00:00:00Z", tz),
            "2024-01-01T08:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * *", "2024-07-01T00:00:00Z", tz),
            "2024-07-01T07:00:00+00:00"
        );
        assert!(time_zone(Some("Mars/Olympus")).is_err());
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(matches!(
            Schedule::parse("* * * *"),
            Err(ScheduleError::FieldCount(4, _))
        ));
        assert!(matches!(
            Schedule::parse("60 * * * *"),
            Err(ScheduleError::AboveMax(60, 59, _))
        ));
        assert!(matches!(
            Schedule::parse("* * 0 * *"),
            Err(ScheduleError::BelowMin(0, 1, _))
        ));
        assert!(matches!(
            Schedule::parse("*/0 * * * *"),
            Err(ScheduleError::Step(_))
        ));
        assert!(matches!(
            Schedule::parse("5-1 * * * *"),
            Err(ScheduleError::Reversed(5, 1, _))
        ));
        assert!(matches!(
            Schedule::parse("@every 5m"),
            Err(ScheduleError::Descriptor(_))
        ));
        assert!(matches!(
            Schedule::parse("x * * * *"),
            Err(ScheduleError::Number(_))
        ));
        // a huge step is one value, not an overflow
        let every = Schedule::parse("*/4294967295 * * * *");
        assert!(every.is_ok_and(|s| s.minute == 1));
    }
}
