//! Strategic-merge-patch metadata (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! list types) for the well-known fields, which kubectl's client-side apply reads.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schemas::property_mut;

/// (definition, property, patch strategy, merge key or "", list-map keys or empty).
type Rule = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const CORE: &str = "io.k8s.api.core.v1.";
const APPS: &str = "io.k8s.api.apps.v1.";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/// Rules keyed by type name relative to the prefixes above (prefix index, type).
const RULES: &[(usize, Rule)] = &[
    (0, ("PodSpec", "containers", "merge", "name", &["name"])),
    (0, ("PodSpec", "initContainers", "merge", "name", &["name"])),
    (
        0,
        ("PodSpec", "ephemeralContainers", "merge", "name", &["name"]),
    ),
    (
        0,
        ("PodSpec", "volumes", "merge,retainKeys", "name", &["name"]),
    ),
    (
        0,
        ("PodSpec", "imagePullSecrets", "merge", "name", &["name"]),
    ),
    (0, ("PodSpec", "hostAliases", "merge", "ip", &["ip"])),
    (
        0,
        (
            "PodSpec",
            "topologySpreadConstraints",
            "merge",
            "topologyKey",
            &["topologyKey", "whenUnsatisfiable"],
        ),
    ),
    (
        0,
        (
            "PodSpec",
            "resourceClaims",
            "merge,retainKeys",
            "name",
            &["name"],
        ),
    ),
    (
        0,
        ("PodSpec", "schedulingGates", "merge", "name", &["name"]),
    ),
    (0, ("Container", "env", "merge", "name", &["name"])),
    (
        0,
        (
            "Container",
            "ports",
            "merge",
            "containerPort",
            &["containerPort", "protocol"],
        ),
    ),
    (
        0,
        (
            "Container",
            "volumeMounts",
            "merge",
            "mountPath",
            &["mountPath"],
        ),
    ),
    (
        0,
        (
            "Container",
            "volumeDevices",
            "merge",
            "devicePath",
            &["devicePath"],
        ),
    ),
    (0, ("EphemeralContainer", "env", "merge", "name", &["name"])),
    (
        0,
        (
            "EphemeralContainer",
            "volumeMounts",
            "merge",
            "mountPath",
            &["mountPath"],
        ),
    ),
    (
        0,
        (
            "EphemeralContainer",
            "volumeDevices",
            "merge",
            "devicePath",
            &["devicePath"],
        ),
    ),
    (0, ("PodStatus", "conditions", "merge", "type", &["type"])),
    (0, ("PodStatus", "podIPs", "merge", "ip", &["ip"])),
    (0, ("PodStatus", "hostIPs", "merge", "ip", &["ip"])),
    (
        0,
        (
            "ServiceSpec",
            "ports",
            "merge",
            "port",
            &["port", "protocol"],
        ),
    ),
    (0, ("ServiceAccount", "secrets", "merge", "name", &["name"])),
    (0, ("NodeStatus", "conditions", "merge", "type", &["type"])),
    (0, ("NodeStatus", "addresses", "merge", "type", &["type"])),
    (0, ("NodeSpec", "podCIDRs", "merge", "", &[])),
    (
        0,
        ("NamespaceStatus", "conditions", "merge", "type", &["type"]),
    ),
    (
        0,
        (
            "PersistentVolumeClaimStatus",
            "conditions",
            "merge",
            "type",
            &["type"],
        ),
    ),
    (
        0,
        (
            "ReplicationControllerStatus",
            "conditions",
            "merge",
            "type",
            &["type"],
        ),
    ),
    (1, ("DeploymentSpec", "strategy", "retainKeys", "", &[])),
    (
        1,
        ("DeploymentStatus", "conditions", "merge", "type", &["type"]),
    ),
    (
        1,
        ("ReplicaSetStatus", "conditions", "merge", "type", &["type"]),
    ),
    (
        1,
        (
            "StatefulSetStatus",
            "conditions",
            "merge",
            "type",
            &["type"],
        ),
    ),
    (
        1,
        ("DaemonSetStatus", "conditions", "merge", "type", &["type"]),
    ),
    (2, ("ObjectMeta", "finalizers", "merge", "", &[])),
    (
        2,
        ("ObjectMeta", "ownerReferences", "merge", "uid", &["uid"]),
    ),
];

/// Adds the patch metadata of [`RULES`] to `defs` (fields that are missing are skipped).
pub(crate) fn apply(defs: &mut BTreeMap<String, Value>) {
    let prefixes = [CORE, APPS, META];
    for (prefix, (ty, prop, strategy, key, map_keys)) in RULES {
        let Some(prefix) = prefixes.get(*prefix) else {
            continue;
        };
        let Some(p) = property_mut(defs, &format!("{prefix}{ty}"), prop) else {
            continue;
        };
        if !key.is_empty() {
            p.insert("x-kubernetes-patch-merge-key".into(), (*key).into());
        }
        p.insert("x-kubernetes-patch-strategy".into(), (*strategy).into());
        if map_keys.is_empty() {
            if p.get("type").and_then(Value::as_str) == Some("array") {
                p.insert("x-kubernetes-list-type".into(), "set".into());
            }
        } else {
            p.insert(
                "x-kubernetes-list-map-keys".into(),
                Value::Array(map_keys.iter().map(|k| Value::from(*k)).collect()),
            );
            p.insert("x-kubernetes-list-type".into(), "map".into());
        }
    }
}
