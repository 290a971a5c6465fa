//! Event rows, for core/v1 and events.k8s.io/v1 Events (upstream prints both alike).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{self, NAME, cell, col, s, wide};
use super::{Column, Printer};

const EVENT_COLUMNS: [Column; 10] = [
    col("Last Seen", "string", "When the event was last observed."),
    col("Type", "string", "Normal or Warning."),
    col("Reason", "string", "Short machine-readable reason."),
    col("Object", "string", "The object the event is about."),
    wide(
        "Subobject",
        "string",
        "The part of the object the event is about.",
    ),
    wide("Source", "string", "The component that reported the event."),
    col("Message", "string", "Human-readable description."),
    wide("First Seen", "string", "When the event was first observed."),
    wide("Count", "string", "How often the event occurred."),
    Column {
        priority: 1,
        ..NAME
    },
];

/// The core/v1 Event printer.
pub(crate) fn printer_core() -> Option<Printer> {
    Some(Printer {
        columns: &EVENT_COLUMNS,
        cells: core_event,
    })
}

/// The events.k8s.io printer (same columns, the v1 field names).
pub(crate) fn printer_v1(kind: &str) -> Option<Printer> {
    (kind == "Event").then_some(Printer {
        columns: &EVENT_COLUMNS,
        cells: v1_event,
    })
}

/// Event fields under their core/v1 or events.k8s.io/v1 names.
struct Fields<'a> {
    first: &'a str,
    last: &'a str,
    event_time: &'a str,
    count: i64,
    series: Option<&'a Value>,
    regarding: &'a str,
    component: &'a str,
    host: &'a str,
    message: &'a str,
}

fn core_event(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let f = Fields {
        first: s(obj, "/firstTimestamp"),
        last: s(obj, "/lastTimestamp"),
        event_time: s(obj, "/eventTime"),
        count: format::int(obj, "/count"),
        series: obj.get("series").filter(|v| !v.is_null()),
        regarding: "/involvedObject",
        component: s(obj, "/source/component"),
        host: s(obj, "/source/host"),
        message: s(obj, "/message"),
    };
    render(obj, &f, now)
}

fn v1_event(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let f = Fields {
        first: s(obj, "/deprecatedFirstTimestamp"),
        last: s(obj, "/deprecatedLastTimestamp"),
        event_time: s(obj, "/eventTime"),
        count: format::int(obj, "/deprecatedCount"),
        series: obj.get("series").filter(|v| !v.is_null()),
        regarding: "/regarding",
        component: s(obj, "/deprecatedSource/component"),
        host: s(obj, "/deprecatedSource/host"),
        message: s(obj, "/note"),
    };
    render(obj, &f, now)
}

fn render(obj: &Value, f: &Fields<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let first = if format::parse_time(f.first).is_some() {
        format::since(f.first, now)
    } else {
        format::since(f.event_time, now)
    };
    let mut last = if format::parse_time(f.last).is_some() {
        format::since(f.last, now)
    } else {
        first.clone()
    };
    let mut count = f.count;
    if let Some(series) = f.series {
        last = format::since(s(series, "/lastObservedTime"), now);
        count = format::int(series, "/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = s(obj, &format!("{}/kind", f.regarding)).to_lowercase();
    let target = match s(obj, &format!("{}/name", f.regarding)) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let component = first_non_empty(f.component, s(obj, "/reportingController"));
    let host = first_non_empty(f.host, s(obj, "/reportingInstance"));
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };
    vec![
        cell(last),
        cell(s(obj, "/type")),
        cell(s(obj, "/reason")),
        cell(target),
        cell(s(obj, &format!("{}/fieldPath", f.regarding))),
        cell(source),
        cell(f.message.trim()),
        cell(first),
        json!(count),
        format::name(obj),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}
