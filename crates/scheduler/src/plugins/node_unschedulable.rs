//! NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint.

use k8s_openapi::api::core::v1::Taint;

use super::helpers::tolerated;
use crate::framework::{CycleState, FilterPlugin, Plugin, Status};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "NodeUnschedulable";
pub const REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: TAINT_KEY.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let tols = pod
            .spec()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        if tolerated(tols, &taint) {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}
