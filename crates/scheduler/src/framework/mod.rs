//! The scheduling framework: plugins at upstream's extension points and the runner that calls
//! them in order (PreFilter, Filter, PostFilter, PreScore/Score/NormalizeScore, Bind).

mod state;
mod status;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use state::{CycleState, StateData};
pub use status::{Code, Status};

use crate::nodeinfo::NodeInfo;
use crate::podinfo::PodInfo;

/// Highest score a plugin gives a node after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// A plugin; it answers `Some` for each extension point it implements.
pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// Runs once per cycle before filtering; may reject the pod outright or return Skip.
pub trait PreFilterPlugin: Send + Sync {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[NodeInfo]) -> Status;
    /// Update the cycle state as if `other` were added to `node` (preemption, nominated pods).
    fn add_pod(&self, _state: &mut CycleState, _pod: &PodInfo, _other: &PodInfo, _node: &NodeInfo) {
    }
    /// Update the cycle state as if `other` were removed from `node`.
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _other: &PodInfo,
        _node: &NodeInfo,
    ) {
    }
}

/// Decides whether the pod can run on one node.
pub trait FilterPlugin: Send + Sync {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// What a PostFilter achieved: a node nominated after evicting victims.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    pub nominated_node: String,
    pub victims: Vec<Arc<PodInfo>>,
    /// Lower-priority pods nominated to the node that lose their nomination.
    pub clear_nominations: Vec<Arc<PodInfo>>,
}

/// Everything a PostFilter plugin may consult.
pub struct PostFilterInput<'a> {
    pub framework: &'a Framework,
    pub state: &'a CycleState,
    pub pod: &'a PodInfo,
    pub nodes: &'a [NodeInfo],
    /// Filter status of each node that failed, by node index.
    pub statuses: &'a [(usize, Status)],
    pub nominated: &'a crate::cache::Nominator,
}

/// Runs when no node fits (preemption).
pub trait PostFilterPlugin: Send + Sync {
    fn post_filter(&self, input: &PostFilterInput<'_>) -> (Option<PostFilterResult>, Status);
}

/// Ranks feasible nodes.
pub trait ScorePlugin: Send + Sync {
    /// Prepare per-cycle data; Skip means the plugin has no opinion on this pod.
    fn pre_score(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _feasible: &[&NodeInfo],
        _all: &[NodeInfo],
    ) -> Status {
        Status::success()
    }
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64;
    /// Map raw scores into 0..=MAX_NODE_SCORE.
    fn normalize(&self, _state: &CycleState, _scores: &mut [i64]) {}
}

/// Makes the decision durable.
pub trait BindPlugin: Send + Sync {
    fn bind<'a>(
        &'a self,
        client: &'a kube::Client,
        pod: &'a PodInfo,
        node: &'a str,
    ) -> BoxFuture<'a, Status>;
}

/// The plugins of one profile, ordered per extension point, with score weights.
#[derive(Clone, Default)]
pub struct Framework {
    pub pre_filters: Vec<(&'static str, Arc<dyn Plugin>)>,
    pub filters: Vec<(&'static str, Arc<dyn Plugin>)>,
    pub post_filters: Vec<(&'static str, Arc<dyn Plugin>)>,
    pub scores: Vec<(&'static str, Arc<dyn Plugin>, i64)>,
    pub binds: Vec<(&'static str, Arc<dyn Plugin>)>,
}

impl Framework {
    /// PreFilter of every plugin; the first rejection is returned with its plugin name.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[NodeInfo],
    ) -> Status {
        for (name, p) in &self.pre_filters {
            let Some(pf) = p.as_pre_filter() else {
                continue;
            };
            let s = pf.pre_filter(state, pod, nodes);
            match s.code {
                Code::Success => {}
                Code::Skip => state.skip_filter.push(name),
                _ => return s.with_plugin(name),
            }
        }
        for (i, (name, _)) in self.filters.iter().enumerate().take(64) {
            if state.skip_filter.contains(name) {
                state.skip_filter_mask |= 1 << i;
            }
        }
        Status::success()
    }

    /// Filter plugins in order, stopping at the first that rejects the node.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for (i, (name, p)) in self.filters.iter().enumerate() {
            if (i < 64 && state.skip_filter_mask & (1 << i) != 0)
                || (i >= 64 && state.skip_filter.contains(name))
            {
                continue;
            }
            let Some(f) = p.as_filter() else { continue };
            let s = f.filter(state, pod, node);
            if !s.is_success() {
                return s.with_plugin(name);
            }
        }
        Status::success()
    }

    /// Filters with the node's nominated pods of equal or higher priority counted as present.
    pub fn run_filters_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &[Arc<PodInfo>],
    ) -> Status {
        let extra: Vec<&Arc<PodInfo>> = nominated
            .iter()
            .filter(|n| n.priority >= pod.priority && n.key != pod.key)
            .collect();
        if extra.is_empty() {
            return self.run_filters(state, pod, node);
        }
        let mut st = state.clone();
        let mut ni = node.clone();
        for n in extra {
            ni.add_pod(n.clone());
            self.run_add_pod(&mut st, pod, n, &ni);
        }
        let s = self.run_filters(&st, pod, &ni);
        if !s.is_success() {
            return s;
        }
        self.run_filters(state, pod, node)
    }

    pub fn run_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
    ) {
        for (name, p) in &self.pre_filters {
            if state.skip_filter.contains(name) {
                continue;
            }
            if let Some(pf) = p.as_pre_filter() {
                pf.add_pod(state, pod, other, node);
            }
        }
    }

    pub fn run_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
    ) {
        for (name, p) in &self.pre_filters {
            if state.skip_filter.contains(name) {
                continue;
            }
            if let Some(pf) = p.as_pre_filter() {
                pf.remove_pod(state, pod, other, node);
            }
        }
    }

    /// Weighted sum of normalized scores for each feasible node.
    pub fn run_scores(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[&NodeInfo],
        all: &[NodeInfo],
    ) -> Vec<i64> {
        let mut total = vec![0i64; feasible.len()];
        let mut scores = vec![0i64; feasible.len()];
        for (name, p, weight) in &self.scores {
            let Some(sp) = p.as_score() else { continue };
            if sp.pre_score(state, pod, feasible, all).is_skip() {
                state.skip_score.push(name);
                continue;
            }
            for (s, n) in scores.iter_mut().zip(feasible) {
                *s = sp.score(state, pod, n);
            }
            sp.normalize(state, &mut scores);
            for (t, s) in total.iter_mut().zip(&scores) {
                *t += s * weight;
            }
        }
        total
    }

    pub fn run_post_filter(
        &self,
        input: &PostFilterInput<'_>,
    ) -> (Option<PostFilterResult>, Status) {
        let mut last = Status::unschedulable("");
        for (name, p) in &self.post_filters {
            let Some(pf) = p.as_post_filter() else {
                continue;
            };
            let (r, s) = pf.post_filter(input);
            if s.is_success() {
                return (r, s);
            }
            last = s.with_plugin(name);
        }
        (None, last)
    }

    /// The first bind plugin.
    pub fn binder(&self) -> Option<&dyn BindPlugin> {
        self.binds.iter().find_map(|(_, p)| p.as_bind())
    }

    /// Names of the plugins at every point, for logs and tests.
    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filters.iter().map(|(n, _)| *n).collect()
    }
}

/// Upstream's DefaultNormalizeScore: scale so the best node gets `MAX_NODE_SCORE`; `reverse`
/// flips it so the lowest raw score is best.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}
