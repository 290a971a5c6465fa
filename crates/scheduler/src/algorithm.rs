//! One scheduling cycle: PreFilter, Filter over a (sampled) rotating window of nodes, Score,
//! and selection of the best node, ties broken at random; PostFilter when nothing fits.

use crate::cache::Cache;
use crate::fit_error::FitError;
use crate::framework::{CycleState, Framework, PostFilterInput, PostFilterResult, Status};
use crate::nodeinfo::NodeInfo;
use crate::podinfo::PodInfo;

const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// How many feasible nodes to look for before scoring (upstream's numFeasibleNodesToFind):
/// all of them in small clusters, else `percentage` (adaptive `50 - nodes/125`, at least 5%)
/// of the nodes but never fewer than 100.
pub fn num_feasible_nodes_to_find(percentage: Option<u32>, nodes: usize) -> usize {
    if nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return nodes;
    }
    let pct = match percentage {
        Some(p) if p > 0 => p as usize,
        _ => 50usize
            .saturating_sub(nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE),
    };
    if pct >= 100 {
        return nodes;
    }
    (nodes * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Rotation and randomness carried from one cycle to the next.
#[derive(Clone, Debug)]
pub struct Algorithm {
    pub percentage_of_nodes_to_score: Option<u32>,
    pub next_start_node_index: usize,
    rng: u64,
}

impl Algorithm {
    pub fn new(percentage_of_nodes_to_score: Option<u32>, seed: u64) -> Algorithm {
        Algorithm {
            percentage_of_nodes_to_score,
            next_start_node_index: 0,
            rng: seed | 1,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A successful decision.
#[derive(Clone, Debug)]
pub struct Decision {
    pub node: String,
    pub evaluated: usize,
    pub feasible: usize,
}

/// A failed cycle: why, the preemption outcome, and whether it was an internal error.
#[derive(Debug)]
pub struct Failure {
    pub fit: FitError,
    pub post_filter: Option<PostFilterResult>,
    pub error: Option<String>,
}

/// Schedule one pod against the cache.
pub fn schedule_one(
    fw: &Framework,
    algo: &mut Algorithm,
    cache: &Cache,
    pod: &PodInfo,
) -> Result<Decision, Box<Failure>> {
    let nodes = &cache.nodes;
    let mut state = CycleState::default();
    state.write(crate::cache::Summary::KEY, cache.summary());
    state.write(crate::volumes::Volumes::KEY, cache.volumes.clone());
    if nodes.is_empty() {
        return Err(Box::new(Failure {
            fit: FitError::default(),
            post_filter: None,
            error: None,
        }));
    }
    let pre = fw.run_pre_filter(&mut state, pod, nodes);
    if !pre.is_success() {
        let error = (pre.code == crate::framework::Code::Error).then(|| pre.message());
        let fit = FitError {
            num_all_nodes: nodes.len(),
            statuses: nodes
                .iter()
                .map(|n| (n.name.clone(), pre.clone()))
                .collect(),
            pre_filter_msg: Some(pre.message()),
            post_filter_msg: None,
        };
        let statuses: Vec<(usize, Status)> = (0..nodes.len()).map(|i| (i, pre.clone())).collect();
        return Err(post_filter(fw, &state, cache, pod, fit, &statuses, error));
    }
    let want = num_feasible_nodes_to_find(algo.percentage_of_nodes_to_score, nodes.len());
    let n = nodes.len();
    let start = algo.next_start_node_index % n;
    let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(want.min(n));
    let mut statuses: Vec<(usize, Status)> = Vec::new();
    let mut processed = 0;
    for i in 0..n {
        let idx = (start + i) % n;
        let node = &nodes[idx];
        processed += 1;
        let nominated = if cache.nominated.is_empty() {
            None
        } else {
            cache.nominated.get(&node.name)
        };
        let s = match nominated {
            Some(nom) => fw.run_filters_with_nominated(&state, pod, node, nom),
            None => fw.run_filters(&state, pod, node),
        };
        if s.is_success() {
            feasible.push(node);
            if feasible.len() >= want {
                break;
            }
        } else if s.code == crate::framework::Code::Error {
            let fit = FitError {
                num_all_nodes: n,
                ..Default::default()
            };
            return Err(Box::new(Failure {
                fit,
                post_filter: None,
                error: Some(s.message()),
            }));
        } else {
            statuses.push((idx, s));
        }
    }
    algo.next_start_node_index = (start + processed) % n;
    if feasible.is_empty() {
        let fit = FitError {
            num_all_nodes: n,
            statuses: statuses
                .iter()
                .map(|(i, s)| (nodes[*i].name.clone(), s.clone()))
                .collect(),
            pre_filter_msg: None,
            post_filter_msg: None,
        };
        return Err(post_filter(fw, &state, cache, pod, fit, &statuses, None));
    }
    let evaluated = processed;
    if feasible.len() == 1 {
        return Ok(Decision {
            node: feasible[0].name.clone(),
            evaluated,
            feasible: 1,
        });
    }
    let scores = fw.run_scores(&mut state, pod, &feasible, nodes);
    let best = select_host(algo, &scores);
    Ok(Decision {
        node: feasible[best].name.clone(),
        evaluated,
        feasible: feasible.len(),
    })
}

/// Index of the highest score; ties broken uniformly at random (reservoir sampling).
pub fn select_host(algo: &mut Algorithm, scores: &[i64]) -> usize {
    let mut best = 0;
    let mut ties = 1u64;
    for (i, s) in scores.iter().enumerate().skip(1) {
        if *s > scores[best] {
            best = i;
            ties = 1;
        } else if *s == scores[best] {
            ties += 1;
            if algo.random().is_multiple_of(ties) {
                best = i;
            }
        }
    }
    best
}

fn post_filter(
    fw: &Framework,
    state: &CycleState,
    cache: &Cache,
    pod: &PodInfo,
    mut fit: FitError,
    statuses: &[(usize, Status)],
    error: Option<String>,
) -> Box<Failure> {
    if error.is_some() {
        return Box::new(Failure {
            fit,
            post_filter: None,
            error,
        });
    }
    let input = PostFilterInput {
        framework: fw,
        state,
        pod,
        nodes: &cache.nodes,
        statuses,
        nominated: &cache.nominated,
    };
    let (result, status) = fw.run_post_filter(&input);
    if !status.is_success() && !status.message().is_empty() {
        fit.post_filter_msg = Some(status.message());
    }
    Box::new(Failure {
        fit,
        post_filter: result.filter(|r| !r.nominated_node.is_empty()),
        error: None,
    })
}
