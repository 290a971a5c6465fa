//! Test builders for pods and templates.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::json;

use super::time::time;

/// A pod builder.
pub struct PodBuilder(Pod);

/// Starts a pod named `name` with label app=web, Pending.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
            creation_timestamp: Some(time(1)),
            ..Default::default()
        },
        spec: Some(PodSpec::default()),
        status: Some(PodStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    })
}

impl PodBuilder {
    pub fn phase(mut self, p: &str) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.phase = Some(p.into());
        }
        self
    }
    pub fn node(mut self, n: &str) -> Self {
        if let Some(s) = self.0.spec.as_mut() {
            s.node_name = Some(n.into());
        }
        self
    }
    pub fn created(mut self, secs: i64) -> Self {
        self.0.metadata.creation_timestamp = Some(time(secs));
        self
    }
    pub fn ready_at(mut self, secs: i64) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.phase = Some("Running".into());
            s.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(time(secs)),
                ..Default::default()
            }]);
        }
        self
    }
    pub fn deleting(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(time(5));
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }
    pub fn annotation(mut self, k: &str, v: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }
    pub fn owner(mut self, kind: &str, name: &str, uid: &str) -> Self {
        self.0.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]);
        self
    }
    pub fn build(self) -> Pod {
        self.0
    }
}

/// A template with label app=web and one container running `image`.
pub fn template(image: &str) -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image}]}
    }))
    .unwrap_or_default()
}
