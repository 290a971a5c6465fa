//! Table conversion: upstream printer columns per kind (kubectl get).
//!
//! `kubectl get` asks the server for a `meta.k8s.io` Table and prints its cells as they are, so
//! the columns and cell texts here follow upstream's server-side printers. Like upstream, the
//! server always renders the wide (priority 1) columns; kubectl hides them unless `-o wide`.
//! Printers are keyed by API group and kind, so every served version of a kind shares one.

mod apps;
mod core;
mod events;
mod format;
mod misc;
mod pods;
mod quantity;
mod storage;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::registry::Resource;

pub use format::human_duration;

/// Errors met while turning object fields into cell text. Cells never fail as a whole: a
/// field that cannot be rendered shows the same placeholder upstream shows.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("invalid label selector: {0}")]
    Selector(String),
    #[error("invalid quantity {0:?}")]
    Quantity(String),
}

/// One column definition of a Table (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// "string" | "integer" | "number" | "boolean" | "date"
    pub type_: &'static str,
    /// "name" for the Name column, "" otherwise.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for default columns, 1 for the ones `kubectl get -o wide` adds.
    pub priority: i32,
}

/// Computes the cells of one row.
pub(crate) type CellFn = fn(&Value, DateTime<Utc>) -> Vec<Value>;

/// A kind's printer: its columns and how to fill a row.
pub(crate) struct Printer {
    pub columns: &'static [Column],
    pub cells: CellFn,
}

/// Column definitions for `res`, as upstream's printer for the kind declares them.
pub fn columns(res: &Resource) -> Vec<Column> {
    printer(res.group, res.kind).columns.to_vec()
}

/// The cells of one object's row, aligned with [`columns`]; `now` is the reference for ages.
pub fn cells(res: &Resource, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    (printer(res.group, res.kind).cells)(obj, now)
}

/// A meta.k8s.io Table (api_version "meta.k8s.io/v1" or "meta.k8s.io/v1beta1") for `objs`;
/// `include_object` is the includeObject query value: "None" | "Metadata" (default) | "Object";
/// `list_meta` is the list's metadata (resourceVersion, continue, remainingItemCount) to copy.
pub fn to_table(
    res: &Resource,
    objs: &[Value],
    include_object: &str,
    api_version: &str,
    list_meta: Value,
    now: DateTime<Utc>,
) -> Value {
    let p = printer(res.group, res.kind);
    let column_defs: Vec<Value> = p
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objs
        .iter()
        .map(|obj| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array((p.cells)(obj, now)));
            if let Some(conds) = row_conditions(res, obj) {
                row.insert("conditions".into(), conds);
            }
            row.insert(
                "object".into(),
                row_object(res, obj, include_object, api_version),
            );
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": clean_list_meta(list_meta),
        "columnDefinitions": column_defs,
        "rows": rows,
    })
}

/// The row's `object`: nothing, the object's metadata as PartialObjectMetadata, or the object.
fn row_object(res: &Resource, obj: &Value, include_object: &str, api_version: &str) -> Value {
    match include_object {
        "None" => Value::Null,
        "Object" => {
            let mut full = obj.clone();
            if let Value::Object(m) = &mut full {
                if !m.contains_key("kind") {
                    m.insert("kind".into(), Value::String(res.kind.to_string()));
                }
                if !m.contains_key("apiVersion") {
                    m.insert("apiVersion".into(), Value::String(res.api_version()));
                }
            }
            full
        }
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": api_version,
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// Keeps only the set ListMeta fields (upstream omits empty ones).
fn clean_list_meta(list_meta: Value) -> Value {
    match list_meta {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                })
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Upstream marks rows of finished pods as Completed.
fn row_conditions(res: &Resource, obj: &Value) -> Option<Value> {
    if !res.group.is_empty() || res.kind != "Pod" {
        return None;
    }
    let (reason, message) = match format::s(obj, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{
        "type": "Completed",
        "status": "True",
        "reason": reason,
        "message": message,
    }]))
}

/// The printer for a group and kind; kinds without one get upstream's default (Name, Created At).
fn printer(group: &str, kind: &str) -> Printer {
    let found = match group {
        "" => core::printer(kind).or_else(|| pods::printer(kind)),
        "apps" | "batch" | "autoscaling" | "policy" => apps::printer(group, kind),
        "events.k8s.io" => events::printer_v1(kind),
        _ => misc::printer(group, kind),
    };
    found.unwrap_or(Printer {
        columns: &DEFAULT_COLUMNS,
        cells: default_cells,
    })
}

const DEFAULT_COLUMNS: [Column; 2] = [
    format::NAME,
    Column {
        name: "Created At",
        type_: "date",
        format: "",
        description: "When the object was created (RFC 3339, UTC).",
        priority: 0,
    },
];

/// Upstream's default convertor: the name and the creation time in RFC 3339.
fn default_cells(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let created = format::parse_time(format::s(obj, "/metadata/creationTimestamp"))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![format::name(obj), Value::String(created)]
}
