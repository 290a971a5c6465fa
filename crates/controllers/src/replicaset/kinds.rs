//! ReplicaSet and ReplicationController seen through one view.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ReplicationController;
use kube::ResourceExt;
use serde::Serialize;

use super::Kind;
use super::decide::{Counts, View};
use crate::util::selector;

/// A kind that owns replicas of a pod template.
pub trait ReplicaOwner: Kind + Serialize {
    /// The fields a sync reads.
    fn view(&self) -> View;
}

impl ReplicaOwner for ReplicaSet {
    fn view(&self) -> View {
        let spec = self.spec.clone();
        let st = self.status.clone().unwrap_or_default();
        View {
            namespace: self.namespace().unwrap_or_default(),
            name: self.name_any(),
            generation: self.metadata.generation.unwrap_or(0),
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector: spec.selector,
            template: spec.template.unwrap_or_default(),
            deleting: self.metadata.deletion_timestamp.is_some(),
            status: Counts {
                replicas: st.replicas,
                fully_labeled_replicas: st.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: st.ready_replicas.unwrap_or(0),
                available_replicas: st.available_replicas.unwrap_or(0),
                observed_generation: st.observed_generation.unwrap_or(0),
            },
        }
    }
}

impl ReplicaOwner for ReplicationController {
    fn view(&self) -> View {
        let spec = self.spec.clone().unwrap_or_default();
        let st = self.status.clone().unwrap_or_default();
        let template = spec.template.unwrap_or_default();
        // an unset selector defaults to the template's labels
        let sel = spec.selector.unwrap_or_else(|| {
            template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default()
        });
        View {
            namespace: self.namespace().unwrap_or_default(),
            name: self.name_any(),
            generation: self.metadata.generation.unwrap_or(0),
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector: selector::from_map(&sel),
            template,
            deleting: self.metadata.deletion_timestamp.is_some(),
            status: Counts {
                replicas: st.replicas,
                fully_labeled_replicas: st.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: st.ready_replicas.unwrap_or(0),
                available_replicas: st.available_replicas.unwrap_or(0),
                observed_generation: st.observed_generation.unwrap_or(0),
            },
        }
    }
}
