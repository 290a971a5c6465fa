//! What a ReplicaSet (or ReplicationController) sync does, as a pure function of its spec and
//! the pods it owns.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::util::pod;

/// Upstream's cap on creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;

/// The parts of a ReplicaSet or ReplicationController a sync reads.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub namespace: String,
    pub name: String,
    pub generation: i64,
    pub replicas: i32,
    pub min_ready_seconds: i32,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    pub deleting: bool,
    pub status: Counts,
}

/// The status a sync writes (same field names for ReplicaSet and ReplicationController).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub replicas: i32,
    pub fully_labeled_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// How many pods to create from the template.
    pub create: usize,
    /// Which pods to delete, most expendable first.
    pub delete: Vec<Pod>,
    /// The status to write (unchanged when equal to the current one).
    pub status: Counts,
    /// Sync again after this many seconds (a ready pod becomes available).
    pub requeue_after: Option<i64>,
}

fn fully_labeled(template_labels: &BTreeMap<String, String>, p: &Pod) -> bool {
    let labels = p.metadata.labels.as_ref();
    template_labels
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Decides a sync. `pods` are the active pods this owner controls; `expectations_met` says
/// the cache shows every earlier creation and deletion (else counts may lag: no changes).
pub fn decide(view: &View, pods: &[Pod], expectations_met: bool, now: i64) -> Plan {
    let mut plan = Plan::default();
    if expectations_met && !view.deleting {
        let want = view.replicas.max(0) as usize;
        if pods.len() < want {
            plan.create = (want - pods.len()).min(BURST_REPLICAS);
        } else if pods.len() > want {
            let n = (pods.len() - want).min(BURST_REPLICAS);
            let mut ranked: Vec<Pod> = pods.to_vec();
            ranked.sort_by(pod::deletion_order);
            ranked.truncate(n);
            plan.delete = ranked;
        }
    }
    let tl = view
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let mut s = Counts {
        replicas: pods.len() as i32,
        observed_generation: view.generation,
        ..Default::default()
    };
    for p in pods {
        if fully_labeled(&tl, p) {
            s.fully_labeled_replicas += 1;
        }
        if pod::is_ready(p) {
            s.ready_replicas += 1;
            if pod::is_available(p, view.min_ready_seconds, now) {
                s.available_replicas += 1;
            } else if let Some(d) = pod::until_available(p, view.min_ready_seconds, now) {
                plan.requeue_after = Some(plan.requeue_after.map_or(d, |r| r.min(d)));
            }
        }
    }
    plan.status = s;
    plan
}
