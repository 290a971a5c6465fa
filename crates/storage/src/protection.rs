//! Storage object in-use protection (upstream's pvc-protection and pv-protection
//! controllers): a claim being deleted stays until no running pod uses it, a volume being
//! deleted stays while it is bound.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use serde_json::json;
use tokio::sync::Notify;

use crate::cache::{Caches, start, wait};
use crate::error::{Result, is_conflict, is_not_found};

/// Finalizer every claim gets on creation.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// Finalizer every volume gets on creation.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// Whether a pod that has not finished uses `claim`.
pub fn claim_in_use(claim: &PersistentVolumeClaim, pods: &[Pod]) -> bool {
    let name = claim.metadata.name.as_deref().unwrap_or("");
    pods.iter()
        .filter(|p| p.metadata.namespace == claim.metadata.namespace)
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .any(|p| {
            p.spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .filter_map(|v| v.persistent_volume_claim.as_ref())
                .any(|c| c.claim_name == name)
        })
}

/// An object being deleted that still holds `finalizer`.
fn held(meta: &ObjectMeta, finalizer: &str) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.iter().flatten().any(|f| f == finalizer)
}

/// Claims whose protection can be lifted now.
pub fn releasable_claims<'a>(
    claims: &'a [PersistentVolumeClaim],
    pods: &[Pod],
) -> Vec<&'a PersistentVolumeClaim> {
    claims
        .iter()
        .filter(|c| held(&c.metadata, PVC_PROTECTION) && !claim_in_use(c, pods))
        .collect()
}

/// Volumes whose protection can be lifted now (no longer Bound).
pub fn releasable_volumes(volumes: &[PersistentVolume]) -> Vec<&PersistentVolume> {
    volumes
        .iter()
        .filter(|v| held(&v.metadata, PV_PROTECTION))
        .filter(|v| v.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound"))
        .collect()
}

/// The merge patch that drops `finalizer` (guarded by the resourceVersion).
pub fn drop_finalizer(meta: &ObjectMeta, finalizer: &str) -> serde_json::Value {
    let rest: Vec<&String> = meta
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != finalizer)
        .collect();
    json!({"metadata": {"finalizers": rest, "resourceVersion": meta.resource_version}})
}

/// Run both protection controllers until the process ends.
pub async fn run(client: kube::Client) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let caches = Caches::start(&client, notify.clone());
    let pods: Store<Pod> = start(&client, notify.clone());
    caches.ready().await;
    let _ = pods.wait_until_ready().await;
    let pp = PatchParams::default();
    loop {
        let mut failed = false;
        let all_pods: Vec<Pod> = pods.state().iter().map(|p| (**p).clone()).collect();
        let claims = caches.claims();
        for c in releasable_claims(&claims, &all_pods) {
            let ns = c.metadata.namespace.clone().unwrap_or_default();
            let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
            let name = c.metadata.name.clone().unwrap_or_default();
            let patch = drop_finalizer(&c.metadata, PVC_PROTECTION);
            match api.patch(&name, &pp, &Patch::Merge(&patch)).await {
                Ok(_) => tracing::info!(claim = %format!("{ns}/{name}"), "no longer in use"),
                Err(e) if is_not_found(&e) || is_conflict(&e) => failed = true,
                Err(e) => {
                    tracing::debug!(claim = %name, error = %e, "lifting protection");
                    failed = true;
                }
            }
        }
        let volumes = caches.volumes();
        for v in releasable_volumes(&volumes) {
            let api: Api<PersistentVolume> = Api::all(client.clone());
            let name = v.metadata.name.clone().unwrap_or_default();
            let patch = drop_finalizer(&v.metadata, PV_PROTECTION);
            match api.patch(&name, &pp, &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) || is_conflict(&e) => failed = true,
                Err(e) => {
                    tracing::debug!(volume = %name, error = %e, "lifting protection");
                    failed = true;
                }
            }
        }
        let period = std::time::Duration::from_secs(if failed { 1 } else { 30 });
        wait(&notify, period).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn claim(deleting: bool) -> PersistentVolumeClaim {
        let mut v = json!({"metadata": {"name": "data", "namespace": "ns", "resourceVersion": "9",
            "finalizers": ["example.com/keep", PVC_PROTECTION]}});
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        }
        from(v)
    }

    fn pod(ns: &str, claim: &str, phase: &str) -> Pod {
        from(json!({"metadata": {"name": "p", "namespace": ns},
            "spec": {"containers": [], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]},
            "status": {"phase": phase}}))
    }

    #[test]
    fn a_claim_in_use_by_a_running_pod_stays() {
        let claims = vec![claim(true)];
        assert_eq!(
            releasable_claims(&claims, &[pod("ns", "data", "Running")]).len(),
            0
        );
        assert_eq!(
            releasable_claims(&claims, &[pod("ns", "data", "Succeeded")]).len(),
            1
        );
        assert_eq!(
            releasable_claims(&claims, &[pod("other", "data", "Running")]).len(),
            1
        );
        assert_eq!(
            releasable_claims(&claims, &[pod("ns", "else", "Pending")]).len(),
            1
        );
        assert_eq!(
            releasable_claims(&[claim(false)], &[]).len(),
            0,
            "not being deleted"
        );
    }

    #[test]
    fn a_volume_is_released_from_protection_once_unbound() {
        let v = |phase: &str| -> PersistentVolume {
            from(
                json!({"metadata": {"name": "pv", "deletionTimestamp": "2024-01-01T00:00:00Z",
                "finalizers": [PV_PROTECTION]}, "status": {"phase": phase}}),
            )
        };
        assert_eq!(releasable_volumes(&[v("Bound")]).len(), 0);
        assert_eq!(releasable_volumes(&[v("Released")]).len(), 1);
    }

    #[test]
    fn only_our_finalizer_is_dropped() {
        let c = claim(true);
        assert_eq!(
            drop_finalizer(&c.metadata, PVC_PROTECTION),
            json!({"metadata": {"finalizers": ["example.com/keep"], "resourceVersion": "9"}})
        );
    }
}
