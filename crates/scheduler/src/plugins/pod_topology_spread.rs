//! PodTopologySpread: DoNotSchedule constraints bound the skew of matching pods across
//! topology domains; ScheduleAnyway constraints score nodes in emptier domains higher.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::helpers::{selector_matches, tolerated};
use super::node_affinity::required_matches;
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, PreFilterPlugin, ScorePlugin, Status,
};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "PodTopologySpread";
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
pub const MISSING_LABEL_REASON: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

#[derive(Clone, Debug)]
struct Constraint {
    max_skew: i64,
    key: String,
    selector: Option<LabelSelector>,
    min_domains: i64,
    honor_affinity: bool,
    honor_taints: bool,
    self_match: i64,
    /// Matching pods per domain value (every eligible domain present, possibly 0).
    counts: HashMap<String, i64>,
}

fn constraints(pod: &PodInfo, when: &str) -> Vec<Constraint> {
    let list: &[TopologySpreadConstraint] = pod
        .spec()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or(&[]);
    list.iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| {
            let mut selector = c.label_selector.clone();
            if let Some(sel) = selector.as_mut() {
                for k in c.match_label_keys.iter().flatten() {
                    if let Some(v) = pod.labels().get(k) {
                        sel.match_expressions.get_or_insert_default().push(
                            LabelSelectorRequirement {
                                key: k.clone(),
                                operator: "In".into(),
                                values: Some(vec![v.clone()]),
                            },
                        );
                    }
                }
            }
            let self_match = selector_matches(selector.as_ref(), pod.labels()) as i64;
            Constraint {
                max_skew: c.max_skew as i64,
                key: c.topology_key.clone(),
                selector,
                min_domains: c.min_domains.unwrap_or(1) as i64,
                honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
                self_match,
                counts: HashMap::new(),
            }
        })
        .collect()
}

fn eligible(pod: &PodInfo, node: &NodeInfo, cs: &[Constraint]) -> bool {
    if !cs.iter().all(|c| node.labels().contains_key(&c.key)) {
        return false;
    }
    if cs.iter().any(|c| c.honor_affinity) && !required_matches(pod, node) {
        return false;
    }
    if cs.iter().any(|c| c.honor_taints) {
        let tols = pod
            .spec()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        if node
            .taints
            .iter()
            .any(|t| (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerated(tols, t))
        {
            return false;
        }
    }
    true
}

fn matches(c: &Constraint, pod: &PodInfo, other: &PodInfo) -> bool {
    other.namespace == pod.namespace
        && !other.terminating
        && selector_matches(c.selector.as_ref(), other.labels())
}

fn count_all(pod: &PodInfo, nodes: &[NodeInfo], cs: &mut [Constraint]) {
    for n in nodes {
        if !eligible(pod, n, cs) {
            continue;
        }
        for c in cs.iter_mut() {
            let v = n.labels().get(&c.key).cloned().unwrap_or_default();
            let k = n.pods.iter().filter(|o| matches(c, pod, o)).count() as i64;
            *c.counts.entry(v).or_default() += k;
        }
    }
}

const FKEY: &str = "PreFilterPodTopologySpread";
const SKEY: &str = "PreScorePodTopologySpread";

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[NodeInfo]) -> Status {
        let mut cs = constraints(pod, "DoNotSchedule");
        if cs.is_empty() {
            return Status::skip();
        }
        count_all(pod, nodes, &mut cs);
        state.write(FKEY, cs);
        Status::success()
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo) {
        adjust(state, pod, other, node, 1);
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo) {
        adjust(state, pod, other, node, -1);
    }
}

fn adjust(state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
    let Some(cs) = state.read_mut::<Vec<Constraint>>(FKEY) else {
        return;
    };
    if !eligible(pod, node, cs) {
        return;
    }
    for c in cs.iter_mut() {
        if matches(c, pod, other)
            && let Some(v) = node.labels().get(&c.key)
            && let Some(n) = c.counts.get_mut(v)
        {
            *n += by;
        }
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(cs) = state.read::<Vec<Constraint>>(FKEY) else {
            return Status::success();
        };
        for c in cs {
            let Some(v) = node.labels().get(&c.key) else {
                return Status::unresolvable(MISSING_LABEL_REASON);
            };
            let min = if (c.counts.len() as i64) < c.min_domains {
                0
            } else {
                c.counts.values().copied().min().unwrap_or(0)
            };
            let here = c.counts.get(v).copied().unwrap_or(0);
            if here + c.self_match - min > c.max_skew {
                return Status::unschedulable(REASON);
            }
        }
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[&NodeInfo],
        all: &[NodeInfo],
    ) -> Status {
        let mut cs = constraints(pod, "ScheduleAnyway");
        if cs.is_empty() {
            return Status::skip();
        }
        count_all(pod, all, &mut cs);
        state.write(SKEY, cs);
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(cs) = state.read::<Vec<Constraint>>(SKEY) else {
            return 0;
        };
        let mut total = 0.0;
        for c in cs {
            let Some(v) = node.labels().get(&c.key) else {
                return -1;
            };
            let weight = ((c.counts.len() + 2) as f64).ln();
            total +=
                c.counts.get(v).copied().unwrap_or(0) as f64 * weight + (c.max_skew - 1) as f64;
        }
        total.round() as i64
    }

    /// Fewer matching pods is better; nodes without the topology labels (-1) get 0.
    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        let valid = || scores.iter().copied().filter(|s| *s >= 0);
        let (min, max) = (valid().min().unwrap_or(0), valid().max().unwrap_or(0));
        for s in scores.iter_mut() {
            *s = if *s < 0 {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
    }
}
