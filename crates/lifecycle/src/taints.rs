//! Node taints from conditions, and which pods a NoExecute taint evicts when: pure logic.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// Taint keys this controller manages (others are left as they are).
const MANAGED: &[&str] = &[
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    MEMORY_PRESSURE,
    DISK_PRESSURE,
    PID_PRESSURE,
    NETWORK_UNAVAILABLE,
];

/// Status of one node condition ("True", "False", "Unknown"), if present.
pub fn condition<'a>(node: &'a Value, kind: &str) -> Option<&'a str> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
}

/// (key, effect) of every managed taint the node should carry.
fn wanted(node: &Value) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    match condition(node, "Ready") {
        Some("False") => {
            out.push((NOT_READY, "NoSchedule"));
            out.push((NOT_READY, "NoExecute"));
        }
        Some("Unknown") => {
            out.push((UNREACHABLE, "NoSchedule"));
            out.push((UNREACHABLE, "NoExecute"));
        }
        _ => {}
    }
    for (cond, key) in [
        ("MemoryPressure", MEMORY_PRESSURE),
        ("DiskPressure", DISK_PRESSURE),
        ("PIDPressure", PID_PRESSURE),
    ] {
        if condition(node, cond) == Some("True") {
            out.push((key, "NoSchedule"));
        }
    }
    if condition(node, "NetworkUnavailable") == Some("True") {
        out.push((NETWORK_UNAVAILABLE, "NoSchedule"));
    }
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        out.push((UNSCHEDULABLE, "NoSchedule"));
    }
    out
}

/// The node's new `spec.taints` when the managed ones must change; `None` when they are right.
/// NoExecute taints get `timeAdded` = `now`; existing matching taints are kept as they are.
pub fn desired_taints(node: &Value, now: DateTime<Utc>) -> Option<Vec<Value>> {
    let current: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let want = wanted(node);
    let is = |t: &Value, key: &str, effect: &str| t["key"] == key && t["effect"] == effect;
    let mut out: Vec<Value> = current
        .iter()
        .filter(|t| {
            let key = t["key"].as_str().unwrap_or_default();
            !MANAGED.contains(&key) || want.iter().any(|(k, e)| is(t, k, e))
        })
        .cloned()
        .collect();
    for (key, effect) in &want {
        if !out.iter().any(|t| is(t, key, effect)) {
            let mut t = json!({ "key": key, "effect": effect });
            if *effect == "NoExecute" {
                t["timeAdded"] = json!(crate::time::format(now));
            }
            out.push(t);
        }
    }
    (out != current).then_some(out)
}

/// Does `toleration` tolerate `taint`?
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let effect = toleration["effect"].as_str().unwrap_or_default();
    if !effect.is_empty() && taint["effect"].as_str() != Some(effect) {
        return false;
    }
    let key = toleration["key"].as_str().unwrap_or_default();
    let op = toleration["operator"].as_str().unwrap_or("Equal");
    if key.is_empty() {
        return op == "Exists";
    }
    if taint["key"].as_str() != Some(key) {
        return false;
    }
    match op {
        "Exists" => true,
        "Equal" => {
            toleration["value"].as_str().unwrap_or_default()
                == taint["value"].as_str().unwrap_or_default()
        }
        _ => false,
    }
}

/// When a pod must go because of the node's NoExecute taints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    Never,
    Now,
    At(DateTime<Utc>),
}

/// Decide for a pod on a node with `taints`; a taint without `timeAdded` counts from
/// `first_seen(taint)`. Every NoExecute taint must be tolerated, else the pod goes at once;
/// the soonest expiry among the tolerations' `tolerationSeconds` is when it goes.
pub fn eviction(
    pod: &Value,
    taints: &[Value],
    mut first_seen: impl FnMut(&Value) -> DateTime<Utc>,
) -> Eviction {
    let tolerations = pod["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut soonest: Option<DateTime<Utc>> = None;
    for taint in taints.iter().filter(|t| t["effect"] == "NoExecute") {
        let matching: Vec<&Value> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Eviction::Now;
        }
        // Tolerated forever by any toleration without tolerationSeconds.
        if matching
            .iter()
            .any(|t| t["tolerationSeconds"].as_i64().is_none())
        {
            continue;
        }
        let secs = matching
            .iter()
            .filter_map(|t| t["tolerationSeconds"].as_i64())
            .min()
            .unwrap_or(0);
        if secs <= 0 {
            return Eviction::Now;
        }
        let since = crate::time::parse(&taint["timeAdded"]).unwrap_or_else(|| first_seen(taint));
        let at = since + Duration::seconds(secs);
        soonest = Some(soonest.map_or(at, |s| s.min(at)));
    }
    soonest.map_or(Eviction::Never, Eviction::At)
}

#[cfg(test)]
mod tests;
