//! What the binder does for one claim or one volume, decided from cached state alone.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};

use crate::matching::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER, capacity_bytes, claim_annotation, claim_class, find_match,
    is_bound_to, is_delayed, requested_bytes, volume_annotation, volume_class,
};

/// An event the binder records about a claim or volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Note {
    fn normal(reason: &'static str, message: impl Into<String>) -> Note {
        Note {
            warning: false,
            reason,
            message: message.into(),
        }
    }
    fn warning(reason: &'static str, message: impl Into<String>) -> Note {
        Note {
            warning: true,
            reason,
            message: message.into(),
        }
    }
}

/// The step for one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimStep {
    /// Nothing to do.
    Nothing,
    /// Bind (or finish binding) the claim and this volume.
    Bind(String),
    /// Hand the claim to this provisioner (annotate it) and say so.
    Provision(String, Note),
    /// Keep waiting, and say why.
    Wait(Note),
    /// The claim's volume is gone or belongs to another claim: phase Lost.
    Lost(Note),
}

/// The step for one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeStep {
    Nothing,
    /// Set `status.phase`.
    Phase(&'static str),
    /// Its claim is gone: phase Released (the API is asked first: the cache may lag).
    Release,
    /// Reclaiming failed: phase Failed with this event.
    Fail(Note),
    /// Clear the claimRef the controller set for a claim now bound elsewhere.
    Unbind,
}

/// Cached state of one pass.
pub struct World<'a> {
    pub volumes: &'a [PersistentVolume],
    pub classes: &'a BTreeMap<String, StorageClass>,
    pub nodes: &'a BTreeMap<String, Node>,
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn claim_phase(c: &PersistentVolumeClaim) -> &str {
    c.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn volume_phase(v: &PersistentVolume) -> &str {
    v.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// What to do for `claim`; volumes in `taken` were bound earlier in this pass.
pub fn claim_step(
    claim: &PersistentVolumeClaim,
    world: &World<'_>,
    taken: &HashSet<String>,
) -> ClaimStep {
    if claim.metadata.deletion_timestamp.is_some() {
        return ClaimStep::Nothing;
    }
    let volume_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or("");
    if volume_name.is_empty() {
        return unbound_claim_step(claim, world, taken);
    }
    let Some(v) = world
        .volumes
        .iter()
        .find(|v| name_of(&v.metadata) == volume_name)
    else {
        if claim_phase(claim) == "Lost" {
            return ClaimStep::Nothing;
        }
        if claim_annotation(claim, ANN_BIND_COMPLETED).is_none() {
            return ClaimStep::Wait(Note::normal(
                "FailedBinding",
                "volume \"".to_string() + volume_name + "\" not found",
            ));
        }
        return ClaimStep::Lost(Note::warning(
            "ClaimLost",
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        ));
    };
    let claimed = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some();
    if claimed && !is_bound_to(v, claim) {
        if claim_annotation(claim, ANN_BIND_COMPLETED).is_some() {
            if claim_phase(claim) == "Lost" {
                return ClaimStep::Nothing;
            }
            return ClaimStep::Lost(Note::warning(
                "ClaimMisbound",
                "Two claims are bound to the same volume, this one is bound incorrectly",
            ));
        }
        return ClaimStep::Wait(Note::warning(
            "FailedBinding",
            format!("volume {volume_name:?} already bound to a different claim."),
        ));
    }
    if !claimed {
        // Bound by a user to a free volume: it must satisfy the claim.
        if let Some(why) = mismatch(claim, v) {
            return ClaimStep::Wait(Note::warning(
                "VolumeMismatch",
                format!("Cannot bind to requested volume {volume_name:?}: {why}"),
            ));
        }
    }
    if bind_patches(claim, v).is_done() {
        ClaimStep::Nothing
    } else {
        ClaimStep::Bind(volume_name.to_string())
    }
}

fn mismatch(claim: &PersistentVolumeClaim, v: &PersistentVolume) -> Option<&'static str> {
    if capacity_bytes(v).unwrap_or(0) < requested_bytes(claim) {
        return Some("requested PV is too small");
    }
    if volume_class(v) != claim_class(claim) {
        return Some("storageClassName does not match");
    }
    if !crate::matching::access_modes_fit(claim, v) {
        return Some("incompatible accessMode");
    }
    None
}

fn unbound_claim_step(
    claim: &PersistentVolumeClaim,
    world: &World<'_>,
    taken: &HashSet<String>,
) -> ClaimStep {
    let class_name = claim_class(claim);
    let class = world.classes.get(class_name);
    let delayed = is_delayed(class);
    let node = claim_annotation(claim, ANN_SELECTED_NODE).and_then(|n| world.nodes.get(n));
    let free: Vec<PersistentVolume> = world
        .volumes
        .iter()
        .filter(|v| !taken.contains(name_of(&v.metadata)))
        .cloned()
        .collect();
    if let Some(v) = find_match(claim, &free, delayed, node) {
        return ClaimStep::Bind(name_of(&v.metadata).to_string());
    }
    if delayed && claim_annotation(claim, ANN_SELECTED_NODE).is_none() {
        return ClaimStep::Wait(Note::normal(
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        ));
    }
    if class_name.is_empty() {
        return ClaimStep::Wait(Note::normal(
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        ));
    }
    let Some(class) = class else {
        return ClaimStep::Wait(Note::warning(
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io {class_name:?} not found"),
        ));
    };
    let provisioner = class.provisioner.as_str();
    if provisioner == "kubernetes.io/no-provisioner" {
        return ClaimStep::Wait(Note::normal(
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        ));
    }
    let note = Note::normal(
        "ExternalProvisioning",
        format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
        ),
    );
    if claim_annotation(claim, ANN_STORAGE_PROVISIONER) == Some(provisioner)
        && claim_annotation(claim, ANN_BETA_STORAGE_PROVISIONER) == Some(provisioner)
    {
        ClaimStep::Wait(note)
    } else {
        ClaimStep::Provision(provisioner.to_string(), note)
    }
}

/// Patches that bind `claim` and `v` both ways; `None` where that side is already done.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BindPatches {
    /// Merge patch of the volume: claimRef and bound-by-controller.
    pub volume: Option<Value>,
    /// Status patch of the volume: phase Bound.
    pub volume_status: Option<Value>,
    /// Merge patch of the claim: volumeName and the binding annotations.
    pub claim: Option<Value>,
    /// Status patch of the claim: phase Bound, access modes, capacity.
    pub claim_status: Option<Value>,
}

impl BindPatches {
    /// Nothing left to patch.
    pub fn is_done(&self) -> bool {
        self.volume.is_none()
            && self.volume_status.is_none()
            && self.claim.is_none()
            && self.claim_status.is_none()
    }
}

/// What binding `claim` to `v` still needs.
pub fn bind_patches(claim: &PersistentVolumeClaim, v: &PersistentVolume) -> BindPatches {
    let mut out = BindPatches::default();
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let has_uid = v
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.as_ref())
        .and_then(|r| r.uid.as_deref())
        == Some(uid.as_str());
    if !(is_bound_to(v, claim) && has_uid) {
        let mut patch = json!({
            "metadata": {"resourceVersion": v.metadata.resource_version},
            "spec": {"claimRef": {
                "kind": "PersistentVolumeClaim", "apiVersion": "v1",
                "namespace": claim.metadata.namespace, "name": claim.metadata.name,
                "uid": uid, "resourceVersion": claim.metadata.resource_version,
            }},
        });
        if !is_bound_to(v, claim) {
            patch["metadata"]["annotations"] = json!({ANN_BOUND_BY_CONTROLLER: "yes"});
        }
        out.volume = Some(patch);
    }
    if volume_phase(v) != "Bound" {
        out.volume_status = Some(json!({"status": {"phase": "Bound"}}));
    }
    let vname = name_of(&v.metadata);
    let current = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref());
    let mut ann = serde_json::Map::new();
    if claim_annotation(claim, ANN_BIND_COMPLETED).is_none() {
        ann.insert(ANN_BIND_COMPLETED.into(), json!("yes"));
    }
    if current.is_none_or(str::is_empty) {
        ann.insert(ANN_BOUND_BY_CONTROLLER.into(), json!("yes"));
    }
    if current != Some(vname) || !ann.is_empty() {
        out.claim = Some(json!({
            "metadata": {"annotations": ann, "resourceVersion": claim.metadata.resource_version},
            "spec": {"volumeName": vname},
        }));
    }
    let spec = v.spec.clone().unwrap_or_default();
    let status = claim.status.clone().unwrap_or_default();
    if claim_phase(claim) != "Bound"
        || status.access_modes != spec.access_modes
        || status.capacity != spec.capacity
    {
        out.claim_status = Some(json!({"status": {
            "phase": "Bound", "accessModes": spec.access_modes, "capacity": spec.capacity,
        }}));
    }
    out
}

/// What to do for volume `v`, given every claim.
pub fn volume_step(v: &PersistentVolume, claims: &[PersistentVolumeClaim]) -> VolumeStep {
    let phase = volume_phase(v);
    let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return if phase == "Available" {
            VolumeStep::Nothing
        } else {
            VolumeStep::Phase("Available")
        };
    };
    if r.uid.as_deref().is_none_or(str::is_empty) {
        // Pre-bound by a user; the claim's sync finishes it.
        return if phase == "Available" {
            VolumeStep::Nothing
        } else {
            VolumeStep::Phase("Available")
        };
    }
    let claim = claims.iter().find(|c| {
        c.metadata.namespace == r.namespace && c.metadata.name == r.name && c.metadata.uid == r.uid
    });
    let Some(claim) = claim else {
        return match phase {
            "Released" => reclaim(v),
            "Failed" => VolumeStep::Nothing,
            _ => VolumeStep::Release,
        };
    };
    let bound_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or("");
    if bound_name == name_of(&v.metadata) {
        return if phase == "Bound" {
            VolumeStep::Nothing
        } else {
            VolumeStep::Phase("Bound")
        };
    }
    if !bound_name.is_empty() && volume_annotation(v, ANN_BOUND_BY_CONTROLLER).is_some() {
        return VolumeStep::Unbind;
    }
    VolumeStep::Nothing
}

/// A released volume: Retain keeps it, Delete of a provisioned volume is its provisioner's
/// to do, anything else fails as it does upstream without an in-tree plugin.
fn reclaim(v: &PersistentVolume) -> VolumeStep {
    let policy = v
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or("Retain");
    let name = name_of(&v.metadata);
    match policy {
        "Retain" => VolumeStep::Nothing,
        "Delete" if volume_annotation(v, crate::matching::ANN_PROVISIONED_BY).is_some() => {
            VolumeStep::Nothing
        }
        "Delete" => VolumeStep::Fail(Note::warning(
            "VolumeFailedDelete",
            format!(
                "error getting deleter volume plugin for volume {name:?}: no deletable volume plugin matched"
            ),
        )),
        _ => VolumeStep::Fail(Note::warning(
            "VolumeFailedRecycle",
            "No recycler plugin found for the volume!",
        )),
    }
}

#[cfg(test)]
mod tests;
