//! ImageLocality: favour nodes that already have the pod's images, weighted by how widely the
//! image is spread (so one node holding an image does not attract every pod).

use crate::framework::{CycleState, MAX_NODE_SCORE, Plugin, ScorePlugin, Status};
use crate::{nodeinfo::NodeInfo, podinfo::PodInfo};

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// An image reference without tag or digest gets `:latest`, as the runtime resolves it.
pub fn normalized_image(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') || last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Per image of the pod: how many of the nodes have it.
#[derive(Clone)]
struct Spread {
    images: Vec<(String, usize)>,
    total_nodes: usize,
}

const KEY: &str = "PreScoreImageLocality";

impl ScorePlugin for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[&NodeInfo],
        all: &[NodeInfo],
    ) -> Status {
        let Some(spec) = pod.spec() else {
            return Status::skip();
        };
        let names: Vec<String> = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .filter_map(|c| c.image.as_deref())
            .map(normalized_image)
            .collect();
        let none = match state.read::<crate::cache::Summary>(crate::cache::Summary::KEY) {
            Some(s) => s.nodes_with_images == 0,
            None => all.iter().all(|n| n.images.is_empty()),
        };
        if none {
            return Status::skip();
        }
        let images = names
            .into_iter()
            .map(|i| {
                let n = all.iter().filter(|n| n.images.contains_key(&i)).count();
                (i, n)
            })
            .collect();
        state.write(
            KEY,
            Spread {
                images,
                total_nodes: all.len(),
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<Spread>(KEY) else {
            return 0;
        };
        let containers = pod.spec().map(|s| s.containers.len()).unwrap_or(1).max(1) as i64;
        let sum: i64 = s
            .images
            .iter()
            .filter_map(|(img, n)| {
                node.images
                    .get(img)
                    .map(|size| (*size as f64 * (*n as f64 / s.total_nodes.max(1) as f64)) as i64)
            })
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * containers;
        let clamped = sum.clamp(MIN_THRESHOLD, max);
        MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
    }
}
