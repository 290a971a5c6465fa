//! Times as the API writes them (RFC 3339, seconds).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// `t` formatted as metadata times are.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parse an RFC 3339 time field; `None` when absent or malformed.
pub fn parse(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}
