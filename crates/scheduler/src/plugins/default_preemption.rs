//! DefaultPreemption: when no node fits, find the node where evicting the fewest, least
//! important lower-priority pods makes room, and nominate it.

use std::sync::Arc;

use crate::fit_error::histogram;
use crate::framework::{
    Code, CycleState, Framework, Plugin, PostFilterInput, PostFilterPlugin, PostFilterResult,
    Status,
};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "DefaultPreemption";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// A node where the pod fits once `victims` are gone.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub node: usize,
    pub victims: Vec<Arc<PodInfo>>,
}

/// More important first: higher priority, then earlier start.
fn importance(a: &PodInfo, b: &PodInfo) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| a.start_time().cmp(&b.start_time()))
}

/// The fewest lower-priority pods to remove from `node` for `pod` to fit, or None.
pub fn select_victims(
    fw: &Framework,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    nominated: &[Arc<PodInfo>],
) -> Option<Vec<Arc<PodInfo>>> {
    let mut ni = node.clone();
    let mut st = state.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    for v in &potential {
        ni.remove_pod(&v.key);
        fw.run_remove_pod(&mut st, pod, v, &ni);
    }
    if !fw
        .run_filters_with_nominated(&st, pod, &ni, nominated)
        .is_success()
    {
        return None;
    }
    potential.sort_by(|a, b| importance(a, b));
    let mut victims = Vec::new();
    for v in potential {
        ni.add_pod(v.clone());
        fw.run_add_pod(&mut st, pod, &v, &ni);
        if !fw
            .run_filters_with_nominated(&st, pod, &ni, nominated)
            .is_success()
        {
            ni.remove_pod(&v.key);
            fw.run_remove_pod(&mut st, pod, &v, &ni);
            victims.push(v);
        }
    }
    Some(victims)
}

/// Upstream's pickOneNodeForPreemption order: lowest highest-victim priority, lowest sum of
/// priorities, fewest victims, latest start among the highest-priority victims, first found.
pub fn pick_one(cands: &[Candidate]) -> Option<&Candidate> {
    let key = |c: &Candidate| {
        let top = c
            .victims
            .iter()
            .map(|v| v.priority)
            .max()
            .unwrap_or(i32::MIN);
        let sum: i64 = c
            .victims
            .iter()
            .map(|v| v.priority as i64 + i32::MAX as i64 + 1)
            .sum();
        let earliest_top = c
            .victims
            .iter()
            .filter(|v| v.priority == top)
            .filter_map(|v| v.start_time())
            .min();
        (top, sum, c.victims.len(), std::cmp::Reverse(earliest_top))
    };
    cands.iter().min_by_key(|c| key(c))
}

fn fail(msg: String) -> (Option<PostFilterResult>, Status) {
    (None, Status::unschedulable(format!("preemption: {msg}")))
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(&self, input: &PostFilterInput<'_>) -> (Option<PostFilterResult>, Status) {
        let pod = input.pod;
        let spec = pod.spec();
        if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
            return fail("not eligible due to preemptionPolicy=Never.".into());
        }
        // this scheduler's own nomination first: the pod's status may not show it yet
        let nominated_node = input
            .nominated
            .iter()
            .find(|(_, pods)| pods.iter().any(|p| p.key == pod.key))
            .map(|(node, _)| node.as_str())
            .or_else(|| {
                pod.pod
                    .status
                    .as_ref()
                    .and_then(|s| s.nominated_node_name.as_deref())
            });
        if let Some(nn) = nominated_node.filter(|n| !n.is_empty())
            && let Some(ni) = input.nodes.iter().find(|n| n.name == nn)
            && ni
                .pods
                .iter()
                .any(|p| p.terminating && p.priority < pod.priority)
        {
            return fail("not eligible due to a terminating pod on the nominated node.".into());
        }
        let mut reasons: Vec<&str> = Vec::new();
        let mut cands = Vec::new();
        for (idx, s) in input.statuses {
            if s.code != Code::Unschedulable {
                reasons.push(NOT_HELPFUL);
                continue;
            }
            let node = &input.nodes[*idx];
            let nominated = input
                .nominated
                .get(&node.name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            match select_victims(input.framework, input.state, pod, node, nominated) {
                Some(victims) => cands.push(Candidate {
                    node: *idx,
                    victims,
                }),
                None => reasons.push(NO_VICTIMS),
            }
        }
        let Some(best) = pick_one(&cands) else {
            return fail(format!(
                "0/{} nodes are available: {}.",
                input.nodes.len(),
                histogram(reasons)
            ));
        };
        let node = &input.nodes[best.node];
        let clear = input
            .nominated
            .get(&node.name)
            .into_iter()
            .flatten()
            .filter(|p| p.priority < pod.priority)
            .cloned()
            .collect();
        let result = PostFilterResult {
            nominated_node: node.name.clone(),
            victims: best.victims.clone(),
            clear_nominations: clear,
        };
        (Some(result), Status::success())
    }
}
