//! What the local-path provisioner makes for a claim: where the directory goes (k3s's
//! `local-path-config` node path map) and the PersistentVolume pinned to the claim's node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::matching::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
    claim_annotation, claim_class, is_delayed,
};

/// The node entry of the path map that applies to every node not listed.
pub const DEFAULT_NODE: &str = "DEFAULT_PATH_FOR_NON_LISTED_NODES";
/// The label that pins a provisioned volume to its node.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// Annotation on provisioned volumes naming their node (as k3s's provisioner sets it).
pub const ANN_VOLUME_NODE: &str = "local.path.provisioner/selected-node";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PathConfig {
    #[serde(default)]
    node_path_map: Vec<NodePaths>,
}

#[derive(Debug, Deserialize)]
struct NodePaths {
    node: String,
    #[serde(default)]
    paths: Vec<String>,
}

/// The storage directory of `node` from the provisioner's `config.json`.
pub fn base_path(config_json: &str, node: &str) -> Result<String> {
    let cfg: PathConfig = serde_json::from_str(config_json)
        .map_err(|e| Error::Config(format!("config.json: {e}")))?;
    let entry = cfg
        .node_path_map
        .iter()
        .find(|e| e.node == node)
        .or_else(|| cfg.node_path_map.iter().find(|e| e.node == DEFAULT_NODE))
        .ok_or_else(|| Error::Config(format!("no local path available on node {node}")))?;
    let path = entry
        .paths
        .first()
        .ok_or_else(|| Error::Config(format!("no local path available on node {node}")))?;
    if !path.starts_with('/') {
        return Err(Error::Config(format!("path {path:?} is not absolute")));
    }
    Ok(path.trim_end_matches('/').to_string())
}

/// The `config.json` whose default path is `path`.
pub fn default_config(path: &str) -> String {
    serde_json::json!({"nodePathMap": [{"node": DEFAULT_NODE, "paths": [path]}]}).to_string()
}

/// Why a claim is not provisioned now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not ours, already bound, or waiting for the scheduler: nothing to say.
    Quietly,
    /// Provisioning failed; say this.
    Failed(String),
}

/// The claim's name `ns/name`.
pub fn claim_key(c: &PersistentVolumeClaim) -> String {
    format!(
        "{}/{}",
        c.metadata.namespace.as_deref().unwrap_or(""),
        c.metadata.name.as_deref().unwrap_or("")
    )
}

/// Whether `claim` is waiting for this provisioner (asked, unbound, not being deleted):
/// only then is the path map read.
pub fn wants_volume(
    claim: &PersistentVolumeClaim,
    class: Option<&StorageClass>,
    provisioner: &str,
) -> bool {
    let asked = claim_annotation(claim, ANN_STORAGE_PROVISIONER)
        .or_else(|| claim_annotation(claim, ANN_BETA_STORAGE_PROVISIONER));
    let unbound = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_none_or(str::is_empty);
    class.is_some_and(|c| c.provisioner == provisioner)
        && asked == Some(provisioner)
        && unbound
        && claim.metadata.deletion_timestamp.is_none()
}

/// The volume the provisioner makes for `claim`, or why not. `config_json` is the path map.
pub fn volume_for(
    claim: &PersistentVolumeClaim,
    class: Option<&StorageClass>,
    nodes: &BTreeMap<String, Node>,
    provisioner: &str,
    config_json: Option<&str>,
) -> std::result::Result<PersistentVolume, Skip> {
    let spec = claim.spec.clone().unwrap_or_default();
    let asked = claim_annotation(claim, ANN_STORAGE_PROVISIONER)
        .or_else(|| claim_annotation(claim, ANN_BETA_STORAGE_PROVISIONER));
    let Some(class) = class else {
        return Err(Skip::Quietly);
    };
    if asked != Some(provisioner)
        || class.provisioner != provisioner
        || claim.metadata.deletion_timestamp.is_some()
        || spec.volume_name.as_deref().is_some_and(|v| !v.is_empty())
    {
        return Err(Skip::Quietly);
    }
    let Some(node_name) = claim_annotation(claim, ANN_SELECTED_NODE) else {
        if is_delayed(Some(class)) {
            return Err(Skip::Quietly);
        }
        return Err(Skip::Failed(
            "configuration error, no node was specified".into(),
        ));
    };
    let modes = spec.access_modes.clone().unwrap_or_default();
    if modes
        .iter()
        .any(|m| m != "ReadWriteOnce" && m != "ReadWriteOncePod")
    {
        return Err(Skip::Failed(
            "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes".into(),
        ));
    }
    if spec
        .volume_mode
        .as_deref()
        .is_some_and(|m| m != "Filesystem")
    {
        return Err(Skip::Failed("volumeMode Block is not supported".into()));
    }
    let Some(size) = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
    else {
        return Err(Skip::Failed("claim requests no storage".into()));
    };
    let config = config_json
        .ok_or_else(|| Skip::Failed("configmap kube-system/local-path-config not found".into()))?;
    let base = base_path(config, node_name).map_err(|e| Skip::Failed(e.to_string()))?;
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let ns = claim.metadata.namespace.clone().unwrap_or_default();
    let cname = claim.metadata.name.clone().unwrap_or_default();
    let name = format!("pvc-{uid}");
    let path = format!("{base}/{name}_{ns}_{cname}");
    let hostname = nodes
        .get(node_name)
        .and_then(|n| n.metadata.labels.as_ref())
        .and_then(|l| l.get(HOSTNAME_LABEL))
        .cloned()
        .unwrap_or_else(|| node_name.to_string());
    let annotations = BTreeMap::from([
        (ANN_PROVISIONED_BY.to_string(), provisioner.to_string()),
        (ANN_VOLUME_NODE.to_string(), node_name.to_string()),
    ]);
    Ok(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name),
            annotations: Some(annotations),
            finalizers: None,
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(modes),
            capacity: Some(BTreeMap::from([("storage".to_string(), size.clone())])),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: Some(ns),
                name: Some(cname),
                uid: Some(uid),
                resource_version: claim.metadata.resource_version.clone(),
                ..Default::default()
            }),
            persistent_volume_reclaim_policy: Some(
                class
                    .reclaim_policy
                    .clone()
                    .unwrap_or_else(|| "Delete".into()),
            ),
            storage_class_name: Some(claim_class(claim).to_string()),
            volume_mode: Some("Filesystem".into()),
            host_path: Some(k8s_openapi::api::core::v1::HostPathVolumeSource {
                path,
                type_: Some("DirectoryOrCreate".into()),
            }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: HOSTNAME_LABEL.into(),
                            operator: "In".into(),
                            values: Some(vec![hostname]),
                        }]),
                        match_fields: None,
                    }],
                }),
            }),
            mount_options: class.mount_options.clone(),
            ..Default::default()
        }),
        status: None,
    })
}

/// The directory of a volume this provisioner made, and the node it lives on.
pub fn provisioned_dir(v: &PersistentVolume, provisioner: &str) -> Option<(String, String)> {
    let ann = v.metadata.annotations.as_ref()?;
    if ann.get(ANN_PROVISIONED_BY).map(String::as_str) != Some(provisioner) {
        return None;
    }
    let node = ann.get(ANN_VOLUME_NODE)?.clone();
    let path = v.spec.as_ref()?.host_path.as_ref()?.path.clone();
    Some((path, node))
}

/// Whether this provisioner must delete `v` now: made by it, released, reclaim Delete.
pub fn must_delete(v: &PersistentVolume, provisioner: &str) -> bool {
    let released = v.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let delete = v
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        == Some("Delete");
    released && delete && provisioned_dir(v, provisioner).is_some()
}
