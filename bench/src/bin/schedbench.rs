//! Scheduler benchmark, after upstream's SchedulingBasic/5000Nodes_10000Pods: 5000 hollow
//! nodes, 1000 pods scheduled first (not measured), then 10000 pods with requests measured from
//! the first create to the last binding seen on a pod watch.
//! Also measures the scheduling algorithm alone (same nodes and pods, in memory, no API).
//!
//! Usage: `cargo run --release -p skiff-bench --bin schedbench -- [--nodes 5000] [--pods 10000]
//! [--init-pods 1000] [--clients 64] [--creates-only]`
//! (build `skiff` in release first: `cargo build --release -p skiff`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

struct Server {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skiff_bin() -> PathBuf {
    std::env::var("SKIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| skiff_testkit::workspace_bin("skiff"))
}

async fn start_server() -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = skiff_testkit::free_port()?;
    let child = Command::new(skiff_bin())
        .args(["server", "--data-dir"])
        .arg(dir.path())
        .args([
            "--https-port",
            &port.to_string(),
            "--bind-address",
            "127.0.0.1",
        ])
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting skiff server (build it with cargo build --release -p skiff)")?;
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    let t0 = Instant::now();
    let probe = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()?;
    loop {
        if let Ok(r) = probe
            .get(format!("https://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status().is_success()
            && kubeconfig.exists()
        {
            break;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("server not ready in 30s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(Server {
        child,
        kubeconfig,
        _dir: dir,
    })
}

/// Upstream's node-default.yaml: 4 cpu, 32Gi, 110 pods.
fn hollow_node(i: usize) -> Node {
    let name = format!("hollow-{i}");
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
    .unwrap_or_default()
}

/// Upstream's pod-default.yaml: one container requesting 100m cpu and 500Mi.
fn bench_pod(i: usize) -> Pod {
    named_pod(format!("pod-{i}"))
}

fn named_pod(name: String) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"schedulerName": "default-scheduler", "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    }))
    .unwrap_or_default()
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Create pods with `clients` requests in flight; returns when the last create answered.
async fn create_pods(pods: Api<Pod>, names: Vec<String>, clients: usize) -> anyhow::Result<()> {
    futures::stream::iter(names)
        .map(|n| {
            let pods = pods.clone();
            async move { pods.create(&PostParams::default(), &named_pod(n)).await }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Follow the watch until every name in `want` has a nodeName.
async fn wait_bound(
    watch: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<Pod>>> + Unpin),
    want: &HashSet<String>,
) -> anyhow::Result<()> {
    let mut bound: HashSet<String> = HashSet::new();
    while bound.len() < want.len() {
        match tokio::time::timeout(Duration::from_secs(60), watch.try_next()).await {
            Ok(Ok(Some(WatchEvent::Modified(p) | WatchEvent::Added(p)))) => {
                let name = p.metadata.name.unwrap_or_default();
                if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
                    && want.contains(&name)
                {
                    bound.insert(name);
                }
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => bail!("watch ended with {} of {} bound", bound.len(), want.len()),
            Ok(Err(e)) => bail!("watch failed: {e}"),
            Err(_) => bail!(
                "no progress for 60s: {} of {} bound",
                bound.len(),
                want.len()
            ),
        }
    }
    Ok(())
}

/// The scheduling algorithm alone: filter, score, assume; no API.
fn algorithm_only(nodes: usize, pods: usize) -> anyhow::Result<f64> {
    use skiff_scheduler::{algorithm, cache::Cache, podinfo::PodInfo};
    let fw = skiff_scheduler::SchedulerConfig::default().framework()?;
    let mut cache = Cache::default();
    for i in 0..nodes {
        cache.upsert_node(hollow_node(i));
    }
    let infos: Vec<PodInfo> = (0..pods)
        .map(|i| PodInfo::new(bench_pod(i), &HashMap::new()))
        .collect();
    let mut algo = algorithm::Algorithm::new(None, 1);
    let t0 = Instant::now();
    for p in infos {
        let d = algorithm::schedule_one(&fw, &mut algo, &cache, &p)
            .map_err(|f| anyhow::anyhow!("{}", f.fit))?;
        cache.assume(Arc::new(p), &d.node);
    }
    Ok(pods as f64 / t0.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n_nodes = arg("--nodes", 5000);
    let n_pods = arg("--pods", 10000);
    let n_init = arg("--init-pods", 1000);
    let clients = arg("--clients", 64);

    let algo = algorithm_only(n_nodes, n_pods)?;
    println!("algorithm only ({n_nodes} nodes, {n_pods} pods): {algo:.0} pods/s");

    let server = start_server().await?;
    let kc = kube::config::Kubeconfig::read_from(&server.kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(config)?;

    let nodes: Api<Node> = Api::all(client.clone());
    let t = Instant::now();
    futures::stream::iter(0..n_nodes)
        .map(|i| {
            let nodes = nodes.clone();
            async move { nodes.create(&PostParams::default(), &hollow_node(i)).await }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<_>>()
        .await?;
    println!(
        "created {n_nodes} nodes in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    if std::env::args().any(|a| a == "--creates-only") {
        // The API server's create rate with no scheduler running, for comparison.
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let t0 = Instant::now();
        create_pods(
            pods,
            (0..n_pods).map(|i| format!("pod-{i}")).collect(),
            clients,
        )
        .await?;
        let e = t0.elapsed().as_secs_f64();
        println!(
            "creates only, no scheduler: {n_pods} pods in {e:.2}s = {:.0} creates/s",
            n_pods as f64 / e
        );
        return Ok(());
    }
    let sched = tokio::spawn(skiff_scheduler::run(
        client.clone(),
        skiff_scheduler::SchedulerConfig::default(),
    ));
    // Let the scheduler list the nodes.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rv = pods
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watch = pods
        .watch(&WatchParams::default().timeout(290), &rv)
        .await?
        .boxed();
    let init: Vec<String> = (0..n_init).map(|i| format!("init-{i}")).collect();
    create_pods(pods.clone(), init.clone(), clients).await?;
    wait_bound(&mut watch, &init.into_iter().collect()).await?;
    println!("{n_init} initial pods scheduled");

    let measured: Vec<String> = (0..n_pods).map(|i| format!("pod-{i}")).collect();
    let want: HashSet<String> = measured.iter().cloned().collect();
    let t0 = Instant::now();
    let creator = tokio::spawn({
        let pods = pods.clone();
        async move {
            create_pods(pods, measured, clients)
                .await
                .map(|_| t0.elapsed())
        }
    });
    wait_bound(&mut watch, &want).await?;
    let elapsed = t0.elapsed();
    let created = creator.await??;
    sched.abort();
    println!(
        "created {n_pods} pods in {:.2}s ({:.0} creates/s)",
        created.as_secs_f64(),
        n_pods as f64 / created.as_secs_f64()
    );
    println!(
        "end to end: {n_pods} pods bound in {:.2}s = {:.0} pods/s",
        elapsed.as_secs_f64(),
        n_pods as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
