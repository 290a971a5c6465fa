//! NodeResourcesFit: the pod's requests must fit in what the node has left; scores favour the
//! least allocated nodes (LeastAllocated strategy, cpu and memory weighted equally).

use crate::framework::{CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, ScorePlugin, Status};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodeResourcesFit";

pub struct NodeResourcesFit;

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// The reasons the pod does not fit on the node (empty when it fits).
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut out = Vec::new();
    if node.pods.len() as i64 + 1 > node.allocatable.pods {
        out.push("Too many pods".to_string());
    }
    let want = &pod.requests;
    if want.is_zero() {
        return out;
    }
    let (a, r) = (&node.allocatable, &node.requested);
    if want.milli_cpu > 0 && want.milli_cpu > a.milli_cpu - r.milli_cpu {
        out.push("Insufficient cpu".into());
    }
    if want.memory > 0 && want.memory > a.memory - r.memory {
        out.push("Insufficient memory".into());
    }
    if want.ephemeral_storage > 0
        && want.ephemeral_storage > a.ephemeral_storage - r.ephemeral_storage
    {
        out.push("Insufficient ephemeral-storage".into());
    }
    for (name, v) in &want.scalar {
        if *v > 0 && *v > a.scalar(name) - r.scalar(name) {
            out.push(format!("Insufficient {name}"));
        }
    }
    out
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status {
                code: crate::framework::Code::Unschedulable,
                reasons,
                plugin: NAME,
            }
        }
    }
}

fn least_allocated(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let cpu = least_allocated(
            node.non_zero_requested.0 + pod.non_zero.0,
            node.allocatable.milli_cpu,
        );
        let mem = least_allocated(
            node.non_zero_requested.1 + pod.non_zero.1,
            node.allocatable.memory,
        );
        (cpu + mem) / 2
    }
}
