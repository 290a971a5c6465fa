//! Type information for built-in kinds: field types from the OpenAPI schemas and patch rules.

mod table;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Patch strategy from a field's `patchStrategy` struct tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    None,
    Merge,
    RetainKeys,
    MergeRetainKeys,
    Replace,
}

/// List semantics from a field's `+listType` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListType {
    Unset,
    Atomic,
    Set,
    Map,
}

/// Patch and apply rules of one field of one schema type.
#[derive(Debug)]
pub(crate) struct FieldRule {
    pub ty: &'static str,
    pub field: &'static str,
    pub strategy: Strategy,
    pub merge_key: &'static str,
    pub list_type: ListType,
    pub map_keys: &'static [&'static str],
    pub atomic: bool,
}

/// Rules of apimachinery types, which are not in the generated table.
static EXTRA: &[FieldRule] = &[
    FieldRule {
        ty: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        field: "finalizers",
        strategy: Strategy::Merge,
        merge_key: "",
        list_type: ListType::Set,
        map_keys: &[],
        atomic: false,
    },
    FieldRule {
        ty: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        field: "ownerReferences",
        strategy: Strategy::Merge,
        merge_key: "uid",
        list_type: ListType::Map,
        map_keys: &["uid"],
        atomic: false,
    },
    FieldRule {
        ty: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        field: "managedFields",
        strategy: Strategy::None,
        merge_key: "",
        list_type: ListType::Atomic,
        map_keys: &[],
        atomic: false,
    },
    FieldRule {
        ty: "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        field: "",
        strategy: Strategy::None,
        merge_key: "",
        list_type: ListType::Unset,
        map_keys: &[],
        atomic: true,
    },
    FieldRule {
        ty: "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        field: "",
        strategy: Strategy::None,
        merge_key: "",
        list_type: ListType::Unset,
        map_keys: &[],
        atomic: true,
    },
];

/// The OpenAPI extensions upstream publishes for one field (or, with `field` empty, a type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRule {
    /// OpenAPI definition name, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub type_name: &'static str,
    /// JSON field name; empty when the rule is about the type itself.
    pub field: &'static str,
    /// `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys` or `replace`.
    pub patch_strategy: Option<&'static str>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<&'static str>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    pub list_type: Option<&'static str>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: &'static [&'static str],
    /// Whether `x-kubernetes-map-type: atomic` applies (atomic struct or map).
    pub map_type_atomic: bool,
}

/// Every patch and list rule of the built-in types, for publishing in OpenAPI documents
/// (kubectl reads them to compute strategic merge patches).
pub fn patch_rules() -> Vec<PatchRule> {
    table::RULES
        .iter()
        .chain(EXTRA.iter())
        .map(|r| PatchRule {
            type_name: r.ty,
            field: r.field,
            patch_strategy: match r.strategy {
                Strategy::None => None,
                Strategy::Merge => Some("merge"),
                Strategy::RetainKeys => Some("retainKeys"),
                Strategy::MergeRetainKeys => Some("merge,retainKeys"),
                Strategy::Replace => Some("replace"),
            },
            patch_merge_key: (!r.merge_key.is_empty()).then_some(r.merge_key),
            list_type: match r.list_type {
                ListType::Unset => None,
                ListType::Atomic => Some("atomic"),
                ListType::Set => Some("set"),
                ListType::Map => Some("map"),
            },
            list_map_keys: r.map_keys,
            map_type_atomic: r.atomic,
        })
        .collect()
}

struct Registry {
    defs: serde_json::Map<String, Value>,
    roots: HashMap<(String, String), String>,
    unknown_root: Value,
    rules: HashMap<(&'static str, &'static str), &'static FieldRule>,
}

macro_rules! roots {
    ($gen:ident, $roots:ident; $($t:ty),* $(,)?) => {
        $(
            {
                let _ = $gen.subschema_for::<$t>();
                $roots.insert(
                    (
                        <$t as k8s_openapi::Resource>::API_VERSION.to_string(),
                        <$t as k8s_openapi::Resource>::KIND.to_string(),
                    ),
                    <$t as schemars::JsonSchema>::schema_name().into_owned(),
                );
            }
        )*
    };
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        use k8s_openapi::api::{
            admissionregistration, apps, autoscaling, batch, certificates, coordination, core,
            discovery, events, networking, node, policy, rbac, scheduling, storage,
        };
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
        let mut generator = schemars::SchemaGenerator::default();
        let mut roots = HashMap::new();
        roots!(generator, roots;
            core::v1::Pod, core::v1::Service, core::v1::ConfigMap, core::v1::Secret,
            core::v1::Namespace, core::v1::Node, core::v1::PersistentVolume,
            core::v1::PersistentVolumeClaim, core::v1::ServiceAccount, core::v1::Endpoints,
            core::v1::Event, core::v1::LimitRange, core::v1::ResourceQuota,
            core::v1::ReplicationController, core::v1::PodTemplate,
            apps::v1::Deployment, apps::v1::ReplicaSet, apps::v1::StatefulSet,
            apps::v1::DaemonSet, apps::v1::ControllerRevision,
            batch::v1::Job, batch::v1::CronJob,
            networking::v1::Ingress, networking::v1::IngressClass, networking::v1::NetworkPolicy,
            rbac::v1::Role, rbac::v1::RoleBinding, rbac::v1::ClusterRole,
            rbac::v1::ClusterRoleBinding,
            policy::v1::PodDisruptionBudget,
            autoscaling::v1::HorizontalPodAutoscaler, autoscaling::v2::HorizontalPodAutoscaler,
            discovery::v1::EndpointSlice, coordination::v1::Lease, storage::v1::StorageClass,
            storage::v1::CSIDriver, storage::v1::CSINode, storage::v1::VolumeAttachment,
            scheduling::v1::PriorityClass, events::v1::Event, node::v1::RuntimeClass,
            admissionregistration::v1::MutatingWebhookConfiguration,
            admissionregistration::v1::ValidatingWebhookConfiguration,
            certificates::v1::CertificateSigningRequest,
            apiextensions::v1::CustomResourceDefinition,
        );
        let defs = generator.take_definitions(true);
        let mut rules = HashMap::new();
        for rule in table::RULES.iter().chain(EXTRA.iter()) {
            rules.insert((rule.ty, rule.field), rule);
        }
        let unknown_root = serde_json::json!({
            "properties": {
                "metadata": {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            }
        });
        Registry {
            defs,
            roots,
            rules,
            unknown_root,
        }
    })
}

/// A position in a typed object: the schema of the value found there (if known).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ty {
    name: Option<&'static str>,
    schema: Option<&'static Value>,
}

/// What the schema says about one map key of a value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    /// Type of the value under the key.
    pub ty: Ty,
    /// Patch rule of the field, if it has one.
    pub rule: Option<&'static FieldRule>,
    /// Whether the key is a named field of a struct (as opposed to a key of a map).
    pub named: bool,
}

impl Ty {
    /// The type of the top-level object of a built-in kind; for other kinds, an object whose
    /// only known field is `metadata`.
    pub fn root(api_version: &str, kind: &str) -> Ty {
        let reg = registry();
        match reg.roots.get(&(api_version.to_string(), kind.to_string())) {
            Some(name) => Ty::from_schema(reg.defs.get(name.as_str()), Some(name)),
            None => Ty {
                name: None,
                schema: Some(&reg.unknown_root),
            },
        }
    }

    /// Whether a built-in kind is known.
    pub fn known(api_version: &str, kind: &str) -> bool {
        registry()
            .roots
            .contains_key(&(api_version.to_string(), kind.to_string()))
    }

    fn from_schema(schema: Option<&'static Value>, name: Option<&str>) -> Ty {
        let reg = registry();
        let Some(mut s) = schema else {
            return Ty::default();
        };
        let mut name = name.and_then(|n| reg.defs.get_key_value(n).map(|(k, _)| k.as_str()));
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let n = r.rsplit('/').next().unwrap_or(r);
            match reg.defs.get_key_value(n) {
                Some((k, v)) => {
                    name = Some(k.as_str());
                    s = v;
                }
                None => return Ty::default(),
            }
        }
        Ty {
            name,
            schema: Some(s),
        }
    }

    /// Whether anything is known about this type.
    #[cfg(test)]
    pub fn is_known(self) -> bool {
        self.schema.is_some()
    }

    /// Whether the type is a struct with named fields.
    #[cfg(test)]
    pub fn is_struct(self) -> bool {
        self.schema.is_some_and(|s| s.get("properties").is_some())
    }

    /// Whether the type is declared atomic (`+structType=atomic`).
    pub fn is_atomic(self) -> bool {
        self.name
            .and_then(|n| registry().rules.get(&(n, "")))
            .is_some_and(|r| r.atomic)
    }

    /// Information about key `key` of a value of this type.
    pub fn field(self, key: &str) -> Field {
        let Some(s) = self.schema else {
            return Field {
                ty: Ty::default(),
                rule: None,
                named: true,
            };
        };
        if let Some(p) = s.get("properties").and_then(|p| p.get(key)) {
            let rule = self
                .name
                .and_then(|n| registry().rules.get(&(n, key)).copied());
            let ty = Ty::from_schema(Some(p), None);
            return Field {
                ty,
                rule,
                named: true,
            };
        }
        let additional = s.get("additionalProperties");
        let ty = match additional {
            Some(ap) if ap.is_object() => Ty::from_schema(Some(ap), None),
            _ => Ty::default(),
        };
        Field {
            ty,
            rule: None,
            named: additional.is_none(),
        }
    }

    /// Type of the items of a list of this type.
    pub fn items(self) -> Ty {
        match self.schema.and_then(|s| s.get("items")) {
            Some(i) => Ty::from_schema(Some(i), None),
            None => Ty::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_deployment_containers() {
        let root = Ty::root("apps/v1", "Deployment");
        assert!(root.is_struct());
        let spec = root.field("spec");
        assert!(spec.named);
        let template = spec.ty.field("template").ty;
        let pod_spec = template.field("spec").ty;
        let containers = pod_spec.field("containers");
        let rule = containers.rule.map(|r| (r.strategy, r.merge_key));
        assert_eq!(rule, Some((Strategy::Merge, "name")));
        let container = containers.ty.items();
        let env = container.field("env").rule.map(|r| r.merge_key);
        assert_eq!(env, Some("name"));
        let labels = root.field("metadata").ty.field("labels");
        assert!(labels.named);
        let label = labels.ty.field("app");
        assert!(!label.named);
        assert!(spec.ty.field("selector").ty.is_atomic());
    }

    #[test]
    fn publishes_rules_for_openapi() {
        let rules = patch_rules();
        let containers = rules
            .iter()
            .find(|r| r.type_name == "io.k8s.api.core.v1.PodSpec" && r.field == "containers");
        assert_eq!(containers.and_then(|r| r.patch_merge_key), Some("name"));
        assert_eq!(containers.and_then(|r| r.patch_strategy), Some("merge"));
        assert_eq!(containers.and_then(|r| r.list_type), Some("map"));
    }

    #[test]
    fn unknown_kind_has_no_schema() {
        let t = Ty::root("example.com/v1", "Widget");
        assert!(!t.field("spec").ty.is_known());
        assert!(t.field("spec").named);
        assert!(t.field("metadata").ty.field("finalizers").rule.is_some());
        assert!(Ty::known("v1", "ConfigMap"));
    }
}
