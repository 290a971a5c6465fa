//! Rows of volume and storage kinds: PersistentVolumes, claims, storage classes and CSI.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{self, AGE, NAME, arr, cell, col, has, s, wide};
use super::quantity;
use super::{Column, Printer};

const PV_COLUMNS: [Column; 11] = [
    NAME,
    col("Capacity", "string", "The volume's storage capacity."),
    col("Access Modes", "string", "How the volume can be mounted."),
    col(
        "Reclaim Policy",
        "string",
        "What happens to the volume when released.",
    ),
    col("Status", "string", "The volume's phase."),
    col("Claim", "string", "The claim bound to the volume."),
    col("StorageClass", "string", "The storage class of the volume."),
    col(
        "VolumeAttributesClass",
        "string",
        "The volume attributes class of the volume.",
    ),
    col("Reason", "string", "Why the volume is in its phase."),
    AGE,
    wide("VolumeMode", "string", "Filesystem or Block."),
];

const PVC_COLUMNS: [Column; 9] = [
    NAME,
    col("Status", "string", "The claim's phase."),
    col("Volume", "string", "The volume bound to the claim."),
    col("Capacity", "string", "The bound volume's capacity."),
    col(
        "Access Modes",
        "string",
        "How the bound volume can be mounted.",
    ),
    col("StorageClass", "string", "The storage class of the claim."),
    col(
        "VolumeAttributesClass",
        "string",
        "The volume attributes class of the claim.",
    ),
    AGE,
    wide("VolumeMode", "string", "Filesystem or Block."),
];

const STORAGE_CLASS_COLUMNS: [Column; 6] = [
    NAME,
    col(
        "Provisioner",
        "string",
        "The volume plugin provisioning volumes.",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "Reclaim policy of provisioned volumes.",
    ),
    col(
        "VolumeBindingMode",
        "string",
        "When volumes are bound and provisioned.",
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "Whether volumes may be expanded.",
    ),
    AGE,
];

const VOLUME_ATTRIBUTES_CLASS_COLUMNS: [Column; 3] = [
    NAME,
    col("DriverName", "string", "The CSI driver of the class."),
    AGE,
];

const CSI_DRIVER_COLUMNS: [Column; 8] = [
    NAME,
    col("AttachRequired", "boolean", "Whether attach is needed."),
    col(
        "PodInfoOnMount",
        "boolean",
        "Whether pod info is passed on mount.",
    ),
    col("StorageCapacity", "boolean", "Whether capacity is tracked."),
    col("TokenRequests", "string", "Audiences of requested tokens."),
    col(
        "RequiresRepublish",
        "boolean",
        "Whether volumes are republished.",
    ),
    col("Modes", "string", "Supported volume lifecycle modes."),
    AGE,
];

const CSI_NODE_COLUMNS: [Column; 3] = [
    NAME,
    col("Drivers", "integer", "Number of CSI drivers on the node."),
    AGE,
];

const VOLUME_ATTACHMENT_COLUMNS: [Column; 6] = [
    NAME,
    Column {
        format: "name",
        ..col("Attacher", "string", "The attaching driver.")
    },
    col("PV", "string", "The attached persistent volume."),
    col("Node", "string", "The node attached to."),
    col("Attached", "boolean", "Whether the volume is attached."),
    AGE,
];

/// Printers for the core volume kinds.
pub(crate) fn printer_core(kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], super::CellFn) = match kind {
        "PersistentVolume" => (&PV_COLUMNS, persistent_volume),
        "PersistentVolumeClaim" => (&PVC_COLUMNS, persistent_volume_claim),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// Printers for the storage.k8s.io group.
pub(crate) fn printer(kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], super::CellFn) = match kind {
        "StorageClass" => (&STORAGE_CLASS_COLUMNS, storage_class_row),
        "VolumeAttributesClass" => (&VOLUME_ATTRIBUTES_CLASS_COLUMNS, volume_attributes_class),
        "CSIDriver" => (&CSI_DRIVER_COLUMNS, csi_driver),
        "CSINode" => (&CSI_NODE_COLUMNS, csi_node),
        "VolumeAttachment" => (&VOLUME_ATTACHMENT_COLUMNS, volume_attachment),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// Access modes as upstream abbreviates them, in its fixed order.
fn access_modes(list: &[Value]) -> String {
    let has_mode = |m: &str| list.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has_mode(m))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The beta storage-class annotation wins over spec.storageClassName.
fn storage_class(obj: &Value) -> String {
    format::opt_s(
        obj,
        "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
    )
    .unwrap_or_else(|| s(obj, "/spec/storageClassName"))
    .to_string()
}

fn or_unset(obj: &Value, ptr: &str) -> String {
    format::opt_s(obj, ptr).unwrap_or("<unset>").to_string()
}

fn persistent_volume(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = if has(obj, "/spec/claimRef") {
        format!(
            "{}/{}",
            s(obj, "/spec/claimRef/namespace"),
            s(obj, "/spec/claimRef/name")
        )
    } else {
        String::new()
    };
    let phase = if has(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        s(obj, "/status/phase")
    };
    vec![
        format::name(obj),
        cell(quantity::show(obj.pointer("/spec/capacity/storage"))),
        cell(access_modes(arr(obj, "/spec/accessModes"))),
        cell(s(obj, "/spec/persistentVolumeReclaimPolicy")),
        cell(phase),
        cell(claim),
        cell(storage_class(obj)),
        cell(or_unset(obj, "/spec/volumeAttributesClassName")),
        cell(s(obj, "/status/reason")),
        format::age(obj, now),
        cell(or_unset(obj, "/spec/volumeMode")),
    ]
}

fn persistent_volume_claim(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let phase = if has(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        s(obj, "/status/phase")
    };
    let volume = s(obj, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity::show(obj.pointer("/status/capacity/storage")),
            access_modes(arr(obj, "/status/accessModes")),
        )
    };
    vec![
        format::name(obj),
        cell(phase),
        cell(volume),
        cell(capacity),
        cell(modes),
        cell(storage_class(obj)),
        cell(or_unset(obj, "/spec/volumeAttributesClassName")),
        format::age(obj, now),
        cell(or_unset(obj, "/spec/volumeMode")),
    ]
}

fn storage_class_row(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let is_default =
        |key: &str| format::opt_s(obj, &format!("/metadata/annotations/{key}")) == Some("true");
    let mut name = s(obj, "/metadata/name").to_string();
    if is_default("storageclass.kubernetes.io~1is-default-class")
        || is_default("storageclass.beta.kubernetes.io~1is-default-class")
    {
        name.push_str(" (default)");
    }
    vec![
        cell(name),
        cell(s(obj, "/provisioner")),
        cell(format::opt_s(obj, "/reclaimPolicy").unwrap_or("Delete")),
        cell(format::opt_s(obj, "/volumeBindingMode").unwrap_or("Immediate")),
        json!(format::opt_bool(obj, "/allowVolumeExpansion").unwrap_or(false)),
        format::age(obj, now),
    ]
}

fn volume_attributes_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut name = s(obj, "/metadata/name").to_string();
    if format::opt_s(
        obj,
        "/metadata/annotations/storage.kubernetes.io~1is-default-class",
    ) == Some("true")
    {
        name.push_str(" (default)");
    }
    vec![
        cell(name),
        cell(s(obj, "/driverName")),
        format::age(obj, now),
    ]
}

fn csi_driver(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let modes: Vec<&str> = arr(obj, "/spec/volumeLifecycleModes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    let tokens = if has(obj, "/spec/tokenRequests") {
        arr(obj, "/spec/tokenRequests")
            .iter()
            .map(|t| s(t, "/audience"))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        "<unset>".to_string()
    };
    let flag = |ptr: &str, default: bool| json!(format::opt_bool(obj, ptr).unwrap_or(default));
    vec![
        format::name(obj),
        flag("/spec/attachRequired", true),
        flag("/spec/podInfoOnMount", false),
        flag("/spec/storageCapacity", false),
        cell(tokens),
        flag("/spec/requiresRepublish", false),
        cell(modes),
        format::age(obj, now),
    ]
}

fn csi_node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        json!(arr(obj, "/spec/drivers").len()),
        format::age(obj, now),
    ]
}

fn volume_attachment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        cell(s(obj, "/spec/attacher")),
        cell(s(obj, "/spec/source/persistentVolumeName")),
        cell(s(obj, "/spec/nodeName")),
        json!(format::opt_bool(obj, "/status/attached").unwrap_or(false)),
        format::age(obj, now),
    ]
}
