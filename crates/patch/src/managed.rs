//! `metadata.managedFields` entries: decoding, encoding and tracking of Update operations.

use crate::fieldpath::{Path, Set};
use crate::schema::Ty;
use crate::typed::{self, Node};
use serde_json::{Map, Value};

/// One manager's entry of `metadata.managedFields`.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub set: Set,
}

impl Entry {
    /// Whether two entries belong to the same manager identity (upstream's manager identifier:
    /// appliers ignore the API version).
    pub fn same_identity(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), Value::String(self.manager.clone()));
        m.insert("operation".into(), Value::String(self.operation.clone()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }
}

/// Reads the managed fields entries of an object (malformed entries are skipped).
pub(crate) fn decode(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    list.iter()
        .filter_map(|e| {
            Some(Entry {
                manager: s(e, "manager").unwrap_or_default(),
                operation: s(e, "operation")?,
                api_version: s(e, "apiVersion").unwrap_or_default(),
                time: s(e, "time"),
                subresource: s(e, "subresource").unwrap_or_default(),
                set: e
                    .get("fieldsV1")
                    .map(Set::from_fields_v1)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Writes entries into `metadata.managedFields` in upstream's order (removes it when empty).
pub(crate) fn encode(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::to_json).collect()),
        );
    }
}

/// Which part of an object an operation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The main resource: `status` is not tracked.
    Main,
    /// The status subresource: only `status` is tracked.
    Status,
}

/// Metadata fields that are never tracked as managed.
const STRIPPED_META: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// Removes untracked paths from a field set.
pub(crate) fn filter(set: &mut Set, scope: Scope) {
    set.retain(|p: &Path| tracked(p, scope));
}

fn tracked(p: &Path, scope: Scope) -> bool {
    let first = p.first().map(String::as_str);
    if scope == Scope::Status {
        return first == Some("f:status");
    }
    match first {
        Some("f:apiVersion" | "f:kind" | "f:status") => false,
        Some("f:metadata") => match p.get(1).and_then(|s| s.strip_prefix("f:")) {
            Some(f) => !STRIPPED_META.contains(&f),
            None => false,
        },
        _ => true,
    }
}

/// Copy of an object without `metadata.managedFields`.
pub(crate) fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

/// Records a non-apply write (create, update, patch) of `new` over `old` by `manager`.
///
/// The manager gains the fields it added or changed; other managers lose them. Writes with a
/// client-supplied `managedFields` that differs from the stored one keep it as given (an empty
/// list clears the tracking).
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    operation: &str,
    api_version: &str,
    kind: &str,
    now: &str,
) {
    update_managed_fields_for(old, new, manager, operation, api_version, kind, now, None);
}

/// Like [`update_managed_fields`], for a write to a subresource (`Some("status")`) or the main
/// resource (`None`).
#[allow(clippy::too_many_arguments)]
pub fn update_managed_fields_for(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    operation: &str,
    api_version: &str,
    kind: &str,
    now: &str,
    subresource: Option<&str>,
) {
    let old_entries = old.map(decode).unwrap_or_default();
    let old_raw = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .cloned();
    match new.pointer("/metadata/managedFields") {
        Some(Value::Array(list)) if list.is_empty() => {
            encode(new, Vec::new());
            return;
        }
        Some(given @ Value::Array(_)) if Some(given) != old_raw.as_ref() => {
            let entries = decode(new);
            encode(new, entries);
            return;
        }
        _ => {}
    }
    let scope = match subresource {
        Some("status") => Scope::Status,
        _ => Scope::Main,
    };
    let root = Node::root(Ty::root(api_version, kind));
    let empty = Value::Object(Map::new());
    let lhs = old.map_or(empty, without_managed_fields);
    let rhs = without_managed_fields(new);
    let cmp = typed::compare(&lhs, &rhs, root);
    let mut changed = cmp.added.union(&cmp.modified);
    filter(&mut changed, scope);

    let me = Entry {
        manager: manager.to_string(),
        operation: operation.to_string(),
        api_version: api_version.to_string(),
        time: Some(now.to_string()),
        subresource: subresource.unwrap_or_default().to_string(),
        set: Set::new(),
    };
    let mut entries = Vec::with_capacity(old_entries.len() + 1);
    let mut mine: Option<Entry> = None;
    for mut e in old_entries {
        if e.same_identity(&me) {
            mine = Some(e);
            continue;
        }
        e.set = e.set.difference(&changed);
        entries.push(e);
    }
    if !changed.is_empty() {
        let previous = mine.map(|m| m.set).unwrap_or_default();
        entries.push(Entry {
            set: previous.union(&changed),
            ..me
        });
    } else if let Some(m) = mine {
        entries.push(m);
    }
    encode(new, entries);
}
