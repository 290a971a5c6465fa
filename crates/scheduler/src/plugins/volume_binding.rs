//! VolumeBinding: a pod's claims must exist; bound ones must admit the node; unbound claims
//! of WaitForFirstConsumer classes need a fitting volume or a provisioner on the node. Before
//! the pod is bound, its unbound claims get the chosen node (`selected-node`) and the plugin
//! waits for the binder or provisioner to bind them.

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use skiff_storage::matching::{
    ANN_SELECTED_NODE, claim_class, find_match, is_delayed, node_affinity_fits,
};

use crate::framework::{CycleState, FilterPlugin, Plugin, PreFilterPlugin, Status};
use crate::nodeinfo::NodeInfo;
use crate::podinfo::PodInfo;
use crate::volumes::Volumes;

pub const NAME: &str = "VolumeBinding";
pub const CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const NO_VOLUME: &str = "node(s) didn't find available persistent volumes to bind";
pub const UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

pub struct VolumeBinding;

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

/// What PreFilter learnt about the pod's claims.
#[derive(Clone, Default)]
struct PodVolumes {
    bound: Vec<PersistentVolume>,
    delayed: Vec<PersistentVolumeClaim>,
    /// Every volume, for matching delayed claims.
    all: Vec<PersistentVolume>,
    /// Delayed claims without a provisioner to fall back on, by index in `delayed`.
    provisionable: Vec<bool>,
}

/// Names of the claims a pod's volumes use.
pub fn claim_names(pod: &PodInfo) -> Vec<String> {
    pod.pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect()
}

/// Check the pod's claims against the snapshot.
fn gather(pod: &PodInfo, vols: &Volumes) -> Result<PodVolumes, Status> {
    let mut out = PodVolumes::default();
    for name in claim_names(pod) {
        let key = format!("{}/{name}", pod.namespace);
        let Some(claim) = vols.claims.get(&key) else {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim {name:?} not found"
            )));
        };
        if claim.metadata.deletion_timestamp.is_some() {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim {name:?} is being deleted"
            )));
        }
        let volume = claim
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .unwrap_or("");
        if !volume.is_empty() {
            match vols.volumes.get(volume) {
                Some(pv) => out.bound.push(pv.clone()),
                None => {
                    return Err(Status::unresolvable(format!(
                        "persistentvolume {volume:?} not found"
                    )));
                }
            }
            continue;
        }
        let class = vols.classes.get(claim_class(claim));
        if !is_delayed(class) {
            return Err(Status::unresolvable(UNBOUND_IMMEDIATE));
        }
        out.provisionable
            .push(class.is_some_and(|c| c.provisioner != "kubernetes.io/no-provisioner"));
        out.delayed.push(claim.clone());
    }
    if !out.delayed.is_empty() {
        out.all = vols.sorted_volumes();
    }
    Ok(out)
}

impl PreFilterPlugin for VolumeBinding {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _: &[NodeInfo]) -> Status {
        if claim_names(pod).is_empty() {
            return Status::skip();
        }
        let Some(vols) = state.read::<std::sync::Arc<Volumes>>(Volumes::KEY).cloned() else {
            return Status::error("no volume snapshot in the cycle state");
        };
        match gather(pod, &vols) {
            Ok(pv) => {
                state.write(NAME, pv);
                Status::success()
            }
            Err(s) => s,
        }
    }
}

impl FilterPlugin for VolumeBinding {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(pv) = state.read::<PodVolumes>(NAME) else {
            return Status::success();
        };
        if pv.bound.iter().any(|v| !node_affinity_fits(v, &node.node)) {
            return Status::unresolvable(CONFLICT);
        }
        let mut free = pv.all.clone();
        for (claim, provisionable) in pv.delayed.iter().zip(&pv.provisionable) {
            match find_match(claim, &free, true, Some(&node.node)) {
                Some(v) => {
                    let name = v.metadata.name.clone();
                    free.retain(|o| o.metadata.name != name);
                }
                None if *provisionable => {}
                None => return Status::unschedulable(NO_VOLUME),
            }
        }
        Status::success()
    }
}

/// Claims of `pod` still to bind once it goes to a node (the delayed, unbound ones).
pub fn claims_to_bind(pod: &PodInfo, vols: &Volumes) -> Vec<String> {
    gather(pod, vols)
        .map(|pv| {
            pv.delayed
                .iter()
                .filter_map(|c| c.metadata.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// PreBind: give each claim the node and wait until the binder has bound them all.
pub async fn pre_bind(
    client: &kube::Client,
    namespace: &str,
    claims: &[String],
    node: &str,
    timeout: Duration,
) -> Status {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    for name in claims {
        let patch = json!({"metadata": {"annotations": {ANN_SELECTED_NODE: node}}});
        if let Err(e) = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            return Status::error(format!("binding volumes: {e}"));
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for name in claims {
        loop {
            match api.get(name).await {
                Ok(c) if is_bound(&c) => break,
                Ok(_) => {}
                Err(e) => return Status::error(format!("binding volumes: {e}")),
            }
            if tokio::time::Instant::now() >= deadline {
                return Status::error("binding volumes: timed out waiting for the condition");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Status::success()
}

fn is_bound(c: &PersistentVolumeClaim) -> bool {
    let named = c
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|v| !v.is_empty());
    let done = c
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(skiff_storage::matching::ANN_BIND_COMPLETED));
    named && done
}
