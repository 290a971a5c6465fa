//! The scheduler's cache: every node with its pods (bound and assumed), updated incrementally
//! from watch events and from the scheduler's own decisions, plus nominated pods.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::nodeinfo::NodeInfo;
use crate::podinfo::PodInfo;

/// Pods nominated to run on a node after preemption, by node name.
pub type Nominator = HashMap<String, Vec<Arc<PodInfo>>>;

#[derive(Clone, Debug)]
struct PodState {
    node: String,
    assumed: bool,
}

/// Nodes and the pods on them.
#[derive(Default)]
pub struct Cache {
    pub nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, PodState>,
    /// Pods bound to nodes the cache has not seen (yet).
    orphans: HashMap<String, Vec<Arc<PodInfo>>>,
    pub nominated: Nominator,
    nominated_of: HashMap<String, String>,
    /// Preemption victims this scheduler deleted, until the cache sees them go: they count as
    /// terminating even before the API shows a deletion (a pod with a zero grace period
    /// never shows one; it is just gone when the watch catches up).
    evicting: HashSet<String>,
    summary: Summary,
    /// Claims, volumes and classes, for VolumeBinding.
    pub volumes: Arc<crate::volumes::Volumes>,
}

/// Cluster-wide counts kept incrementally, so plugins can skip whole-cluster scans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    pub nodes_with_images: usize,
}

impl Summary {
    /// Key under which the scheduling cycle stores the summary in its CycleState.
    pub const KEY: &'static str = "ClusterSummary";

    fn count(&mut self, n: &NodeInfo, sign: isize) {
        let add = |v: &mut usize, d: usize| *v = v.wrapping_add_signed(sign * d as isize);
        add(&mut self.pods_with_affinity, n.pods_with_affinity);
        add(
            &mut self.pods_with_required_anti_affinity,
            n.pods_with_required_anti_affinity,
        );
        add(
            &mut self.nodes_with_images,
            usize::from(!n.images.is_empty()),
        );
    }
}

impl Cache {
    pub fn summary(&self) -> Summary {
        self.summary
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.node_index(name).map(|i| &self.nodes[i])
    }

    pub fn upsert_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.index.get(&name) {
            Some(&i) => {
                self.summary.count(&self.nodes[i], -1);
                self.nodes[i].set_node(node);
                self.summary.count(&self.nodes[i], 1);
            }
            None => {
                let mut ni = NodeInfo::new(node);
                for p in self.orphans.remove(&name).unwrap_or_default() {
                    ni.add_pod(p);
                }
                self.summary.count(&ni, 1);
                self.index.insert(name, self.nodes.len());
                self.nodes.push(ni);
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        let ni = self.nodes.swap_remove(i);
        self.summary.count(&ni, -1);
        if i < self.nodes.len() {
            self.index.insert(self.nodes[i].name.clone(), i);
        }
        if !ni.pods.is_empty() {
            self.orphans.insert(name.to_string(), ni.pods);
        }
    }

    fn place(&mut self, p: Arc<PodInfo>, node: &str) {
        match self.index.get(node) {
            Some(&i) => {
                self.summary.count(&self.nodes[i], -1);
                self.nodes[i].add_pod(p);
                self.summary.count(&self.nodes[i], 1);
            }
            None => self.orphans.entry(node.to_string()).or_default().push(p),
        }
    }

    fn unplace(&mut self, key: &str, node: &str) {
        match self.index.get(node) {
            Some(&i) => {
                self.summary.count(&self.nodes[i], -1);
                self.nodes[i].remove_pod(key);
                self.summary.count(&self.nodes[i], 1);
            }
            None => {
                if let Some(v) = self.orphans.get_mut(node) {
                    v.retain(|p| p.key != key);
                }
            }
        }
    }

    /// A pod the API says is bound (or its update); replaces any assumed copy.
    pub fn add_or_update_pod(&mut self, p: Arc<PodInfo>) {
        let node = p.node_name().to_string();
        if let Some(old) = self.pods.remove(&p.key) {
            self.unplace(&p.key, &old.node);
        }
        if p.is_terminal() {
            self.evicting.remove(&p.key);
            return;
        }
        let p = if self.evicting.contains(&p.key) && !p.terminating {
            let mut q = (*p).clone();
            q.terminating = true;
            Arc::new(q)
        } else {
            p
        };
        self.pods.insert(
            p.key.clone(),
            PodState {
                node: node.clone(),
                assumed: false,
            },
        );
        self.place(p, &node);
    }

    pub fn remove_pod(&mut self, key: &str) {
        if let Some(old) = self.pods.remove(key) {
            self.unplace(key, &old.node);
        }
        self.evicting.remove(key);
        self.clear_nomination(key);
    }

    /// A bound pod this scheduler is deleting to make room (a preemption victim): it counts
    /// as terminating until the cache sees it removed.
    pub fn mark_evicting(&mut self, key: &str) {
        self.evicting.insert(key.to_string());
        let Some(state) = self.pods.get(key).filter(|s| !s.assumed) else {
            return;
        };
        let node = state.node.clone();
        let current = self
            .node(&node)
            .and_then(|n| n.pods.iter().find(|p| p.key == key).cloned());
        if let Some(p) = current.filter(|p| !p.terminating) {
            self.add_or_update_pod(p);
        }
    }

    /// Count the pod on `node` before its binding is confirmed.
    pub fn assume(&mut self, p: Arc<PodInfo>, node: &str) {
        self.clear_nomination(&p.key);
        if let Some(old) = self.pods.remove(&p.key) {
            self.unplace(&p.key, &old.node);
        }
        self.pods.insert(
            p.key.clone(),
            PodState {
                node: node.to_string(),
                assumed: true,
            },
        );
        self.place(p, node);
    }

    /// Undo an assumption whose binding failed.
    pub fn forget(&mut self, key: &str) {
        if self.pods.get(key).is_some_and(|s| s.assumed) {
            self.remove_pod(key);
        }
    }

    pub fn is_assumed_or_bound(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    pub fn nominate(&mut self, p: Arc<PodInfo>, node: &str) {
        self.clear_nomination(&p.key);
        self.nominated_of.insert(p.key.clone(), node.to_string());
        self.nominated.entry(node.to_string()).or_default().push(p);
    }

    pub fn clear_nomination(&mut self, key: &str) {
        if let Some(node) = self.nominated_of.remove(key)
            && let Some(v) = self.nominated.get_mut(&node)
        {
            v.retain(|p| p.key != key);
            if v.is_empty() {
                self.nominated.remove(&node);
            }
        }
    }

    /// Keys of bound pods (assumed ones excluded).
    pub fn bound_pod_keys(&self) -> Vec<String> {
        self.pods
            .iter()
            .filter(|(_, s)| !s.assumed)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
}
