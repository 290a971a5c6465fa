//! The claims, volumes and storage classes the scheduler knows, for VolumeBinding.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

/// A snapshot of storage objects, shared with scheduling cycles.
#[derive(Clone, Debug, Default)]
pub struct Volumes {
    /// Claims by `namespace/name`.
    pub claims: HashMap<String, PersistentVolumeClaim>,
    /// Volumes by name.
    pub volumes: HashMap<String, PersistentVolume>,
    /// StorageClasses by name.
    pub classes: HashMap<String, StorageClass>,
}

/// The kinds [`Volumes`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    Claims,
    Volumes,
    Classes,
}

impl Volumes {
    /// Keep only the objects of `kind` whose keys a relist saw.
    pub fn retain(&mut self, kind: StorageKind, seen: &HashSet<String>) {
        match kind {
            StorageKind::Claims => self.claims.retain(|k, _| seen.contains(k)),
            StorageKind::Volumes => self.volumes.retain(|k, _| seen.contains(k)),
            StorageKind::Classes => self.classes.retain(|k, _| seen.contains(k)),
        }
    }

    /// Key under which a scheduling cycle keeps the snapshot in its CycleState.
    pub const KEY: &'static str = "Volumes";

    /// Every volume, sorted by name (stable choices).
    pub fn sorted_volumes(&self) -> Vec<PersistentVolume> {
        let mut v: Vec<PersistentVolume> = self.volumes.values().cloned().collect();
        v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        v
    }
}

/// `namespace/name` of an object.
pub fn key_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    match &m.namespace {
        Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or("")),
        None => m.name.clone().unwrap_or_default(),
    }
}
