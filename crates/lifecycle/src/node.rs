//! Node lifecycle: nodes whose Lease and Ready heartbeat stop turn Ready=Unknown, nodes get
//! taints from their conditions, and pods that do not tolerate a NoExecute taint are evicted.

pub mod health;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::Config;
use crate::error::{Result, is_not_found};
use crate::events::{self, Type};
use crate::informer::Obj;
use crate::informer::{Informer, api, resource, wait};
use crate::taints::{Eviction, desired_taints, eviction};
use health::Health;

/// Source of the node lifecycle controller's events, as upstream names it.
const COMPONENT: &str = "node-controller";

/// Namespace of node heartbeat Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Run the node lifecycle and taint eviction controllers until the process ends.
pub async fn run(client: kube::Client, config: Config) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let nodes_res = resource("", "v1", "nodes")?;
    let pods_res = resource("", "v1", "pods")?;
    let nodes = Informer::start(&client, nodes_res, notify.clone());
    let leases = Informer::start(
        &client,
        resource("coordination.k8s.io", "v1", "leases")?,
        notify.clone(),
    );
    let pods = Informer::start(&client, pods_res, notify.clone());
    nodes.ready().await;
    leases.ready().await;
    pods.ready().await;
    let mut state = State::default();
    loop {
        let now = Utc::now();
        let next = state
            .pass(
                &client,
                &config,
                &nodes.values(),
                &leases.values(),
                &pods.values(),
                now,
            )
            .await;
        let mut period = config.node_monitor_period;
        if let Some(at) = next
            && let Ok(d) = (at - Utc::now()).to_std()
        {
            period = period.min(d);
        }
        wait(&notify, period).await;
    }
}

/// What the controller remembers between passes.
#[derive(Default)]
struct State {
    health: HashMap<String, Health>,
    /// When a NoExecute taint without `timeAdded` was first seen, by node/key/effect.
    taint_seen: HashMap<String, DateTime<Utc>>,
}

impl State {
    /// One pass over every node and pod; returns when the next timed eviction is due.
    async fn pass(
        &mut self,
        client: &kube::Client,
        config: &Config,
        nodes: &[Obj],
        leases: &[Obj],
        pods: &[Obj],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut current: HashMap<String, Value> = HashMap::new();
        let leases: HashMap<&str, &Value> = leases
            .iter()
            .filter(|l| l["metadata"]["namespace"] == LEASE_NAMESPACE)
            .filter_map(|l| Some((l["metadata"]["name"].as_str()?, &**l)))
            .collect();
        for node in nodes {
            let Some(name) = node["metadata"]["name"].as_str() else {
                continue;
            };
            let lease = leases.get(name).copied();
            let h = health::observe(self.health.get(name), node, lease, now);
            let mut node = (**node).clone();
            if health::stale(&h, node_has_ready(&node), config, now)
                && let Some(conditions) = health::unknown_conditions(&node, now)
            {
                tracing::info!(node = name, "node stopped posting status: Ready=Unknown");
                match patch_node(
                    client,
                    name,
                    &node,
                    json!({"status": {"conditions": conditions}}),
                    true,
                )
                .await
                {
                    Ok(updated) => {
                        node = updated;
                        if let Ok(res) = resource("", "v1", "nodes") {
                            let message = format!("Node {name} status is now: NodeNotReady");
                            events::record(
                                client,
                                &node,
                                res,
                                Type::Normal,
                                "NodeNotReady",
                                &message,
                                COMPONENT,
                            )
                            .await;
                        }
                    }
                    Err(e) => tracing::debug!(node = name, "marking node unknown: {e}"),
                }
            }
            self.health.insert(name.to_string(), h);
            if let Some(taints) = desired_taints(&node, now) {
                match patch_node(
                    client,
                    name,
                    &node,
                    json!({"spec": {"taints": taints}}),
                    false,
                )
                .await
                {
                    Ok(updated) => node = updated,
                    Err(e) => tracing::debug!(node = name, "tainting node: {e}"),
                }
            }
            current.insert(name.to_string(), node);
        }
        self.health.retain(|n, _| current.contains_key(n));
        mark_pods_not_ready(client, &current, pods, now).await;
        self.evict(client, &current, pods, now).await
    }

    /// Delete pods that do not tolerate their node's NoExecute taints (now or when due).
    async fn evict(
        &mut self,
        client: &kube::Client,
        nodes: &HashMap<String, Value>,
        pods: &[Obj],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut seen = HashMap::new();
        let mut next: Option<DateTime<Utc>> = None;
        for pod in pods {
            let Some(node) = pod["spec"]["nodeName"].as_str().and_then(|n| nodes.get(n)) else {
                continue;
            };
            if pod["metadata"]
                .get("deletionTimestamp")
                .is_some_and(|t| !t.is_null())
            {
                continue;
            }
            let taints = node["spec"]["taints"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let node_name = node["metadata"]["name"].as_str().unwrap_or_default();
            let first_seen = |t: &Value| {
                let key = format!("{node_name}/{}/{}", t["key"], t["effect"]);
                *seen
                    .entry(key.clone())
                    .or_insert_with(|| self.taint_seen.get(&key).copied().unwrap_or(now))
            };
            let due = match eviction(pod, &taints, first_seen) {
                Eviction::Never => continue,
                Eviction::Now => true,
                Eviction::At(at) if at <= now => true,
                Eviction::At(at) => {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    false
                }
            };
            if due && let Err(e) = evict_pod(client, pod).await {
                tracing::debug!("taint eviction: {e}");
            }
        }
        self.taint_seen = seen;
        next
    }
}

/// Pods on nodes whose Ready is Unknown (no kubelet reporting) lose their Ready condition.
async fn mark_pods_not_ready(
    client: &kube::Client,
    nodes: &HashMap<String, Value>,
    pods: &[Obj],
    now: DateTime<Utc>,
) {
    for pod in pods {
        let Some(node) = pod["spec"]["nodeName"].as_str().and_then(|n| nodes.get(n)) else {
            continue;
        };
        if crate::taints::condition(node, "Ready") != Some("Unknown") {
            continue;
        }
        let Some(conditions) = health::pod_not_ready(pod, now) else {
            continue;
        };
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let ns = pod["metadata"]["namespace"].as_str();
        let Ok(res) = resource("", "v1", "pods") else {
            return;
        };
        let patch = json!({
            "metadata": { "resourceVersion": pod["metadata"]["resourceVersion"] },
            "status": { "conditions": conditions },
        });
        match api(client, res, ns)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {
                events::record(
                    client,
                    pod,
                    res,
                    Type::Warning,
                    "NodeNotReady",
                    "Node is not ready",
                    COMPONENT,
                )
                .await;
            }
            Err(e) => tracing::debug!(pod = name, "marking pod not ready: {e}"),
        }
    }
}

fn node_has_ready(node: &Value) -> bool {
    crate::taints::condition(node, "Ready").is_some()
}

/// Merge-patch a node (or its status), guarded by the resourceVersion we decided on.
async fn patch_node(
    client: &kube::Client,
    name: &str,
    node: &Value,
    mut patch: Value,
    status: bool,
) -> Result<Value> {
    let nodes = api(client, resource("", "v1", "nodes")?, None);
    patch["metadata"] = json!({ "resourceVersion": node["metadata"]["resourceVersion"] });
    let pp = PatchParams::default();
    let updated = if status {
        nodes.patch_status(name, &pp, &Patch::Merge(patch)).await?
    } else {
        nodes.patch(name, &pp, &Patch::Merge(patch)).await?
    };
    serde_json::to_value(updated).map_err(|e| crate::Error::Invalid(e.to_string()))
}

/// Mark the pod DisruptionTarget (DeletionByTaintManager) and delete it.
async fn evict_pod(client: &kube::Client, pod: &Value) -> Result<()> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let ns = pod["metadata"]["namespace"].as_str();
    tracing::info!(pod = name, "taint manager evicts the pod");
    let res = resource("", "v1", "pods")?;
    let message = format!("Marking for deletion Pod {}/{name}", ns.unwrap_or_default());
    events::record(
        client,
        pod,
        res,
        Type::Normal,
        "TaintManagerEviction",
        &message,
        "taint-eviction-controller",
    )
    .await;
    let pods = api(client, res, ns);
    let condition = json!({
        "type": "DisruptionTarget", "status": "True",
        "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint",
        "lastTransitionTime": crate::time::format(Utc::now()),
    });
    let patch = json!({"status": {"conditions": [condition]}});
    let _ = pods
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await;
    match pods.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
