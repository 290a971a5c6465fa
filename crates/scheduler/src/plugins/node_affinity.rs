//! NodeAffinity: nodeSelector and required node affinity must match; preferred terms add
//! their weights to the score.

use super::helpers::term_matches;
use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin, Status, default_normalize};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodeAffinity";
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

pub struct NodeAffinity;

impl Plugin for NodeAffinity {
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

/// nodeSelector plus required node affinity (terms ORed).
pub fn required_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    let Some(spec) = pod.spec() else { return true };
    let labels = node.labels();
    if let Some(sel) = &spec.node_selector
        && sel.iter().any(|(k, v)| labels.get(k) != Some(v))
    {
        return false;
    }
    let req = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match req {
        Some(r) => r
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, labels, &node.name)),
        None => true,
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if required_matches(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &[&NodeInfo],
        _: &[NodeInfo],
    ) -> Status {
        let has = pod
            .spec()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|p| !p.is_empty());
        if has {
            Status::success()
        } else {
            Status::skip()
        }
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let prefs = pod
            .spec()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_deref()
            })
            .unwrap_or(&[]);
        prefs
            .iter()
            .filter(|p| p.weight != 0 && term_matches(&p.preference, node.labels(), &node.name))
            .map(|p| p.weight as i64)
            .sum()
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}
