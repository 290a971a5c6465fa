//! Field paths and field sets in the `FieldsV1` encoding of managed fields.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A path into an object; each element is encoded as in FieldsV1: `f:name`, `k:{..}`, `v:..`, `i:n`.
pub(crate) type Path = Vec<String>;

/// A set of field paths (the members of a FieldsV1 set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Set(BTreeSet<Path>);

/// Path element of a named field or map key.
pub(crate) fn field(name: &str) -> String {
    format!("f:{name}")
}

/// Path element of an associative list item with the given key fields.
pub(crate) fn key(fields: &[(&str, &Value)]) -> String {
    let mut fields = fields.to_vec();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut m = Map::new();
    for (k, v) in fields {
        m.insert(k.to_string(), v.clone());
    }
    format!("k:{}", Value::Object(m))
}

/// Path element of a set item.
pub(crate) fn value(v: &Value) -> String {
    format!("v:{v}")
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn insert(&mut self, p: Path) {
        self.0.insert(p);
    }

    pub fn contains(&self, p: &[String]) -> bool {
        self.0.contains(p)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }

    /// Whether some member lies strictly below `p`.
    pub fn has_descendant(&self, p: &[String]) -> bool {
        self.0
            .range(p.to_vec()..)
            .take_while(|m| m.starts_with(p))
            .any(|m| m.len() > p.len())
    }

    pub fn union(&self, other: &Set) -> Set {
        Set(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &Set) -> Set {
        Set(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &Set) -> Set {
        Set(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn retain(&mut self, f: impl FnMut(&Path) -> bool) {
        self.0.retain(f);
    }

    /// Encodes the set as a FieldsV1 object.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: std::collections::BTreeMap<String, Node>,
        }
        fn encode(node: &Node) -> Value {
            let mut m = Map::new();
            if node.member && !node.children.is_empty() {
                m.insert(".".into(), Value::Object(Map::new()));
            }
            for (k, child) in &node.children {
                m.insert(k.clone(), encode(child));
            }
            Value::Object(m)
        }
        let mut root = Node::default();
        for path in &self.0 {
            let mut node = &mut root;
            for pe in path {
                node = node.children.entry(pe.clone()).or_default();
            }
            node.member = true;
        }
        encode(&root)
    }

    /// Decodes a FieldsV1 object; malformed parts are ignored.
    pub fn from_fields_v1(v: &Value) -> Set {
        fn decode(v: &Value, path: &mut Path, out: &mut Set) {
            let Some(m) = v.as_object() else {
                return;
            };
            for (k, child) in m {
                if k == "." {
                    if !path.is_empty() {
                        out.insert(path.clone());
                    }
                    continue;
                }
                path.push(k.clone());
                if child.as_object().is_some_and(Map::is_empty) {
                    out.insert(path.clone());
                } else {
                    decode(child, path, out);
                }
                path.pop();
            }
        }
        let mut out = Set::new();
        decode(v, &mut Vec::new(), &mut out);
        out
    }
}

/// Renders a path as upstream does in conflict messages: `.spec.containers[name="web"].image`.
pub(crate) fn display(path: &[String]) -> String {
    let mut s = String::new();
    for pe in path {
        if let Some(name) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let parts: Vec<String> = match serde_json::from_str::<Map<String, Value>>(k) {
                Ok(m) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                Err(_) => vec![k.to_string()],
            };
            s.push('[');
            s.push_str(&parts.join(","));
            s.push(']');
        } else if let Some(v) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else if let Some(i) = pe.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}
        });
        let set = Set::from_fields_v1(&v);
        assert!(set.contains(&["f:metadata".into(), "f:labels".into(), "f:app".into()]));
        let item: Path = vec![
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"web\"}".into(),
        ];
        assert!(set.contains(&item));
        assert!(set.has_descendant(&item));
        assert_eq!(set.to_fields_v1(), v);
    }

    #[test]
    fn key_is_sorted_and_displayed() {
        let k = key(&[("protocol", &json!("TCP")), ("containerPort", &json!(80))]);
        assert_eq!(k, r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        let p = vec!["f:spec".into(), "f:ports".into(), k, "f:name".into()];
        assert_eq!(
            display(&p),
            r#".spec.ports[containerPort=80,protocol="TCP"].name"#
        );
        assert_eq!(
            display(&[
                "f:metadata".into(),
                "f:finalizers".into(),
                value(&json!("a"))
            ]),
            r#".metadata.finalizers[="a"]"#
        );
    }
}
