//! Which PersistentVolume fits a claim (class, access modes, size, selector, volume mode,
//! node affinity, pre-binding), as upstream's binder decides it; no IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, PersistentVolume, PersistentVolumeClaim,
};
use k8s_openapi::api::storage::v1::StorageClass;
use skiff_api::quantity::Quantity;

/// Set on a claim once the binder has finished binding it.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on a claim or volume whose binding the controller (not a user) made.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The node the scheduler chose for a claim of a WaitForFirstConsumer class.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The provisioner asked to create a volume for a claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The beta spelling of [`ANN_STORAGE_PROVISIONER`], still set by upstream.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The provisioner that created a volume.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Marks the StorageClass claims without a class get.
pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// The beta way of naming a class, which takes precedence over `storageClassName`.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// A claim's annotation.
pub fn claim_annotation<'a>(c: &'a PersistentVolumeClaim, key: &str) -> Option<&'a str> {
    annotation(&c.metadata, key)
}

/// A volume's annotation.
pub fn volume_annotation<'a>(v: &'a PersistentVolume, key: &str) -> Option<&'a str> {
    annotation(&v.metadata, key)
}

/// The class a claim asks for ("" = none).
pub fn claim_class(c: &PersistentVolumeClaim) -> &str {
    claim_annotation(c, ANN_BETA_STORAGE_CLASS)
        .or_else(|| {
            c.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
        })
        .unwrap_or("")
}

/// The class a volume belongs to ("" = none).
pub fn volume_class(v: &PersistentVolume) -> &str {
    volume_annotation(v, ANN_BETA_STORAGE_CLASS)
        .or_else(|| {
            v.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
        })
        .unwrap_or("")
}

/// Bytes a claim requests (0 when it names none).
pub fn requested_bytes(c: &PersistentVolumeClaim) -> i64 {
    c.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| Quantity::parse(&q.0).ok())
        .map_or(0, |q| q.value())
}

/// Bytes a volume holds (`None` when its capacity is missing or malformed).
pub fn capacity_bytes(v: &PersistentVolume) -> Option<i64> {
    v.spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(|q| Quantity::parse(&q.0).ok())
        .map(|q| q.value())
}

/// A claim's access modes.
pub fn claim_modes(c: &PersistentVolumeClaim) -> &[String] {
    c.spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or(&[])
}

/// A volume's access modes.
pub fn volume_modes(v: &PersistentVolume) -> &[String] {
    v.spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or(&[])
}

/// Whether the volume offers every mode the claim asks for.
pub fn access_modes_fit(c: &PersistentVolumeClaim, v: &PersistentVolume) -> bool {
    let have = volume_modes(v);
    claim_modes(c).iter().all(|m| have.contains(m))
}

fn volume_mode_mismatch(c: &PersistentVolumeClaim, v: &PersistentVolume) -> bool {
    let cm = c.spec.as_ref().and_then(|s| s.volume_mode.as_deref());
    let vm = v.spec.as_ref().and_then(|s| s.volume_mode.as_deref());
    cm.unwrap_or("Filesystem") != vm.unwrap_or("Filesystem")
}

/// Whether `v.spec.claimRef` names this claim (and, when it has a uid, this very claim).
pub fn is_bound_to(v: &PersistentVolume, c: &PersistentVolumeClaim) -> bool {
    let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    if r.name.as_deref() != c.metadata.name.as_deref()
        || r.namespace.as_deref() != c.metadata.namespace.as_deref()
    {
        return false;
    }
    match r.uid.as_deref() {
        None | Some("") => true,
        Some(uid) => Some(uid) == c.metadata.uid.as_deref(),
    }
}

fn requirement_holds(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let int = |v: Option<&str>| v.and_then(|v| v.parse::<i64>().ok());
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((int(value), int(values.first().map(String::as_str))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((int(value), int(values.first().map(String::as_str))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// Whether the volume's required node affinity admits `node` (no affinity admits every node).
pub fn node_affinity_fits(v: &PersistentVolume, node: &Node) -> bool {
    let Some(required) = v
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
    else {
        return true;
    };
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let name = node.metadata.name.as_deref();
    required.node_selector_terms.iter().any(|t| {
        let exprs = t.match_expressions.as_deref().unwrap_or(&[]);
        let fields = t.match_fields.as_deref().unwrap_or(&[]);
        (!exprs.is_empty() || !fields.is_empty())
            && exprs
                .iter()
                .all(|r| requirement_holds(r, labels.get(&r.key).map(String::as_str)))
            && fields
                .iter()
                .all(|r| r.key == "metadata.name" && requirement_holds(r, name))
    })
}

/// Whether claims of this class wait for a pod to be scheduled before binding.
pub fn is_delayed(class: Option<&StorageClass>) -> bool {
    class.and_then(|c| c.volume_binding_mode.as_deref()) == Some("WaitForFirstConsumer")
}

/// The smallest available volume that fits `claim`, or the one pre-bound to it. With
/// `node`, the volume must also admit that node; without one, a claim of a delayed class
/// matches only a pre-bound volume.
pub fn find_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &'a [PersistentVolume],
    delayed: bool,
    node: Option<&Node>,
) -> Option<&'a PersistentVolume> {
    let want = requested_bytes(claim);
    let class = claim_class(claim);
    let selector = claim
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|s| serde_json::to_value(s).ok())
        .map(|s| skiff_api::selector::LabelSelector::from_label_selector(&s));
    let mut best: Option<(&PersistentVolume, i64)> = None;
    for v in volumes {
        let claimed = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some();
        if claimed && !is_bound_to(v, claim) {
            continue;
        }
        let Some(size) = capacity_bytes(v) else {
            continue;
        };
        if size < want || volume_mode_mismatch(claim, v) || v.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let node_ok = node.is_none_or(|n| node_affinity_fits(v, n));
        if is_bound_to(v, claim) {
            return node_ok.then_some(v);
        }
        if node.is_none() && delayed {
            continue;
        }
        let phase = v.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase != Some("Available") {
            continue;
        }
        match &selector {
            Some(Ok(sel)) => {
                let empty = BTreeMap::new();
                if !sel.matches(v.metadata.labels.as_ref().unwrap_or(&empty)) {
                    continue;
                }
            }
            Some(Err(_)) => continue,
            None => {}
        }
        if volume_class(v) != class || !node_ok || !access_modes_fit(claim, v) {
            continue;
        }
        if best.is_none_or(|(_, s)| size < s) {
            best = Some((v, size));
        }
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests;
