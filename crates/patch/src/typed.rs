//! Schema-aware walks over objects: field sets, comparison, apply merge and item removal.

use crate::fieldpath::{self, Path, Set};
use crate::schema::{FieldRule, ListType, Strategy, Ty};
use serde_json::{Map, Value};

/// A position in an object: its type and the rule of the field holding it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Node {
    pub ty: Ty,
    pub rule: Option<&'static FieldRule>,
}

/// How a list is merged and tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKind {
    Atomic,
    Set,
    Map(Vec<&'static str>),
}

/// Named struct fields that upstream's typed empty objects always carry (non-pointer structs).
const ALWAYS_PRESENT: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
    "jobTemplate",
];

impl Node {
    pub fn root(ty: Ty) -> Node {
        Node { ty, rule: None }
    }

    fn atomic_map(self) -> bool {
        self.ty.is_atomic() || self.rule.is_some_and(|r| r.atomic)
    }

    pub fn list_kind(self) -> ListKind {
        let Some(r) = self.rule else {
            return ListKind::Atomic;
        };
        match r.list_type {
            ListType::Atomic => ListKind::Atomic,
            ListType::Set => ListKind::Set,
            ListType::Map => ListKind::Map(r.map_keys.to_vec()),
            ListType::Unset => match r.strategy {
                Strategy::Merge | Strategy::MergeRetainKeys if !r.merge_key.is_empty() => {
                    ListKind::Map(vec![r.merge_key])
                }
                Strategy::Merge | Strategy::MergeRetainKeys => ListKind::Set,
                _ => ListKind::Atomic,
            },
        }
    }

    /// The node of key `k` of a map at this node, and whether it is a named struct field.
    pub fn child(self, k: &str) -> (Node, bool) {
        let f = self.ty.field(k);
        (
            Node {
                ty: f.ty,
                rule: f.rule,
            },
            f.named,
        )
    }

    pub fn item(self) -> Node {
        Node {
            ty: self.ty.items(),
            rule: None,
        }
    }

    /// Path element of list item `v` of a non-atomic list at this node.
    pub fn item_element(self, kind: &ListKind, v: &Value) -> String {
        match kind {
            ListKind::Map(keys) => {
                let default_tcp = Value::String("TCP".into());
                let fields: Vec<(&str, &Value)> = keys
                    .iter()
                    .filter_map(|k| match v.get(*k) {
                        Some(x) => Some((*k, x)),
                        None if *k == "protocol" => Some((*k, &default_tcp)),
                        None => None,
                    })
                    .collect();
                fieldpath::key(&fields)
            }
            _ => fieldpath::value(v),
        }
    }

    /// The node at the end of `path`, with for each prefix whether it ends at a named field.
    pub fn walk(self, path: &[String]) -> Vec<bool> {
        let mut node = self;
        let mut named = Vec::with_capacity(path.len());
        for pe in path {
            if let Some(name) = pe.strip_prefix("f:") {
                let (child, is_named) = node.child(name);
                named.push(is_named && !node.atomic_map());
                node = child;
            } else {
                named.push(false);
                node = node.item();
            }
        }
        named
    }
}

fn list_items(kind: &ListKind, node: Node, list: &[Value]) -> Vec<(String, usize)> {
    list.iter()
        .enumerate()
        .map(|(i, v)| (node.item_element(kind, v), i))
        .collect()
}

/// Deep equality where numbers compare by value.
pub(crate) fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The set of fields set in `v` (what an applier of `v` owns).
pub(crate) fn to_field_set(v: &Value, node: Node) -> Set {
    fn walk(v: &Value, node: Node, path: &mut Path, out: &mut Set) {
        match v {
            Value::Object(m) => {
                if node.atomic_map() {
                    out.insert(path.clone());
                    return;
                }
                for (k, child) in m {
                    let (cn, named) = node.child(k);
                    path.push(fieldpath::field(k));
                    walk(child, cn, path, out);
                    let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                    if empty || !named {
                        out.insert(path.clone());
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                let kind = node.list_kind();
                if kind == ListKind::Atomic {
                    out.insert(path.clone());
                    return;
                }
                let item_node = node.item();
                for item in items {
                    path.push(node.item_element(&kind, item));
                    walk(item, item_node, path, out);
                    out.insert(path.clone());
                    path.pop();
                }
            }
            _ => out.insert(path.clone()),
        }
    }
    let mut out = Set::new();
    walk(v, node, &mut Vec::new(), &mut out);
    out.retain(|p| !p.is_empty());
    out
}

/// Adds to `set` every named struct field above one of its members.
pub(crate) fn ensure_named(set: &Set, root: Node) -> Set {
    let mut out = set.clone();
    for p in set.iter() {
        let named = root.walk(p);
        for (i, is_named) in named.iter().enumerate() {
            if *is_named {
                out.insert(p[..=i].to_vec());
            }
        }
    }
    out
}

/// Paths added, modified and removed between two versions of an object.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

/// Compares two versions of an object field by field.
pub(crate) fn compare(lhs: &Value, rhs: &Value, root: Node) -> Comparison {
    let mut c = Comparison::default();
    compare_at(Some(lhs), Some(rhs), root, &mut Vec::new(), &mut c);
    c.added.retain(|p| !p.is_empty());
    c.modified.retain(|p| !p.is_empty());
    c.removed.retain(|p| !p.is_empty());
    c
}

fn leaf(lhs: Option<&Value>, rhs: Option<&Value>, path: &Path, c: &mut Comparison) {
    match (lhs, rhs) {
        (None, None) => {}
        (None, Some(_)) => c.added.insert(path.clone()),
        (Some(_), None) => c.removed.insert(path.clone()),
        (Some(a), Some(b)) => {
            if !deep_eq(a, b) {
                c.modified.insert(path.clone());
            }
        }
    }
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    node: Node,
    path: &mut Path,
    c: &mut Comparison,
) {
    let is_obj = |v: Option<&Value>| v.is_none_or(|v| v.is_object() || v.is_null());
    let is_arr = |v: Option<&Value>| v.is_none_or(|v| v.is_array() || v.is_null());
    let any_obj = lhs.is_some_and(Value::is_object) || rhs.is_some_and(Value::is_object);
    let any_arr = lhs.is_some_and(Value::is_array) || rhs.is_some_and(Value::is_array);
    if any_obj && is_obj(lhs) && is_obj(rhs) {
        let (l, r) = (
            lhs.and_then(Value::as_object),
            rhs.and_then(Value::as_object),
        );
        let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
        if node.atomic_map() || empty {
            return leaf(lhs, rhs, path, c);
        }
        match (l, r) {
            (None, Some(_)) => c.added.insert(path.clone()),
            (Some(_), None) => c.removed.insert(path.clone()),
            _ => {}
        }
        let empty_map = Map::new();
        let (l, r) = (l.unwrap_or(&empty_map), r.unwrap_or(&empty_map));
        let keys: Vec<&String> = l
            .keys()
            .chain(r.keys().filter(|k| !l.contains_key(*k)))
            .collect();
        let placeholder = Value::Object(Map::new());
        for k in keys {
            let (cn, named) = node.child(k);
            let mut lv = l.get(k);
            // Upstream compares against typed objects whose non-pointer structs always exist.
            if lv.is_none()
                && named
                && ALWAYS_PRESENT.contains(&k.as_str())
                && r.get(k).is_some_and(Value::is_object)
            {
                lv = Some(&placeholder);
            }
            path.push(fieldpath::field(k));
            compare_at(lv, r.get(k), cn, path, c);
            path.pop();
        }
    } else if any_arr && is_arr(lhs) && is_arr(rhs) {
        let kind = node.list_kind();
        let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
        let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
        if kind == ListKind::Atomic || empty {
            return leaf(lhs, rhs, path, c);
        }
        let (l, r) = (
            l.map_or(&[][..], Vec::as_slice),
            r.map_or(&[][..], Vec::as_slice),
        );
        let item = node.item();
        let li = list_items(&kind, node, l);
        let ri = list_items(&kind, node, r);
        for (pe, i) in &li {
            let rv = ri.iter().find(|(p, _)| p == pe).map(|(_, j)| &r[*j]);
            path.push(pe.clone());
            compare_at(Some(&l[*i]), rv, item, path, c);
            path.pop();
        }
        for (pe, j) in &ri {
            if !li.iter().any(|(p, _)| p == pe) {
                path.push(pe.clone());
                compare_at(None, Some(&r[*j]), item, path, c);
                path.pop();
            }
        }
    } else {
        leaf(lhs, rhs, path, c);
    }
}

/// Merges an applied configuration into a live object (config wins, lists merged by key).
pub(crate) fn merge(lhs: Option<&Value>, rhs: &Value, node: Node) -> Value {
    match (lhs, rhs) {
        (Some(Value::Object(l)), Value::Object(r)) if !node.atomic_map() => {
            let mut out = Map::new();
            for (k, lv) in l {
                match r.get(k) {
                    Some(rv) => {
                        let (cn, _) = node.child(k);
                        out.insert(k.clone(), merge(Some(lv), rv, cn));
                    }
                    None => {
                        out.insert(k.clone(), lv.clone());
                    }
                }
            }
            for (k, rv) in r {
                if !l.contains_key(k) {
                    out.insert(k.clone(), rv.clone());
                }
            }
            Value::Object(out)
        }
        (Some(Value::Array(l)), Value::Array(r)) => {
            let kind = node.list_kind();
            if kind == ListKind::Atomic {
                return rhs.clone();
            }
            let item = node.item();
            let li = list_items(&kind, node, l);
            let ri = list_items(&kind, node, r);
            let merged_item = |j: usize| {
                let pe = &ri[j].0;
                let lv = li.iter().find(|(p, _)| p == pe).map(|(_, i)| &l[*i]);
                merge(lv, &r[j], item)
            };
            let mut out = Vec::with_capacity(l.len() + r.len());
            let mut next = 0;
            for (pe, i) in &li {
                match ri.iter().position(|(p, _)| p == pe) {
                    Some(j) => {
                        while next <= j {
                            out.push(merged_item(next));
                            next += 1;
                        }
                    }
                    None => out.push(l[*i].clone()),
                }
            }
            while next < r.len() {
                out.push(merged_item(next));
                next += 1;
            }
            Value::Array(out)
        }
        _ => rhs.clone(),
    }
}

/// Removes from `v` every field or list item whose path is in `set`.
pub(crate) fn remove_items(v: &mut Value, set: &Set, node: Node) {
    fn walk(v: &mut Value, set: &Set, node: Node, path: &mut Path) {
        match v {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    path.push(fieldpath::field(&k));
                    if set.contains(path) {
                        m.remove(&k);
                    } else if set.has_descendant(path) {
                        let (cn, _) = node.child(&k);
                        if let Some(child) = m.get_mut(&k) {
                            walk(child, set, cn, path);
                        }
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                let kind = node.list_kind();
                if kind == ListKind::Atomic {
                    return;
                }
                let item = node.item();
                let mut kept = Vec::with_capacity(items.len());
                for mut it in std::mem::take(items) {
                    path.push(node.item_element(&kind, &it));
                    if !set.contains(path) {
                        if set.has_descendant(path) {
                            walk(&mut it, set, item, path);
                        }
                        kept.push(it);
                    }
                    path.pop();
                }
                *items = kept;
            }
            _ => {}
        }
    }
    walk(v, set, node, &mut Vec::new());
}

/// Checks that every associative list item carries its key fields and that keys are unique,
/// as upstream requires of applied configurations.
pub(crate) fn validate_keys(v: &Value, root: Node) -> Result<(), String> {
    fn walk(v: &Value, node: Node, path: &mut Path) -> Result<(), String> {
        match v {
            Value::Object(m) => {
                if node.atomic_map() {
                    return Ok(());
                }
                for (k, child) in m {
                    let (cn, _) = node.child(k);
                    path.push(fieldpath::field(k));
                    walk(child, cn, path)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Array(items) => {
                let kind = node.list_kind();
                if kind == ListKind::Atomic {
                    return Ok(());
                }
                let mut seen: Vec<String> = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let ListKind::Map(keys) = &kind {
                        for k in keys {
                            if item.get(*k).is_none() && *k != "protocol" {
                                return Err(format!(
                                    "{}: element {i}: associative list with keys has an element that omits key field {k:?} (and doesn't have default value)",
                                    fieldpath::display(path)
                                ));
                            }
                        }
                    }
                    let pe = node.item_element(&kind, item);
                    if seen.contains(&pe) {
                        let mut p = path.clone();
                        p.push(pe);
                        return Err(format!(
                            "{}: duplicate entries for key {}",
                            fieldpath::display(path),
                            fieldpath::display(&p[path.len()..])
                        ));
                    }
                    path.push(pe.clone());
                    walk(item, node.item(), path)?;
                    path.pop();
                    seen.push(pe);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(v, root, &mut Vec::new())
}
