//! NodePorts: a host port can be claimed by one pod per node.

use crate::framework::{CycleState, FilterPlugin, Plugin, Status};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodePorts";
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let clash = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|u| u.conflicts(want)));
        if clash {
            Status::unschedulable(REASON)
        } else {
            Status::success()
        }
    }
}
