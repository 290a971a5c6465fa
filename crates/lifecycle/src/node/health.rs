//! Node heartbeats as the controller observes them, and the Unknown conditions: pure logic.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::Config;

/// Conditions turned Unknown when a node stops reporting.
const CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Last heartbeat values seen, and when the controller saw one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// Local time of the last observed heartbeat (lease renewal or Ready heartbeat change).
    pub probe: DateTime<Utc>,
    pub ready_heartbeat: Option<String>,
    pub lease_renew: Option<DateTime<Utc>>,
}

fn ready_heartbeat(node: &Value) -> Option<String> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["lastHeartbeatTime"]
        .as_str()
        .map(str::to_string)
}

/// Update what we know of a node from its object and Lease, at `now`. The clock is ours, as
/// upstream's: a heartbeat counts when we see it change, whatever time it carries.
pub fn observe(
    prev: Option<&Health>,
    node: &Value,
    lease: Option<&Value>,
    now: DateTime<Utc>,
) -> Health {
    let heartbeat = ready_heartbeat(node);
    let renew = lease.and_then(|l| crate::time::parse(&l["spec"]["renewTime"]));
    let Some(prev) = prev else {
        return Health {
            probe: now,
            ready_heartbeat: heartbeat,
            lease_renew: renew,
        };
    };
    let mut h = prev.clone();
    if heartbeat != prev.ready_heartbeat {
        h.probe = now;
        h.ready_heartbeat = heartbeat;
    }
    if let Some(r) = renew
        && prev.lease_renew.is_none_or(|p| p < r)
    {
        h.probe = now;
        h.lease_renew = Some(r);
    }
    h
}

/// Has the node been silent longer than its grace period?
pub fn stale(h: &Health, has_ready: bool, config: &Config, now: DateTime<Utc>) -> bool {
    let grace = if has_ready {
        config.node_monitor_grace_period
    } else {
        config.node_startup_grace_period
    };
    let grace = Duration::from_std(grace).unwrap_or(Duration::seconds(40));
    now > h.probe + grace
}

/// The node's conditions with Ready and the pressure conditions Unknown; `None` when they
/// already are.
pub fn unknown_conditions(node: &Value, now: DateTime<Utc>) -> Option<Vec<Value>> {
    let mut conditions: Vec<Value> = node["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let stamp = crate::time::format(now);
    let mut changed = false;
    for kind in CONDITIONS {
        match conditions.iter_mut().find(|c| c["type"] == *kind) {
            Some(c) if c["status"] == "Unknown" => {}
            Some(c) => {
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(stamp);
                changed = true;
            }
            None => {
                conditions.push(json!({
                    "type": kind, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                    "lastTransitionTime": stamp,
                }));
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

/// The pod's conditions with Ready turned False, for a pod on a node that stopped
/// reporting; `None` when the pod has no Ready condition or it is already False.
pub fn pod_not_ready(pod: &Value, now: DateTime<Utc>) -> Option<Vec<Value>> {
    let mut conditions: Vec<Value> = pod["status"]["conditions"].as_array().cloned()?;
    let ready = conditions.iter_mut().find(|c| c["type"] == "Ready")?;
    if ready["status"] == "False" {
        return None;
    }
    ready["status"] = json!("False");
    ready["lastTransitionTime"] = json!(crate::time::format(now));
    Some(conditions)
}

#[cfg(test)]
mod tests;
