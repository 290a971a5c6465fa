//! NodeName: a pod that names a node runs only there.

use crate::framework::{FilterPlugin, Plugin, Status};
use crate::{framework::CycleState, nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodeName";
pub const REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let want = pod.node_name();
        if want.is_empty() || want == node.name {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}
