//! Lifecycle controllers: garbage collector, service accounts, node lifecycle with taint-based
//! eviction, pod garbage collection and pod disruption budgets, all clients of the API.

pub mod disruption;
pub mod error;
pub mod events;
pub mod gc;
pub mod informer;
pub mod node;
pub mod podgc;
pub mod serviceaccount;
pub mod taints;
pub mod time;

use std::time::Duration;

pub use error::{Error, Result};

/// Names of the controllers [`run`] starts, as upstream's controller manager calls them.
pub const CONTROLLERS: &[&str] = &[
    "garbage-collector-controller",
    "serviceaccount-controller",
    "node-lifecycle-controller",
    "taint-eviction-controller",
    "pod-garbage-collector-controller",
    "disruption-controller",
];

/// Timings and thresholds of the lifecycle controllers (upstream's defaults).
#[derive(Debug, Clone)]
pub struct Config {
    /// A node whose Lease or Ready heartbeat is older than this turns Ready=Unknown (40 s).
    pub node_monitor_grace_period: Duration,
    /// Grace for a node that never posted a Ready condition (60 s).
    pub node_startup_grace_period: Duration,
    /// How often node health is checked (5 s).
    pub node_monitor_period: Duration,
    /// Terminated pods kept before the oldest are deleted (12500).
    pub terminated_pod_gc_threshold: usize,
    /// How often the pod garbage collector runs (20 s).
    pub pod_gc_period: Duration,
    /// Full resync of the garbage collector and disruption controller besides watch events.
    pub resync_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_monitor_grace_period: Duration::from_secs(40),
            node_startup_grace_period: Duration::from_secs(60),
            node_monitor_period: Duration::from_secs(5),
            terminated_pod_gc_threshold: 12500,
            pod_gc_period: Duration::from_secs(20),
            resync_period: Duration::from_secs(30),
        }
    }
}

/// Run every lifecycle controller with upstream's timings, until one fails.
pub async fn run(client: kube::Client) -> anyhow::Result<()> {
    run_with(client, Config::default()).await
}

/// Run every lifecycle controller with `config`, until one fails.
pub async fn run_with(client: kube::Client, config: Config) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(gc::run(client.clone(), config.clone()));
    set.spawn(serviceaccount::run(client.clone(), config.clone()));
    set.spawn(node::run(client.clone(), config.clone()));
    set.spawn(podgc::run(client.clone(), config.clone()));
    set.spawn(disruption::run(client, config));
    match set.join_next().await {
        Some(Ok(Ok(()))) | None => Ok(()),
        Some(Ok(Err(e))) => Err(e.into()),
        Some(Err(e)) => Err(anyhow::anyhow!("lifecycle controller panicked: {e}")),
    }
}
