//! Shared harness of the controller integration tests: a real `skiff server`, the
//! controllers running in-process against it, a fake kubelet (readiness by the status
//! subresource) and a fake scheduler (pods/binding).
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_testkit::{Kubectl, SkiffServer};

/// A server with the workload controllers running.
pub struct Cluster {
    pub server: SkiffServer,
    pub client: Client,
    pub kubectl: Kubectl,
    controllers: tokio::task::JoinHandle<()>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.controllers.abort();
    }
}

/// Starts `skiff server` and the controllers named (empty: all).
pub async fn cluster(enabled: &'static [&'static str]) -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = SkiffServer::start().expect("skiff server (run `cargo build -p skiff` first)");
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = Client::try_from(config).expect("client");
    let kubectl = Kubectl::new("1.33", &server.kubeconfig());
    let c = client.clone();
    let controllers = tokio::spawn(async move {
        if let Err(e) = skiff_controllers::run(c, enabled).await {
            eprintln!("controllers stopped: {e}");
        }
    });
    Cluster {
        server,
        client,
        kubectl,
        controllers,
    }
}

/// Polls `f` until it returns Some, or panics after `secs` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pods of `ns` matching a label selector, not being deleted.
pub async fn live_pods(client: &Client, ns: &str, selector: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut v: Vec<Pod> = api
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    v.sort_by_key(|p| p.name_any());
    v
}

/// What a kubelet would report for a started, ready pod.
pub async fn mark_ready(client: &Client, p: &Pod) {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    set_status(
        client,
        p,
        json!({"phase": "Running", "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": "True", "lastTransitionTime": now}
        ]}),
    )
    .await;
}

/// Sets the pod's phase (e.g. Succeeded, Failed).
pub async fn set_phase(client: &Client, p: &Pod, phase: &str) {
    set_status(client, p, json!({"phase": phase})).await;
}

async fn set_status(client: &Client, p: &Pod, status: serde_json::Value) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &p.namespace().unwrap_or_default());
    let _ = api
        .patch_status(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await;
}

/// Whether the pod reports Ready.
pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Marks every live, not yet ready pod matching `selector` ready; returns how many.
pub async fn ready_all(client: &Client, ns: &str, selector: &str) -> usize {
    let mut n = 0;
    for p in live_pods(client, ns, selector).await {
        if !is_ready(&p) {
            mark_ready(client, &p).await;
            n += 1;
        }
    }
    n
}

/// Binds a pod to a node, as the scheduler would.
pub async fn bind(client: &Client, p: &Pod, node: &str) {
    let ns = p.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": p.name_any(), "namespace": ns},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}
    });
    let r: kube::Result<serde_json::Value> = api
        .create_subresource("binding", &p.name_any(), &PostParams::default(), &binding)
        .await;
    if let Err(e) = r {
        eprintln!("binding {}: {e}", p.name_any());
    }
}

/// Creates a Node object (no agent behind it), Ready.
pub async fn fake_node(client: &Client, name: &str, labels: serde_json::Value) {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {},
    }))
    .expect("node");
    let created = api
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
    let _ = api
        .patch_status(
            &created.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}
            ]}})),
        )
        .await;
}

/// Runs kubectl with `args`, asserting success, and returns stdout.
pub fn kubectl(c: &Cluster, args: &[&str]) -> String {
    c.kubectl.ok(args)
}

/// Runs kubectl with a manifest on stdin.
pub fn apply(c: &Cluster, yaml: &str) -> String {
    c.kubectl.ok_stdin(&["apply", "-f", "-"], Some(yaml))
}
