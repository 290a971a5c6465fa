//! A node and the pods assigned to it, with running totals kept up to date incrementally.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::podinfo::{HostPort, PodInfo};
use crate::resources::Resource;

/// Image sizes on a node, keyed by every name the node reports.
pub type ImageSizes = HashMap<String, i64>;

/// One node's scheduling view.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    pub name: String,
    pub allocatable: Resource,
    /// Sum of the requests of pods on the node (assumed ones included).
    pub requested: Resource,
    /// Same with scoring defaults for unset cpu/memory: (milli cpu, memory).
    pub non_zero_requested: (i64, i64),
    pub pods: Vec<Arc<PodInfo>>,
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    pub used_ports: Vec<HostPort>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub images: Arc<ImageSizes>,
}

static NO_LABELS: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

impl NodeInfo {
    pub fn new(node: Node) -> NodeInfo {
        let mut n = NodeInfo {
            node: Arc::new(Node::default()),
            name: String::new(),
            allocatable: Resource::default(),
            requested: Resource::default(),
            non_zero_requested: (0, 0),
            pods: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            used_ports: Vec::new(),
            taints: Vec::new(),
            unschedulable: false,
            images: Arc::default(),
        };
        n.set_node(node);
        n
    }

    /// Replace the Node object, keeping the pods.
    pub fn set_node(&mut self, node: Node) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        let status = node.status.as_ref();
        self.allocatable = status
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
            .map(Resource::from_list)
            .unwrap_or_default();
        let spec = node.spec.as_ref();
        self.taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        let mut images = ImageSizes::new();
        for img in status.and_then(|s| s.images.as_ref()).into_iter().flatten() {
            for name in img.names.iter().flatten() {
                images.insert(name.clone(), img.size_bytes.unwrap_or(0));
            }
        }
        self.images = Arc::new(images);
        self.node = Arc::new(node);
    }

    pub fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        self.node.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    pub fn add_pod(&mut self, p: Arc<PodInfo>) {
        self.requested.add(&p.requests);
        self.non_zero_requested.0 += p.non_zero.0;
        self.non_zero_requested.1 += p.non_zero.1;
        self.used_ports.extend(p.host_ports.iter().cloned());
        if p.has_affinity {
            self.pods_with_affinity += 1;
        }
        if p.has_required_anti_affinity {
            self.pods_with_required_anti_affinity += 1;
        }
        self.pods.push(p);
    }

    /// Remove the pod with this key; returns it if it was there.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let i = self.pods.iter().position(|p| p.key == key)?;
        let p = self.pods.swap_remove(i);
        self.requested.sub(&p.requests);
        self.non_zero_requested.0 -= p.non_zero.0;
        self.non_zero_requested.1 -= p.non_zero.1;
        for hp in &p.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        if p.has_affinity {
            self.pods_with_affinity -= 1;
        }
        if p.has_required_anti_affinity {
            self.pods_with_required_anti_affinity -= 1;
        }
        Some(p)
    }
}
