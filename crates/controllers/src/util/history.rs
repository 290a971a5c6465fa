//! ControllerRevisions: the template history of StatefulSets and DaemonSets, named
//! `<owner>-<hash>` with the hash of the revision data (FNV-1a, see `hash`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::hash::hash_bytes;
use super::owner::Owner;

/// The label pods carry with the name of the revision they were made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// The revision data of a template, as upstream stores it: a strategic merge patch that
/// replaces `spec.template`.
pub fn patch_data(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The template a revision holds, if readable.
pub fn template_of(cr: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = cr.data.0.get("spec")?.get("template")?.clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// A new revision of `template` for `owner`, numbered `revision`.
pub fn new_revision(
    owner: &Owner,
    namespace: &str,
    labels: Option<BTreeMap<String, String>>,
    template: &PodTemplateSpec,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let data = patch_data(template);
    let raw = serde_json::to_vec(&data).unwrap_or_default();
    let hash = hash_bytes(&raw, collision_count);
    let mut labels = labels.unwrap_or_default();
    labels.insert(REVISION_LABEL.into(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{}-{hash}", owner.name)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            owner_references: Some(vec![owner.controller_ref()]),
            ..Default::default()
        },
        data: RawExtension(data),
        revision: Some(revision),
    }
}

/// Whether a revision holds this template.
pub fn holds(cr: &ControllerRevision, template: &PodTemplateSpec) -> bool {
    cr.data.0 == patch_data(template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::fixtures::template;

    #[test]
    fn revision_round_trips_template_and_is_named_by_hash() {
        let o = Owner {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: "web".into(),
            uid: "u".into(),
            deleting: false,
        };
        let t = template("nginx:1");
        let cr = new_revision(&o, "default", None, &t, 1, None);
        assert!(holds(&cr, &t));
        assert!(!holds(&cr, &template("nginx:2")));
        assert_eq!(template_of(&cr), Some(t.clone()));
        let name = cr.metadata.name.clone().unwrap_or_default();
        let hash = cr
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_LABEL))
            .cloned();
        assert_eq!(name, format!("web-{}", hash.unwrap_or_default()));
        let again = new_revision(&o, "default", None, &t, 2, None);
        assert_eq!(again.metadata.name, cr.metadata.name);
        let other = new_revision(&o, "default", None, &t, 2, Some(1));
        assert_ne!(other.metadata.name, cr.metadata.name);
    }
}
