//! persistentVolumeClaim volumes: the claim's bound PersistentVolume, a hostPath or local
//! directory on this node (created when its provisioner has not made it yet).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};

use crate::error::{Error, Result};
use crate::pod::api::PodApi;
use crate::volume::VolumeInfo;

/// Where a claim's volume lives on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    pub path: PathBuf,
    /// The hostPath `type` of the volume ("" for `local` volumes).
    pub host_path_type: String,
}

/// Each claim the pod uses, resolved to its directory or to why it cannot be mounted yet.
pub type Claims = BTreeMap<String, std::result::Result<ClaimPath, String>>;

/// Names of the claims a pod's volumes use.
pub fn claim_names(pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The directory of claim `ns/name` from the claim and its volume, or why there is none
/// (the kubelet's messages).
pub fn resolve_objects(
    ns: &str,
    name: &str,
    claim: Option<&PersistentVolumeClaim>,
    volume: Option<&PersistentVolume>,
) -> std::result::Result<ClaimPath, String> {
    let Some(claim) = claim else {
        return Err(format!("persistentvolumeclaim {name:?} not found"));
    };
    if claim.metadata.deletion_timestamp.is_some() {
        return Err(format!(
            "error processing PVC {ns}/{name}: PVC is being deleted"
        ));
    }
    let bound = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let vname = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or("");
    if vname.is_empty() || !bound {
        return Err(format!(
            "error processing PVC {ns}/{name}: PVC is not bound"
        ));
    }
    let Some(spec) = volume.and_then(|v| v.spec.as_ref()) else {
        return Err(format!(
            "error processing PVC {ns}/{name}: persistentvolume {vname:?} not found"
        ));
    };
    if let Some(h) = &spec.host_path {
        return Ok(ClaimPath {
            path: PathBuf::from(&h.path),
            host_path_type: h.type_.clone().unwrap_or_default(),
        });
    }
    if let Some(l) = &spec.local {
        return Ok(ClaimPath {
            path: PathBuf::from(&l.path),
            host_path_type: String::new(),
        });
    }
    Err(format!(
        "error processing PVC {ns}/{name}: volume {vname:?} is neither hostPath nor local, which Skiff cannot mount"
    ))
}

/// Look up every claim of `pod` through the API, except those already resolved in `known`:
/// a bound claim's volume never changes, and a mounted one stays usable even once its claim
/// is being deleted.
pub async fn resolve(api: &dyn PodApi, ns: &str, pod: &Pod, known: &Claims) -> Result<Claims> {
    let mut out = Claims::new();
    for name in claim_names(pod) {
        if let Some(Ok(p)) = known.get(&name) {
            out.insert(name, Ok(p.clone()));
            continue;
        }
        let claim = api.claim(ns, &name).await?;
        let vname = claim
            .as_ref()
            .and_then(|c| c.spec.as_ref())
            .and_then(|s| s.volume_name.clone())
            .filter(|v| !v.is_empty());
        let volume = match vname {
            Some(v) => api.persistent_volume(&v).await?,
            None => None,
        };
        out.insert(
            name.clone(),
            resolve_objects(ns, &name, claim.as_ref(), volume.as_ref()),
        );
    }
    Ok(out)
}

/// Set up volume `volume` of claim `claim` (read-only when the pod says so).
pub fn setup(volume: &str, claim: &str, read_only: bool, claims: &Claims) -> Result<VolumeInfo> {
    let unmounted = |msg: &str| {
        Error::Mount(format!(
            "Unable to attach or mount volumes: unmounted volumes=[{volume}]: {msg}"
        ))
    };
    let found = match claims.get(claim) {
        Some(Ok(p)) => p,
        Some(Err(msg)) => return Err(unmounted(msg)),
        None => {
            return Err(unmounted(&format!(
                "persistentvolumeclaim {claim:?} not found"
            )));
        }
    };
    match found.host_path_type.as_str() {
        "" | "DirectoryOrCreate" if !found.path.exists() => {
            std::fs::create_dir_all(&found.path)
                .and_then(|_| {
                    std::fs::set_permissions(&found.path, std::fs::Permissions::from_mode(0o777))
                })
                .map_err(|e| {
                    Error::Mount(format!(
                        "MountVolume.SetUp failed for volume {volume:?} : create {}: {e}",
                        found.path.display()
                    ))
                })?;
        }
        kind => super::hostpath::check(&found.path, Some(kind)).map_err(|e| {
            Error::Mount(format!(
                "MountVolume.SetUp failed for volume {volume:?} : {e}"
            ))
        })?,
    }
    Ok(VolumeInfo {
        path: found.path.clone(),
        force_readonly: read_only,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claim(phase: &str, volume: &str) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": "www", "namespace": "ns"},
            "spec": {"volumeName": volume}, "status": {"phase": phase}}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn volume(spec: serde_json::Value) -> PersistentVolume {
        serde_json::from_value(json!({"metadata": {"name": "pv"}, "spec": spec}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn claims_resolve_to_their_bound_volume_directory() {
        let host = volume(json!({"hostPath": {"path": "/data/pv", "type": "DirectoryOrCreate"}}));
        assert_eq!(
            resolve_objects("ns", "www", Some(&claim("Bound", "pv")), Some(&host)),
            Ok(ClaimPath {
                path: "/data/pv".into(),
                host_path_type: "DirectoryOrCreate".into()
            })
        );
        let local = volume(json!({"local": {"path": "/mnt/disk"}}));
        assert_eq!(
            resolve_objects("ns", "www", Some(&claim("Bound", "pv")), Some(&local)).map(|p| p.path),
            Ok(PathBuf::from("/mnt/disk"))
        );
    }

    #[test]
    fn missing_unbound_and_unsupported_claims_say_why() {
        assert_eq!(
            resolve_objects("ns", "www", None, None),
            Err("persistentvolumeclaim \"www\" not found".into())
        );
        assert_eq!(
            resolve_objects("ns", "www", Some(&claim("Pending", "")), None),
            Err("error processing PVC ns/www: PVC is not bound".into())
        );
        assert!(
            resolve_objects("ns", "www", Some(&claim("Bound", "pv")), None)
                .is_err_and(|e| e.contains("persistentvolume \"pv\" not found"))
        );
        let nfs = volume(json!({"nfs": {"server": "s", "path": "/"}}));
        assert!(
            resolve_objects("ns", "www", Some(&claim("Bound", "pv")), Some(&nfs))
                .is_err_and(|e| e.contains("neither hostPath nor local"))
        );
    }

    /// Claims and volumes by name; everything else is empty.
    struct Objects(Vec<PersistentVolumeClaim>, Vec<PersistentVolume>);

    #[async_trait::async_trait]
    impl PodApi for Objects {
        async fn configmap(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<k8s_openapi::api::core::v1::ConfigMap>> {
            Ok(None)
        }
        async fn secret(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<k8s_openapi::api::core::v1::Secret>> {
            Ok(None)
        }
        async fn claim(&self, _: &str, name: &str) -> Result<Option<PersistentVolumeClaim>> {
            Ok(self
                .0
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(name))
                .cloned())
        }
        async fn persistent_volume(&self, name: &str) -> Result<Option<PersistentVolume>> {
            Ok(self
                .1
                .iter()
                .find(|v| v.metadata.name.as_deref() == Some(name))
                .cloned())
        }
        async fn services(&self, _: &str) -> Result<Vec<k8s_openapi::api::core::v1::Service>> {
            Ok(vec![])
        }
        async fn patch_status(
            &self,
            _: &str,
            _: &str,
            _: &k8s_openapi::api::core::v1::PodStatus,
        ) -> Result<()> {
            Ok(())
        }
        async fn delete_pod(&self, _: &str, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        async fn service_account_token(
            &self,
            _: &crate::pod::api::TokenFor,
        ) -> Result<Option<String>> {
            Ok(None)
        }
        fn event(&self, _: &crate::events::Target, _: &str, _: &str, _: String) {}
    }

    #[tokio::test]
    async fn resolved_claims_stay_resolved_even_once_their_claim_is_deleted() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {
            "containers": [],
            "volumes": [{"name": "a", "persistentVolumeClaim": {"claimName": "www"}},
                        {"name": "b", "persistentVolumeClaim": {"claimName": "gone"}}]}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let host = volume(json!({"hostPath": {"path": "/data/pv"}}));
        let api = Objects(vec![claim("Bound", "pv")], vec![host]);
        let first = resolve(&api, "ns", &pod, &Claims::new())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            first
                .get("www")
                .and_then(|r| r.as_ref().ok())
                .map(|p| p.path.clone()),
            Some("/data/pv".into())
        );
        assert_eq!(
            first.get("gone"),
            Some(&Err("persistentvolumeclaim \"gone\" not found".to_string()))
        );
        let deleting: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "www", "namespace": "ns", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"volumeName": "pv"}, "status": {"phase": "Bound"}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let later = Objects(vec![deleting], vec![]);
        let again = resolve(&later, "ns", &pod, &first)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.get("www"), first.get("www"));
        assert!(
            resolve(&later, "ns", &pod, &Claims::new())
                .await
                .is_ok_and(|c| c.get("www").is_some_and(|r| r.is_err()))
        );
    }

    #[test]
    fn setup_creates_the_directory_and_keeps_read_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("storage").join("pvc-1_ns_www");
        let mut claims = Claims::new();
        claims.insert(
            "www".into(),
            Ok(ClaimPath {
                path: path.clone(),
                host_path_type: "DirectoryOrCreate".into(),
            }),
        );
        let info = setup("data", "www", true, &claims).unwrap_or_else(|e| panic!("{e}"));
        assert!(path.is_dir());
        assert_eq!(
            std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok(),
            Some(0o777)
        );
        assert!(info.force_readonly);
        claims.insert(
            "www".into(),
            Err("error processing PVC ns/www: PVC is not bound".into()),
        );
        let err = setup("data", "www", false, &claims)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(err.is_err_and(|e| {
            e.contains("unmounted volumes=[data]: error processing PVC ns/www: PVC is not bound")
        }));
    }
}
