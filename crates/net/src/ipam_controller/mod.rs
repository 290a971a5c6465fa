//! The node IPAM controller: gives every Node a `spec.podCIDR` (and `spec.podCIDRs`) from the cluster CIDR, never the same one to two nodes, keeping existing assignments across restarts.
//!
//! Assignments live only in the Nodes themselves: on every (re)list the controller rebuilds its
//! view from them before handing out anything, so a restart never double-assigns. A node's
//! podCIDR is set once (as upstream, where the field is immutable once set) and freed when the
//! Node is deleted.

mod allocator;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

pub use allocator::CidrAllocator;

/// Why the node IPAM controller cannot do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "node CIDR mask /{mask} does not fit the cluster CIDR {cluster} (it must be between the cluster's prefix and /30, and give at most 2^24 subnets)"
    )]
    InvalidMask { cluster: Ipv4Net, mask: u8 },
    #[error("{cidr} is not inside the cluster CIDR {cluster}")]
    NotInCluster { cidr: Ipv4Net, cluster: Ipv4Net },
    #[error("no free node CIDR left in {0}")]
    Exhausted(Ipv4Net),
}

/// Result of the allocator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How often nodes whose assignment failed are retried.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Runs the controller until the watch ends (it retries errors with backoff, so in practice
/// until the task is dropped).
pub async fn run(client: kube::Client, cluster_cidr: Ipv4Net, node_mask: u8) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client);
    let mut ctl = Controller::new(api.clone(), CidrAllocator::new(cluster_cidr, node_mask)?);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut retry = tokio::time::interval(RETRY_EVERY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => ctl.handle(ev).await,
                Some(Err(err)) => tracing::warn!(%err, "node watch failed; retrying"),
                None => anyhow::bail!("the node watch ended"),
            },
            _ = retry.tick() => ctl.retry().await,
        }
    }
}

/// The first IPv4 pod CIDR a node has, if any.
fn node_cidr(node: &Node) -> Option<Ipv4Net> {
    let spec = node.spec.as_ref()?;
    spec.pod_cidrs
        .iter()
        .flatten()
        .chain(spec.pod_cidr.iter())
        .find_map(|s| s.parse::<Ipv4Net>().ok())
}

fn node_name(node: &Node) -> Option<&str> {
    node.metadata.name.as_deref()
}

struct Controller {
    api: Api<Node>,
    alloc: CidrAllocator,
    /// What each node has (or was just given).
    assigned: BTreeMap<String, Ipv4Net>,
    /// Nodes listed so far in a relist; applied at `InitDone`.
    listing: Option<Vec<Node>>,
    /// Nodes whose assignment failed and must be tried again.
    retry: BTreeSet<String>,
    fresh: CidrAllocator,
}

impl Controller {
    fn new(api: Api<Node>, alloc: CidrAllocator) -> Self {
        Controller {
            api,
            fresh: alloc.clone(),
            alloc,
            assigned: BTreeMap::new(),
            listing: None,
            retry: BTreeSet::new(),
        }
    }

    async fn handle(&mut self, ev: Event<Node>) {
        match ev {
            Event::Init => self.listing = Some(Vec::new()),
            Event::InitApply(node) => self.listing.get_or_insert_with(Vec::new).push(node),
            Event::InitDone => {
                let nodes = self.listing.take().unwrap_or_default();
                self.rebuild(&nodes);
                for node in &nodes {
                    self.ensure(node).await;
                }
            }
            Event::Apply(node) => {
                self.observe(&node);
                self.ensure(&node).await;
            }
            Event::Delete(node) => {
                if let Some(name) = node_name(&node) {
                    self.retry.remove(name);
                    if let Some(cidr) = self.assigned.remove(name) {
                        tracing::info!(node = name, %cidr, "node deleted; its pod CIDR is free");
                        self.alloc.release(cidr);
                    }
                }
            }
        }
    }

    /// Forgets everything and takes the assignments the listed nodes carry.
    fn rebuild(&mut self, nodes: &[Node]) {
        self.alloc = self.fresh.clone();
        self.assigned.clear();
        for node in nodes {
            self.observe(node);
        }
    }

    /// Records the CIDR a node carries.
    fn observe(&mut self, node: &Node) {
        let (Some(name), Some(cidr)) = (node_name(node), node_cidr(node)) else {
            return;
        };
        if self.assigned.get(name) == Some(&cidr) {
            return;
        }
        if let Some(old) = self.assigned.remove(name) {
            self.alloc.release(old);
        }
        match self.alloc.occupy(cidr) {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(node = name, %cidr, "pod CIDR is used by another node too")
            }
            Err(err) => tracing::warn!(node = name, %err, "node has a pod CIDR outside ours"),
        }
        self.assigned.insert(name.to_string(), cidr);
        self.retry.remove(name);
    }

    /// Gives the node a CIDR if it has none.
    async fn ensure(&mut self, node: &Node) {
        let Some(name) = node_name(node) else { return };
        if node.metadata.deletion_timestamp.is_some()
            || node_cidr(node).is_some()
            || self.assigned.contains_key(name)
        {
            return;
        }
        let name = name.to_string();
        self.assign(name).await;
    }

    async fn assign(&mut self, name: String) {
        let cidr = match self.alloc.allocate() {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(node = %name, %err, "cannot assign a pod CIDR");
                self.retry.insert(name);
                return;
            }
        };
        let patch = serde_json::json!({
            "spec": { "podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()] }
        });
        match self
            .api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                tracing::info!(node = %name, %cidr, "assigned pod CIDR");
                self.assigned.insert(name.clone(), cidr);
                self.retry.remove(&name);
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.alloc.release(cidr);
                self.retry.remove(&name);
            }
            Err(err) => {
                tracing::warn!(node = %name, %err, "assigning the pod CIDR failed; will retry");
                self.alloc.release(cidr);
                self.retry.insert(name);
            }
        }
    }

    async fn retry(&mut self) {
        let names: Vec<String> = self.retry.iter().cloned().collect();
        for name in names {
            match self.api.get_opt(&name).await {
                Ok(Some(node)) => {
                    self.retry.remove(&name);
                    self.observe(&node);
                    if node_cidr(&node).is_none() && !self.assigned.contains_key(&name) {
                        self.assign(name).await;
                    }
                }
                Ok(None) => {
                    self.retry.remove(&name);
                }
                Err(err) => tracing::warn!(node = %name, %err, "reading node for retry failed"),
            }
        }
    }
}
