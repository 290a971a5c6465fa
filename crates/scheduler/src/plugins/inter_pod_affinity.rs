//! InterPodAffinity: required pod affinity/anti-affinity by topology key (both the incoming
//! pod's terms and existing pods' anti-affinity), and preferred terms as a score.

use std::collections::HashMap;

use super::affinity_terms::{PodTerms, Term};
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, Plugin, PreFilterPlugin, ScorePlugin, Status,
};
use crate::{cache::Summary, nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "InterPodAffinity";
pub const AFFINITY_REASON: &str = "node(s) didn't match pod affinity rules";
pub const ANTI_AFFINITY_REASON: &str = "node(s) didn't match pod anti-affinity rules";
pub const EXISTING_ANTI_AFFINITY_REASON: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// Weight of an existing pod's required affinity term when scoring (upstream's default 1).
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

type Counts = HashMap<(String, String), i64>;

pub struct InterPodAffinity;

impl Plugin for InterPodAffinity {
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

#[derive(Clone, Default)]
struct FilterState {
    terms: PodTerms,
    existing_anti: Counts,
    affinity: Counts,
    anti: Counts,
}

const FKEY: &str = "PreFilterInterPodAffinity";
const SKEY: &str = "PreScoreInterPodAffinity";

fn bump(c: &mut Counts, t: &Term, node: &NodeInfo, by: i64) {
    if let Some((k, v)) = t.pair(node.labels()) {
        *c.entry((k, v.clone())).or_default() += by;
    }
}

fn account(s: &mut FilterState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
    if other.has_required_anti_affinity {
        for t in PodTerms::of(other).required_anti {
            if t.matches(pod) {
                bump(&mut s.existing_anti, &t, node, by);
            }
        }
    }
    if !s.terms.required_affinity.is_empty()
        && s.terms.required_affinity.iter().all(|t| t.matches(other))
    {
        for t in &s.terms.required_affinity {
            bump(&mut s.affinity, t, node, by);
        }
    }
    for t in &s.terms.required_anti {
        if t.matches(other) {
            bump(&mut s.anti, t, node, by);
        }
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[NodeInfo]) -> Status {
        let terms = PodTerms::of(pod);
        let own = !terms.required_affinity.is_empty() || !terms.required_anti.is_empty();
        let none = match state.read::<Summary>(Summary::KEY) {
            Some(s) => s.pods_with_required_anti_affinity == 0,
            None => nodes
                .iter()
                .all(|n| n.pods_with_required_anti_affinity == 0),
        };
        if !own && none {
            return Status::skip();
        }
        let mut s = FilterState {
            terms,
            ..Default::default()
        };
        for n in nodes {
            if !own && n.pods_with_required_anti_affinity == 0 {
                continue;
            }
            for other in &n.pods {
                account(&mut s, pod, other, n, 1);
            }
        }
        state.write(FKEY, s);
        Status::success()
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo) {
        if let Some(s) = state.read_mut::<FilterState>(FKEY) {
            account(s, pod, other, node, 1);
        }
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo) {
        if let Some(s) = state.read_mut::<FilterState>(FKEY) {
            account(s, pod, other, node, -1);
        }
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(FKEY) else {
            return Status::success();
        };
        let labels = node.labels();
        if s.existing_anti
            .iter()
            .any(|((k, v), n)| *n > 0 && labels.get(k) == Some(v))
        {
            return Status::unschedulable(EXISTING_ANTI_AFFINITY_REASON);
        }
        for t in &s.terms.required_anti {
            if let Some((k, v)) = t.pair(labels)
                && s.anti.get(&(k, v.clone())).is_some_and(|n| *n > 0)
            {
                return Status::unschedulable(ANTI_AFFINITY_REASON);
            }
        }
        if !s.terms.required_affinity.is_empty() {
            let mut all_exist = true;
            for t in &s.terms.required_affinity {
                match t.pair(labels) {
                    Some((k, v)) => {
                        if s.affinity.get(&(k, v.clone())).is_none_or(|n| *n <= 0) {
                            all_exist = false;
                        }
                    }
                    None => return Status::unresolvable(AFFINITY_REASON),
                }
            }
            if !all_exist {
                // The first pod of a group that selects itself may go anywhere.
                let none_anywhere = s.affinity.values().all(|n| *n <= 0);
                if !(none_anywhere && s.terms.required_affinity.iter().all(|t| t.matches(pod))) {
                    return Status::unresolvable(AFFINITY_REASON);
                }
            }
        }
        Status::success()
    }
}

fn add_score(c: &mut Counts, t: &Term, node: &NodeInfo, w: i64) {
    bump(c, t, node, w);
}

impl ScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[&NodeInfo],
        all: &[NodeInfo],
    ) -> Status {
        let terms = PodTerms::of(pod);
        let own = !terms.preferred_affinity.is_empty() || !terms.preferred_anti.is_empty();
        let none = match state.read::<Summary>(Summary::KEY) {
            Some(s) => s.pods_with_affinity == 0,
            None => all.iter().all(|n| n.pods_with_affinity == 0),
        };
        if !own && none {
            return Status::skip();
        }
        let mut scores = Counts::new();
        for n in all {
            if !own && n.pods_with_affinity == 0 {
                continue;
            }
            for other in &n.pods {
                for t in &terms.preferred_affinity {
                    if t.matches(other) {
                        add_score(&mut scores, t, n, t.weight);
                    }
                }
                for t in &terms.preferred_anti {
                    if t.matches(other) {
                        add_score(&mut scores, t, n, -t.weight);
                    }
                }
                if other.has_affinity {
                    let ot = PodTerms::of(other);
                    for t in &ot.preferred_affinity {
                        if t.matches(pod) {
                            add_score(&mut scores, t, n, t.weight);
                        }
                    }
                    for t in &ot.required_affinity {
                        if t.matches(pod) {
                            add_score(&mut scores, t, n, HARD_POD_AFFINITY_WEIGHT);
                        }
                    }
                    for t in &ot.preferred_anti {
                        if t.matches(pod) {
                            add_score(&mut scores, t, n, -t.weight);
                        }
                    }
                }
            }
        }
        state.write(SKEY, scores);
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<Counts>(SKEY) else {
            return 0;
        };
        let labels = node.labels();
        s.iter()
            .filter(|((k, v), _)| labels.get(k) == Some(v))
            .map(|(_, w)| *w)
            .sum()
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        let (min, max) = (
            scores.iter().copied().min().unwrap_or(0),
            scores.iter().copied().max().unwrap_or(0),
        );
        for s in scores.iter_mut() {
            *s = if max > min {
                MAX_NODE_SCORE * (*s - min) / (max - min)
            } else {
                0
            };
        }
    }
}
