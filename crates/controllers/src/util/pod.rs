//! Pod facts the controllers share: active, ready, available, the deletion ranking, and a pod
//! built from a template.

use std::cmp::Ordering;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::time::secs;

/// The pod's phase ("" when unset).
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Not terminated (phase neither Succeeded nor Failed) and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_none()
}

/// Being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The Ready condition is True; returns when it became so (seconds), or None.
pub fn ready_since(pod: &Pod) -> Option<i64> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    if c.status != "True" {
        return None;
    }
    Some(c.last_transition_time.as_ref().map(secs).unwrap_or(0))
}

/// The Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: i64) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(t) => t + i64::from(min_ready_seconds) <= now,
    }
}

/// Seconds until a ready pod becomes available, when it is ready but not yet available.
pub fn until_available(pod: &Pod, min_ready_seconds: i32, now: i64) -> Option<i64> {
    let t = ready_since(pod)?;
    let at = t + i64::from(min_ready_seconds);
    (min_ready_seconds > 0 && at > now).then_some(at - now)
}

fn phase_rank(pod: &Pod) -> u8 {
    match phase(pod) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

fn created(pod: &Pod) -> i64 {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map(secs)
        .unwrap_or(0)
}

/// Upstream's `ActivePods` order: the pods to delete first come first — unscheduled before
/// scheduled, Pending before Unknown before Running, not ready before ready, ready for less
/// time first, more restarts first, newer first.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let node = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    node(a)
        .cmp(&node(b))
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(is_ready(a).cmp(&is_ready(b)))
        .then_with(|| match (ready_since(a), ready_since(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => Ordering::Equal,
        })
        .then(restarts(b).cmp(&restarts(a)))
        .then(created(b).cmp(&created(a)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// A pod from a template (labels, annotations, finalizers, spec), owned by `owner`.
pub fn from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    generate_name: Option<String>,
    name: Option<String>,
    owner: OwnerReference,
) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            name,
            generate_name,
            namespace: Some(namespace.to_string()),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::fixtures::pod;

    #[test]
    fn availability_respects_min_ready_seconds() {
        let p = pod("a").ready_at(100).build();
        assert!(is_available(&p, 0, 100));
        assert!(!is_available(&p, 10, 105));
        assert!(is_available(&p, 10, 110));
        assert_eq!(until_available(&p, 10, 105), Some(5));
        assert!(!is_available(&pod("b").build(), 0, 100));
    }

    #[test]
    fn deletion_prefers_unscheduled_pending_not_ready_newer() {
        let unscheduled = pod("u").created(50).build();
        let pending = pod("p").node("n").created(10).build();
        let running = pod("r").node("n").phase("Running").created(10).build();
        let ready_old = pod("ro").node("n").phase("Running").ready_at(10).build();
        let ready_new = pod("rn").node("n").phase("Running").ready_at(90).build();
        let mut v = [ready_old, running, ready_new, pending, unscheduled];
        v.sort_by(deletion_order);
        let names: Vec<_> = v
            .iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["u", "p", "r", "rn", "ro"]);
    }

    #[test]
    fn terminated_or_deleting_pods_are_inactive() {
        assert!(is_active(&pod("a").build()));
        assert!(!is_active(&pod("a").phase("Succeeded").build()));
        assert!(!is_active(&pod("a").phase("Failed").build()));
        assert!(!is_active(&pod("a").deleting().build()));
    }
}
