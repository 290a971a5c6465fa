//! Shared cell formatting: field access, ages, label sets and selectors, container lists.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::{Column, TableError};

/// The Name column every printer starts with (events put it last).
pub(crate) const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: "Name of the object, unique within its namespace (or the cluster for cluster-scoped kinds).",
    priority: 0,
};

/// The Age column.
pub(crate) const AGE: Column = col(
    "Age",
    "string",
    "Time since the object was created, from its creationTimestamp.",
);

/// A default (priority 0) column.
pub(crate) const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

/// A wide-only (priority 1) column.
pub(crate) const fn wide(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 1,
    }
}

pub(crate) const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of the containers in the pod template.",
);
pub(crate) const IMAGES: Column = wide(
    "Images",
    "string",
    "Images of the containers in the pod template.",
);
pub(crate) const SELECTOR: Column = wide(
    "Selector",
    "string",
    "Label selector for the pods this object manages.",
);

/// The string at a JSON pointer, "" when absent or not a string.
pub(crate) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at a JSON pointer, if present and a string.
pub(crate) fn opt_s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// The integer at a JSON pointer, 0 when absent.
pub(crate) fn int(v: &Value, ptr: &str) -> i64 {
    opt_int(v, ptr).unwrap_or(0)
}

/// The integer at a JSON pointer, if present (floats with no fraction count).
pub(crate) fn opt_int(v: &Value, ptr: &str) -> Option<i64> {
    let x = v.pointer(ptr)?;
    x.as_i64().or_else(|| {
        x.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
            .map(|f| f as i64)
    })
}

/// The boolean at a JSON pointer, if present.
pub(crate) fn opt_bool(v: &Value, ptr: &str) -> Option<bool> {
    v.pointer(ptr).and_then(Value::as_bool)
}

/// The array at a JSON pointer, empty when absent.
pub(crate) fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Number of entries of the object (map) at a JSON pointer.
pub(crate) fn map_len(v: &Value, ptr: &str) -> usize {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len)
}

/// True when the pointer names a present, non-null value.
pub(crate) fn has(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

/// The object's name as a cell.
pub(crate) fn name(obj: &Value) -> Value {
    Value::String(s(obj, "/metadata/name").to_string())
}

/// A string cell.
pub(crate) fn cell(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// An integer or string field (IntOrString) rendered as text.
pub(crate) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Parses an RFC 3339 timestamp; None for absent, unparseable or the zero time.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    // Go's zero time (0001-01-01T00:00:00Z) means "unset".
    (t.timestamp() != -62_135_596_800 || t.timestamp_subsec_nanos() != 0).then_some(t)
}

/// Human age of the timestamp at `ptr` relative to `now`; "<unknown>" when unset.
pub(crate) fn since_at(obj: &Value, ptr: &str, now: DateTime<Utc>) -> String {
    since(s(obj, ptr), now)
}

/// Human age of an RFC 3339 timestamp relative to `now`; "<unknown>" when unset.
pub(crate) fn since(text: &str, now: DateTime<Utc>) -> String {
    match parse_time(text) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

/// The Age cell: time since metadata.creationTimestamp.
pub(crate) fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    Value::String(since_at(obj, "/metadata/creationTimestamp", now))
}

/// Upstream's short human duration ("5s", "3m2s", "2d3h", "45d", "2y10d"): precise while the
/// duration is short, coarser as it grows. Up to a second in the future still reads "0s".
pub fn human_duration(d: TimeDelta) -> String {
    const SEC: i128 = 1_000_000_000;
    let ns: i128 = match d.num_nanoseconds() {
        Some(n) => i128::from(n),
        None => i128::from(d.num_seconds()) * SEC,
    };
    let seconds = ns / SEC;
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = ns / (60 * SEC);
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = ns / (3600 * SEC);
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{h}h")
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        let dy = days % 365;
        return if dy == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{dy}d")
        };
    }
    format!("{years}y")
}

/// A label map as "k=v,k2=v2" (sorted); "<none>" when empty or absent.
pub(crate) fn format_labels(map: Option<&Value>) -> String {
    let joined = labels_string(map);
    if joined.is_empty() {
        "<none>".to_string()
    } else {
        joined
    }
}

/// A label map as "k=v,k2=v2" (sorted pairs), "" when empty.
pub(crate) fn labels_string(map: Option<&Value>) -> String {
    let Some(m) = map.and_then(Value::as_object) else {
        return String::new();
    };
    let mut pairs: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// A LabelSelector as text, "<none>" when it selects everything or nothing, "<error>" when
/// invalid.
pub(crate) fn format_label_selector(sel: Option<&Value>) -> String {
    match selector_string(sel) {
        Ok(text) if text.is_empty() => "<none>".to_string(),
        Ok(text) => text,
        Err(_) => "<error>".to_string(),
    }
}

/// A LabelSelector as the requirement string ("app=web,tier in (a,b)"), "" when empty or
/// absent.
pub(crate) fn selector_string(sel: Option<&Value>) -> Result<String, TableError> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            let v = v
                .as_str()
                .ok_or_else(|| TableError::Selector(format!("value of {k} is not a string")))?;
            reqs.push((k.clone(), format!("{k}={v}")));
        }
    }
    for expr in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = s(expr, "/key");
        if key.is_empty() {
            return Err(TableError::Selector("empty key".into()));
        }
        let mut values: Vec<&str> = arr(expr, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let text = match s(expr, "/operator") {
            op @ ("In" | "NotIn") => {
                if values.is_empty() {
                    return Err(TableError::Selector(format!("{op} on {key} needs values")));
                }
                let word = if op == "In" { "in" } else { "notin" };
                format!("{key} {word} ({})", values.join(","))
            }
            op @ ("Exists" | "DoesNotExist") => {
                if !values.is_empty() {
                    return Err(TableError::Selector(format!(
                        "{op} on {key} takes no values"
                    )));
                }
                if op == "Exists" {
                    key.to_string()
                } else {
                    format!("!{key}")
                }
            }
            other => {
                return Err(TableError::Selector(format!(
                    "{other:?} is not a valid label selector operator"
                )));
            }
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(","))
}

/// Container names and images of a pod spec's containers, each comma-joined.
pub(crate) fn containers(obj: &Value, spec_ptr: &str) -> (Value, Value) {
    let list = arr(obj, &format!("{spec_ptr}/containers"));
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (cell(names.join(",")), cell(images.join(",")))
}

/// "a,b,c + N more..." for lists cut to `max` entries; "<unset>" when empty.
pub(crate) fn list_with_more(list: &[String], total: usize, max: usize) -> String {
    let joined = list.join(",");
    if total > max {
        return format!("{joined} + {} more...", total - max);
    }
    if joined.is_empty() {
        "<unset>".to_string()
    } else {
        joined
    }
}
