//! TaintToleration: NoSchedule/NoExecute taints must be tolerated; untolerated
//! PreferNoSchedule taints make a node less attractive.

use super::helpers::tolerated;
use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin, Status, default_normalize};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "TaintToleration";

pub struct TaintToleration;

impl Plugin for TaintToleration {
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

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let tols = pod
            .spec()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        for t in &node.taints {
            if (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerated(tols, t) {
                return Status::unresolvable(format!(
                    "node(s) had untolerated taint {{{}: {}}}",
                    t.key,
                    t.value.as_deref().unwrap_or("")
                ));
            }
        }
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        if node.taints.is_empty() {
            return 0;
        }
        let tols: Vec<_> = pod
            .spec()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[])
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .cloned()
            .collect();
        node.taints
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(&tols, t))
            .count() as i64
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}
