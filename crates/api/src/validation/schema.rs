//! Type checks and unknown-field detection against the k8s-openapi types' JSON schemas.
//!
//! Upstream decodes JSON into Go structs: a value of the wrong JSON type is a 400
//! (`json: cannot unmarshal string into Go struct field ...`), and fields the struct lacks are
//! dropped, or rejected/warned about under `fieldValidation=Strict/Warn`. We walk the raw JSON
//! against the schema k8s-openapi generates for the same type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use k8s_openapi::api;
use k8s_openapi::schemars::{JsonSchema, generate::SchemaGenerator};
use serde_json::Value;

/// A JSON value of the wrong type at some field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The upstream-style message (e.g. `cannot unmarshal string into Go struct field
    /// DeploymentSpec.spec.replicas of type int32`, or a payload error such as
    /// `illegal base64 data at input byte 3`).
    pub message: String,
    /// True for encoding/json type errors (upstream prefixes them with `json: `); false for
    /// errors from a field's own decoder (base64, quantities).
    pub json: bool,
}

/// What a walk found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Paths of fields the schema does not know, e.g. `spec.containers[0].foo`.
    pub unknown: Vec<String>,
    /// Wrong-typed values, in document order.
    pub mismatches: Vec<TypeMismatch>,
}

fn schema_of<T: JsonSchema>() -> Value {
    SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value()
}

fn generate(group: &str, version: &str, kind: &str) -> Option<Value> {
    use api::*;
    Some(match (group, version, kind) {
        ("", "v1", "Namespace") => schema_of::<core::v1::Namespace>(),
        ("", "v1", "Pod") => schema_of::<core::v1::Pod>(),
        ("", "v1", "Service") => schema_of::<core::v1::Service>(),
        ("", "v1", "Endpoints") => schema_of::<core::v1::Endpoints>(),
        ("", "v1", "ConfigMap") => schema_of::<core::v1::ConfigMap>(),
        ("", "v1", "Secret") => schema_of::<core::v1::Secret>(),
        ("", "v1", "ServiceAccount") => schema_of::<core::v1::ServiceAccount>(),
        ("", "v1", "Node") => schema_of::<core::v1::Node>(),
        ("", "v1", "Event") => schema_of::<core::v1::Event>(),
        ("", "v1", "PersistentVolume") => schema_of::<core::v1::PersistentVolume>(),
        ("", "v1", "PersistentVolumeClaim") => schema_of::<core::v1::PersistentVolumeClaim>(),
        ("", "v1", "ResourceQuota") => schema_of::<core::v1::ResourceQuota>(),
        ("", "v1", "LimitRange") => schema_of::<core::v1::LimitRange>(),
        ("", "v1", "ReplicationController") => schema_of::<core::v1::ReplicationController>(),
        ("", "v1", "PodTemplate") => schema_of::<core::v1::PodTemplate>(),
        ("", "v1", "Binding") => schema_of::<core::v1::Binding>(),
        ("apps", "v1", "Deployment") => schema_of::<apps::v1::Deployment>(),
        ("apps", "v1", "ReplicaSet") => schema_of::<apps::v1::ReplicaSet>(),
        ("apps", "v1", "DaemonSet") => schema_of::<apps::v1::DaemonSet>(),
        ("apps", "v1", "StatefulSet") => schema_of::<apps::v1::StatefulSet>(),
        ("apps", "v1", "ControllerRevision") => schema_of::<apps::v1::ControllerRevision>(),
        ("batch", "v1", "Job") => schema_of::<batch::v1::Job>(),
        ("batch", "v1", "CronJob") => schema_of::<batch::v1::CronJob>(),
        ("networking.k8s.io", "v1", "Ingress") => schema_of::<networking::v1::Ingress>(),
        ("networking.k8s.io", "v1", "IngressClass") => schema_of::<networking::v1::IngressClass>(),
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            schema_of::<networking::v1::NetworkPolicy>()
        }
        ("discovery.k8s.io", "v1", "EndpointSlice") => schema_of::<discovery::v1::EndpointSlice>(),
        ("coordination.k8s.io", "v1", "Lease") => schema_of::<coordination::v1::Lease>(),
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            schema_of::<autoscaling::v1::HorizontalPodAutoscaler>()
        }
        ("autoscaling", "v1", "Scale") => schema_of::<autoscaling::v1::Scale>(),
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            schema_of::<autoscaling::v2::HorizontalPodAutoscaler>()
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => schema_of::<rbac::v1::Role>(),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => schema_of::<rbac::v1::RoleBinding>(),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => schema_of::<rbac::v1::ClusterRole>(),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            schema_of::<rbac::v1::ClusterRoleBinding>()
        }
        ("storage.k8s.io", "v1", "StorageClass") => schema_of::<storage::v1::StorageClass>(),
        ("policy", "v1", "PodDisruptionBudget") => schema_of::<policy::v1::PodDisruptionBudget>(),
        ("policy", "v1", "Eviction") => schema_of::<policy::v1::Eviction>(),
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            schema_of::<scheduling::v1::PriorityClass>()
        }
        ("events.k8s.io", "v1", "Event") => schema_of::<events::v1::Event>(),
        _ => return None,
    })
}

/// The (cached) JSON schema of a kind, with its `$defs`. `None` for unknown kinds.
pub fn schema_for(group: &str, version: &str, kind: &str) -> Option<Arc<Value>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    let key = format!("{group}/{version}/{kind}");
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock()
        && let Some(s) = map.get(&key)
    {
        return Some(s.clone());
    }
    let schema = Arc::new(generate(group, version, kind)?);
    if let Ok(mut map) = cache.lock() {
        map.insert(key, schema.clone());
    }
    Some(schema)
}

/// Walk `obj` against the schema of group/version/kind. Unknown kinds find nothing.
pub fn check(group: &str, version: &str, kind: &str, obj: &Value) -> Findings {
    let mut out = Findings::default();
    let Some(root) = schema_for(group, version, kind) else {
        return out;
    };
    let mut w = Walker {
        root: &root,
        out: &mut out,
    };
    w.walk(obj, &root, &mut Vec::new(), kind);
    out
}

/// Rewrite every `resource.Quantity` in `obj` to its canonical form (`0.5` → `500m`,
/// `1024Mi` → `1Gi`, JSON numbers → strings), as upstream serializes quantities.
/// Unparseable quantities are left for validation to report.
pub fn canonicalize_quantities(group: &str, version: &str, kind: &str, obj: &mut Value) {
    let Some(root) = schema_for(group, version, kind) else {
        return;
    };
    canon(&root, obj, &root, 0);
}

const QUANTITY_DEF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

fn canon(root: &Value, v: &mut Value, schema: &Value, depth: usize) {
    if depth > 64 || v.is_null() {
        return;
    }
    let mut s = schema;
    let mut name = None;
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            break;
        };
        name = Some(def_name(r));
        match root.pointer(r.trim_start_matches('#')) {
            Some(next) => s = next,
            None => return,
        }
    }
    if name == Some(QUANTITY_DEF) {
        if let Some(q) = crate::quantity::from_json(v) {
            *v = Value::String(q.to_string());
        }
        return;
    }
    match v {
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object);
            let extra = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in map.iter_mut() {
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    canon(root, child, ps, depth + 1);
                } else if let Some(ap) = extra {
                    canon(root, child, ap, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for item in items.iter_mut() {
                    canon(root, item, is, depth + 1);
                }
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum Seg {
    Field(String),
    Index(usize),
    Key(String),
}

struct Walker<'a> {
    root: &'a Value,
    out: &'a mut Findings,
}

fn def_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// "io.k8s.api.apps.v1.DeploymentSpec" → "DeploymentSpec".
fn short_type(def: &str) -> &str {
    def.rsplit('.').next().unwrap_or(def)
}

/// "io.k8s.api.apps.v1.DeploymentSpec" → "v1.DeploymentSpec".
fn package_type(def: &str) -> String {
    let mut parts = def.rsplit('.');
    match (parts.next(), parts.next()) {
        (Some(t), Some(p)) => format!("{p}.{t}"),
        (Some(t), None) => t.to_string(),
        _ => def.to_string(),
    }
}

fn dotted(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Field(f) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(f);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Key(k) => s.push_str(&format!("[{k}]")),
        }
    }
    s
}

/// Go's field path in unmarshal errors: field names only.
fn go_path(path: &[Seg]) -> String {
    path.iter()
        .filter_map(|s| match s {
            Seg::Field(f) => Some(f.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn json_kind(v: &Value) -> String {
    match v {
        Value::String(_) => "string".into(),
        Value::Number(n) => format!("number {n}"),
        Value::Bool(_) => "bool".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::Null => "null".into(),
    }
}

impl<'a> Walker<'a> {
    fn resolve(&self, mut schema: &'a Value) -> (&'a Value, Option<&'a str>) {
        let root: &'a Value = self.root;
        let mut name = None;
        for _ in 0..16 {
            let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            name = Some(def_name(r));
            let pointer = r.trim_start_matches('#');
            match root.pointer(pointer) {
                Some(s) => schema = s,
                None => break,
            }
        }
        (schema, name)
    }

    fn go_type(&self, schema: &'a Value) -> String {
        let (s, name) = self.resolve(schema);
        if name == Some(QUANTITY_DEF) {
            return "resource.Quantity".into();
        }
        if let Some(n) = name
            && s.get("properties").is_some()
        {
            return package_type(n);
        }
        if s.get("x-kubernetes-int-or-string").is_some() {
            return "intstr.IntOrString".into();
        }
        match s.get("type").and_then(Value::as_str) {
            Some("integer") => match s.get("format").and_then(Value::as_str) {
                Some("int32") => "int32".into(),
                Some("int64") => "int64".into(),
                _ => "int".into(),
            },
            Some("number") => "float64".into(),
            Some("boolean") => "bool".into(),
            Some("string") => match s.get("format").and_then(Value::as_str) {
                Some("byte") => "[]uint8".into(),
                _ => "string".into(),
            },
            Some("array") => format!(
                "[]{}",
                s.get("items").map(|i| self.go_type(i)).unwrap_or_default()
            ),
            Some("object") => match s.get("additionalProperties") {
                Some(ap) if ap.is_object() => format!("map[string]{}", self.go_type(ap)),
                _ => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }

    fn mismatch(
        &mut self,
        v: &Value,
        schema: &'a Value,
        path: &[Seg],
        owner: &str,
        detail: Option<&str>,
    ) {
        let ty = self.go_type(schema);
        let (message, json) = match detail {
            Some(d) => (d.to_string(), false),
            None => (
                format!(
                    "cannot unmarshal {} into Go struct field {owner}.{} of type {ty}",
                    json_kind(v),
                    go_path(path)
                ),
                true,
            ),
        };
        self.out.mismatches.push(TypeMismatch { message, json });
    }

    fn walk(&mut self, v: &Value, schema: &'a Value, path: &mut Vec<Seg>, owner: &str) {
        if v.is_null() {
            return;
        }
        let (s, name) = self.resolve(schema);
        let owner_here: String = match name {
            Some(n) if s.get("properties").is_some() => short_type(n).to_string(),
            _ => owner.to_string(),
        };
        if name == Some(QUANTITY_DEF) {
            if !(v.is_string() || v.is_number()) {
                self.mismatch(v, schema, path, owner, None);
            } else if crate::quantity::from_json(v).is_none() {
                let detail = crate::quantity::QuantityError::Format.to_string();
                self.mismatch(v, schema, path, owner, Some(&detail));
            }
            return;
        }
        if s.get("x-kubernetes-int-or-string").is_some() {
            if !(v.is_string() || v.is_number()) {
                self.mismatch(v, schema, path, owner, None);
            }
            return;
        }
        match s.get("type").and_then(Value::as_str) {
            Some("object") => {
                let Some(map) = v.as_object() else {
                    self.mismatch(v, schema, path, owner, None);
                    return;
                };
                let props = s.get("properties").and_then(Value::as_object);
                let extra = s.get("additionalProperties").filter(|a| a.is_object());
                if props.is_none() && extra.is_none() {
                    return; // free-form (RawExtension, FieldsV1, ...)
                }
                for (k, child) in map {
                    if let Some(ps) = props.and_then(|p| p.get(k)) {
                        path.push(Seg::Field(k.clone()));
                        self.walk(child, ps, path, &owner_here);
                        path.pop();
                    } else if let Some(ap) = extra {
                        path.push(Seg::Key(k.clone()));
                        self.walk(child, ap, path, &owner_here);
                        path.pop();
                    } else {
                        path.push(Seg::Field(k.clone()));
                        self.out.unknown.push(dotted(path));
                        path.pop();
                    }
                }
            }
            Some("array") => {
                let Some(items) = v.as_array() else {
                    self.mismatch(v, schema, path, owner, None);
                    return;
                };
                if let Some(is) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        self.walk(item, is, path, owner);
                        path.pop();
                    }
                }
            }
            Some("string") => match v.as_str() {
                None => self.mismatch(v, schema, path, owner, None),
                Some(text) => {
                    if s.get("format").and_then(Value::as_str) == Some("byte")
                        && let Err(e) = base64::engine::general_purpose::STANDARD.decode(text)
                    {
                        let detail =
                            format!("illegal base64 data at input byte {}", base64_offset(&e));
                        self.mismatch(v, schema, path, owner, Some(&detail));
                    }
                }
            },
            Some("integer") => {
                let ok = match s.get("format").and_then(Value::as_str) {
                    Some("int32") => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                    _ => v.as_i64().is_some() || v.as_u64().is_some(),
                };
                if !ok {
                    self.mismatch(v, schema, path, owner, None);
                }
            }
            Some("number") if !v.is_number() => {
                self.mismatch(v, schema, path, owner, None);
            }
            Some("boolean") if !v.is_boolean() => {
                self.mismatch(v, schema, path, owner, None);
            }
            _ => {}
        }
    }
}

fn base64_offset(e: &base64::DecodeError) -> usize {
    match e {
        base64::DecodeError::InvalidByte(i, _) => *i,
        base64::DecodeError::InvalidLength(n) => *n,
        base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        base64::DecodeError::InvalidPadding => 0,
    }
}

#[cfg(test)]
mod tests;
