//! NodeResourcesBalancedAllocation: favour nodes whose cpu and memory would be used in the
//! same proportion after placing the pod.

use crate::framework::{CycleState, MAX_NODE_SCORE, Plugin, ScorePlugin};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

pub struct BalancedAllocation;

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

fn fraction(requested: i64, capacity: i64) -> f64 {
    if capacity <= 0 {
        return 1.0;
    }
    (requested as f64 / capacity as f64).min(1.0)
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let cpu = fraction(
            node.requested.milli_cpu + pod.requests.milli_cpu,
            node.allocatable.milli_cpu,
        );
        let mem = fraction(
            node.requested.memory + pod.requests.memory,
            node.allocatable.memory,
        );
        // Standard deviation of two fractions is half their distance.
        let std = (cpu - mem).abs() / 2.0;
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}
