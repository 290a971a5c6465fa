//! The in-tree plugins, one per file, and the registry that names them.

mod affinity_terms;
pub mod balanced_allocation;
pub mod default_binder;
pub mod default_preemption;
pub mod helpers;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;
pub mod volume_binding;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::framework::Plugin;

/// Builds a plugin.
pub type Factory = fn() -> Arc<dyn Plugin>;

/// Every known plugin by name (upstream's in-tree registry, the subset Skiff implements).
pub fn registry() -> BTreeMap<&'static str, Factory> {
    let mut r: BTreeMap<&'static str, Factory> = BTreeMap::new();
    r.insert(node_name::NAME, || Arc::new(node_name::NodeName));
    r.insert(node_unschedulable::NAME, || {
        Arc::new(node_unschedulable::NodeUnschedulable)
    });
    r.insert(node_resources_fit::NAME, || {
        Arc::new(node_resources_fit::NodeResourcesFit)
    });
    r.insert(balanced_allocation::NAME, || {
        Arc::new(balanced_allocation::BalancedAllocation)
    });
    r.insert(node_affinity::NAME, || {
        Arc::new(node_affinity::NodeAffinity)
    });
    r.insert(taint_toleration::NAME, || {
        Arc::new(taint_toleration::TaintToleration)
    });
    r.insert(inter_pod_affinity::NAME, || {
        Arc::new(inter_pod_affinity::InterPodAffinity)
    });
    r.insert(pod_topology_spread::NAME, || {
        Arc::new(pod_topology_spread::PodTopologySpread)
    });
    r.insert(node_ports::NAME, || Arc::new(node_ports::NodePorts));
    r.insert(image_locality::NAME, || {
        Arc::new(image_locality::ImageLocality)
    });
    r.insert(default_preemption::NAME, || {
        Arc::new(default_preemption::DefaultPreemption)
    });
    r.insert(volume_binding::NAME, || {
        Arc::new(volume_binding::VolumeBinding)
    });
    r.insert(default_binder::NAME, || {
        Arc::new(default_binder::DefaultBinder)
    });
    r
}
