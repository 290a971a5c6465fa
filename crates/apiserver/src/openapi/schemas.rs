//! Definitions (schemas) named as upstream names them, in OpenAPI v2 form, built from the
//! k8s-openapi schemars implementations plus the List kinds and Kubernetes extensions.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::kinds;

/// Prefix of a v2 definition reference.
pub(crate) const V2_REF: &str = "#/definitions/";

/// Definition names of the meta types every document needs.
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
pub(crate) const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

/// All definitions plus the index from group/version/kind to definition name.
pub(crate) struct Definitions {
    /// name → schema (v2 form: `$ref`s point at `#/definitions/`).
    pub defs: BTreeMap<String, Value>,
    /// (group, version, kind) → definition name, for every kind with a schema (List kinds too).
    pub by_gvk: BTreeMap<(String, String, String), String>,
}

impl Definitions {
    /// Definition name of a group/version/kind, if there is a schema for it.
    pub fn name_of(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    /// Makes sure `group/version/kind` (and its List) have definitions, adding an open object
    /// schema for kinds k8s-openapi does not know. Returns the kind's definition name.
    pub fn ensure_kind(&mut self, group: &str, version: &str, kind: &str) -> String {
        if let Some(name) = self.name_of(group, version, kind) {
            return name.to_string();
        }
        let reversed: Vec<&str> = if group.is_empty() {
            vec!["io", "k8s", "api", "core"]
        } else {
            group.split('.').rev().collect()
        };
        let name = format!("{}.{version}.{kind}", reversed.join("."));
        let gvk = |k: &str| json!([{"group": group, "kind": k, "version": version}]);
        self.defs.insert(
            name.clone(),
            json!({
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"$ref": format!("{V2_REF}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")},
                },
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": gvk(kind),
            }),
        );
        let list_kind = format!("{kind}List");
        let mut list = list_schema(kind, &name);
        if let Value::Object(map) = &mut list {
            map.insert("x-kubernetes-group-version-kind".into(), gvk(&list_kind));
        }
        self.defs.insert(format!("{name}List"), list);
        self.by_gvk
            .insert(gvk_key(group, version, kind), name.clone());
        self.by_gvk
            .insert(gvk_key(group, version, &list_kind), format!("{name}List"));
        name
    }

    /// The definitions reachable from `roots` through `$ref`s, roots included.
    pub fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = todo.pop() {
            if !self.defs.contains_key(&name) || !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = self.defs.get(&name) {
                collect_refs(schema, &mut todo);
            }
        }
        seen
    }
}

/// Pushes every `$ref` target (definition name) found in `v`.
pub(crate) fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(V2_REF) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

/// Builds the definitions of the kinds `wanted` says yes to (group, version, kind), their
/// List kinds, and the meta types.
pub(crate) fn build(wanted: impl Fn(&str, &str, &str) -> bool) -> Definitions {
    let table: Vec<_> = kinds::known_kinds()
        .into_iter()
        .filter(|k| wanted(k.group, k.version, k.kind))
        .collect();
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.meta_schema = None;
            s.transforms.clear();
        })
        .into_generator();
    for kind in &table {
        (kind.register)(&mut generator);
    }
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::WatchEvent<k8s_openapi::api::core::v1::Pod>>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::APIResourceList>();
    generator.subschema_for::<meta::APIGroupList>();
    generator.subschema_for::<meta::APIVersions>();
    generator.subschema_for::<meta::ListMeta>();

    let mut defs: BTreeMap<String, Value> = generator.take_definitions(false).into_iter().collect();
    let mut by_gvk = BTreeMap::new();
    for kind in &table {
        if defs.contains_key(&kind.name) {
            by_gvk.insert(
                gvk_key(kind.group, kind.version, kind.kind),
                kind.name.clone(),
            );
            let list_name = format!("{}List", kind.name);
            defs.insert(list_name.clone(), list_schema(kind.kind, &kind.name));
            by_gvk.insert(
                gvk_key(kind.group, kind.version, &format!("{}List", kind.kind)),
                list_name,
            );
        }
    }
    by_gvk.insert(gvk_key("", "v1", "Status"), STATUS.to_string());

    for schema in defs.values_mut() {
        fix_schema(schema);
    }
    relax_required(&mut defs);
    fix_scalars(&mut defs);
    add_gvk_extensions(&mut defs, &by_gvk);
    super::patch_meta::apply(&mut defs);
    Definitions { defs, by_gvk }
}

fn gvk_key(group: &str, version: &str, kind: &str) -> (String, String, String) {
    (group.to_string(), version.to_string(), kind.to_string())
}

/// The `<Kind>List` schema upstream has for every listable kind.
fn list_schema(kind: &str, def: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("List of {kind} objects."),
                "type": "array",
                "items": {"$ref": format!("{V2_REF}{def}")},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "$ref": format!("{V2_REF}{LIST_META}"),
            },
        },
        "required": ["items"],
    })
}

/// Fields k8s-openapi (generated from a newer Kubernetes) marks required that Kubernetes 1.33,
/// whose API we serve, does not: kubectl's client-side validation would reject objects
/// upstream accepts.
const REQUIRED_AFTER_1_33: &[(&str, &[&str])] = &[
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding",
        &["spec"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec",
        &["policyName", "validationActions"],
    ),
    (
        "io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion",
        &["apiServerID", "decodableVersions", "encodingVersion"],
    ),
    ("io.k8s.api.apps.v1.ControllerRevision", &["data"]),
    ("io.k8s.api.apps.v1.DaemonSet", &["spec"]),
    ("io.k8s.api.apps.v1.Deployment", &["spec"]),
    ("io.k8s.api.apps.v1.ReplicaSet", &["spec"]),
    ("io.k8s.api.apps.v1.StatefulSet", &["spec"]),
    ("io.k8s.api.authentication.v1.TokenReviewSpec", &["token"]),
    (
        "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
        &["spec"],
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        &["spec"],
    ),
    ("io.k8s.api.batch.v1.CronJob", &["spec"]),
    ("io.k8s.api.coordination.v1alpha2.LeaseCandidate", &["spec"]),
    ("io.k8s.api.coordination.v1beta1.LeaseCandidate", &["spec"]),
    ("io.k8s.api.flowcontrol.v1.FlowSchema", &["spec"]),
    ("io.k8s.api.flowcontrol.v1.FlowSchemaCondition", &["type"]),
    (
        "io.k8s.api.flowcontrol.v1.LimitedPriorityLevelConfiguration",
        &["limitResponse"],
    ),
    (
        "io.k8s.api.flowcontrol.v1.PriorityLevelConfiguration",
        &["spec"],
    ),
    (
        "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationCondition",
        &["type"],
    ),
    ("io.k8s.api.networking.v1.IPAddress", &["spec"]),
];

/// Drops the [`REQUIRED_AFTER_1_33`] entries from the definitions' `required` lists.
fn relax_required(defs: &mut BTreeMap<String, Value>) {
    for (name, fields) in REQUIRED_AFTER_1_33 {
        let Some(Value::Object(schema)) = defs.get_mut(*name) else {
            continue;
        };
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|r| !r.as_str().is_some_and(|r| fields.contains(&r)));
            if required.is_empty() {
                schema.remove("required");
            }
        }
    }
}

/// Per-schema clean-ups: upstream never lists `metadata` as required (k8s-openapi does,
/// because its Rust field is not optional).
fn fix_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(required)) = map.get_mut("required") {
                required.retain(|r| r != "metadata");
                if required.is_empty() {
                    map.remove("required");
                }
            }
            for child in map.values_mut() {
                fix_schema(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_schema),
        _ => {}
    }
}

/// Quantity and IntOrString as upstream's v2 document types them.
fn fix_scalars(defs: &mut BTreeMap<String, Value>) {
    if let Some(Value::Object(q)) = defs.get_mut(QUANTITY) {
        q.remove("x-kubernetes-int-or-string");
        q.insert("type".into(), "string".into());
    }
    if let Some(Value::Object(i)) = defs.get_mut(INT_OR_STRING) {
        i.remove("x-kubernetes-int-or-string");
        i.insert("type".into(), "string".into());
        i.insert("format".into(), "int-or-string".into());
    }
}

/// Adds `x-kubernetes-group-version-kind` to each top-level kind. Shared meta types
/// (Status, DeleteOptions, WatchEvent) list every group/version that serves them.
fn add_gvk_extensions(
    defs: &mut BTreeMap<String, Value>,
    by_gvk: &BTreeMap<(String, String, String), String>,
) {
    let mut per_name: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for ((group, version, kind), name) in by_gvk {
        per_name
            .entry(name.as_str())
            .or_default()
            .push(json!({"group": group, "kind": kind, "version": version}));
    }
    let mut group_versions: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (group, version, _) in by_gvk.keys() {
        group_versions.insert((group.as_str(), version.as_str()));
    }
    for (name, kind) in [
        (DELETE_OPTIONS, "DeleteOptions"),
        (WATCH_EVENT, "WatchEvent"),
    ] {
        let list = per_name.entry(name).or_default();
        for (group, version) in &group_versions {
            list.push(json!({"group": group, "kind": kind, "version": version}));
        }
    }
    for (name, list) in per_name {
        if let Some(Value::Object(schema)) = defs.get_mut(name) {
            schema.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
        }
    }
}

/// Looks up `defs[name].properties[prop]` for mutation.
pub(crate) fn property_mut<'a>(
    defs: &'a mut BTreeMap<String, Value>,
    name: &str,
    prop: &str,
) -> Option<&'a mut Map<String, Value>> {
    defs.get_mut(name)?
        .get_mut("properties")?
        .get_mut(prop)?
        .as_object_mut()
}
