//! The agent's main loop: node registration and heartbeats, the pod watch that feeds one
//! worker per pod, and the clean-up of runtime sandboxes whose pods are gone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use skiff_runtime::{ContainerFilter, ImageService, RuntimeService};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::Recorder;
use crate::pod::api::{KubeApi, PodApi};
use crate::pod::{Ctx, Worker};
use crate::{KubeletConfig, PodKey, PodNetwork, labels, node, volume};

struct Handle {
    tx: watch::Sender<Option<Pod>>,
    task: JoinHandle<()>,
}

/// Run the agent.
pub async fn run(
    config: KubeletConfig,
    client: kube::Client,
    runtime: Arc<dyn RuntimeService>,
    images: Arc<dyn ImageService>,
    network: Arc<dyn PodNetwork>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(config.data_dir.join("agent").join("pods"))?;
    let machine = node::machine(&config.data_dir);
    let node_uid = loop {
        match node::register(&client, &config).await {
            Ok(uid) => break uid,
            Err(e) => {
                tracing::warn!(error = %e, "registering node; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    tracing::info!(node = %config.node_name, "node registered");
    let (_, allocatable) = node::resources(&config, &machine);
    let heartbeat = tokio::spawn(heartbeats(
        client.clone(),
        config.clone(),
        machine.clone(),
        node_uid,
        images.clone(),
    ));
    let _guard = AbortOnDrop(heartbeat);

    let api: Arc<dyn PodApi> = Arc::new(KubeApi {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), config.node_name.clone()),
    });
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        runtime: runtime.clone(),
        images,
        network: network.clone(),
        api,
        allocatable: allocatable.into_iter().map(|(k, v)| (k, v.0)).collect(),
        restart_backoff: Mutex::default(),
        image_backoff: Mutex::default(),
    });

    let pods: Api<Pod> = Api::all(client.clone());
    let wc = watcher::Config::default().fields(&format!("spec.nodeName={}", config.node_name));
    let mut stream = watcher(pods, wc).boxed();
    let mut workers: HashMap<String, Handle> = HashMap::new();
    let mut listing: HashSet<String> = HashSet::new();
    let mut synced = false;
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            ev = stream.next() => {
                let Some(ev) = ev else { anyhow::bail!("pod watch ended") };
                match ev {
                    Ok(watcher::Event::Init) => listing.clear(),
                    Ok(watcher::Event::InitApply(p)) => {
                        if let Some(uid) = p.metadata.uid.clone() {
                            listing.insert(uid);
                        }
                        dispatch(&ctx, &mut workers, p);
                    }
                    Ok(watcher::Event::InitDone) => {
                        for (uid, h) in &workers {
                            if !listing.contains(uid) {
                                let _ = h.tx.send(None);
                            }
                        }
                        synced = true;
                        clean_orphans(&ctx, &workers).await;
                    }
                    Ok(watcher::Event::Apply(p)) => dispatch(&ctx, &mut workers, p),
                    Ok(watcher::Event::Delete(p)) => {
                        if let Some(h) = p.metadata.uid.as_ref().and_then(|u| workers.get(u)) {
                            let _ = h.tx.send(None);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pod watch");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            _ = tick.tick() => {
                workers.retain(|_, h| !h.task.is_finished());
                if synced {
                    clean_orphans(&ctx, &workers).await;
                }
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Dropping the agent (an aborted `run`) stops its workers too; containers keep running.
        self.task.abort();
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn dispatch(ctx: &Arc<Ctx>, workers: &mut HashMap<String, Handle>, pod: Pod) {
    let Some(uid) = pod.metadata.uid.clone() else {
        return;
    };
    if let Some(h) = workers.get(&uid)
        && !h.task.is_finished()
    {
        let _ = h.tx.send(Some(pod));
        return;
    }
    let (tx, rx) = watch::channel(Some(pod.clone()));
    let worker = Worker::new(ctx.clone(), pod);
    let task = tokio::spawn(worker.run(rx));
    workers.insert(uid, Handle { tx, task });
}

/// Remove sandboxes, containers and pod directories no pod of this node accounts for
/// (pods force-deleted while the agent was away, or before their worker noticed).
async fn clean_orphans(ctx: &Arc<Ctx>, workers: &HashMap<String, Handle>) {
    let rt = ctx.runtime.clone();
    let sandboxes = rt
        .list_pod_sandboxes(BTreeMap::from([(
            labels::MANAGED_BY.to_string(),
            labels::MANAGED_BY_VALUE.to_string(),
        )]))
        .await
        .unwrap_or_default();
    for sb in sandboxes {
        let uid = sb
            .config
            .labels
            .get(labels::POD_UID)
            .cloned()
            .unwrap_or_default();
        if workers.contains_key(&uid) {
            continue;
        }
        tracing::info!(pod = %sb.config.name, uid, "removing the sandbox of a pod that is gone");
        let containers = rt
            .list_containers(ContainerFilter {
                sandbox_id: Some(sb.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap_or_default();
        for c in &containers {
            let _ = rt.stop_container(&c.id, Duration::from_secs(2)).await;
            let _ = rt.remove_container(&c.id).await;
        }
        let _ = rt.stop_pod_sandbox(&sb.id).await;
        if !sb.config.host_network {
            let key = PodKey {
                namespace: sb.config.namespace.clone(),
                name: sb.config.name.clone(),
                uid: uid.clone(),
            };
            let _ = ctx.network.teardown(&key).await;
        }
        let _ = rt.remove_pod_sandbox(&sb.id).await;
    }
    let pods_dir = ctx.config.data_dir.join("agent").join("pods");
    for e in std::fs::read_dir(&pods_dir).into_iter().flatten().flatten() {
        let uid = e.file_name().to_string_lossy().to_string();
        if !workers.contains_key(&uid) {
            let _ = volume::teardown(&e.path());
        }
    }
}

async fn heartbeats(
    client: kube::Client,
    config: KubeletConfig,
    machine: node::Machine,
    node_uid: String,
    images: Arc<dyn ImageService>,
) {
    let mut tick = tokio::time::interval(node::HEARTBEAT);
    loop {
        tick.tick().await;
        if let Err(e) = node::renew_lease(&client, &config.node_name, &node_uid).await {
            tracing::warn!(error = %e, "renewing node lease");
        }
        let imgs = images.list_images().await.unwrap_or_default();
        if let Err(e) = node::post_status(&client, &config, &machine, &imgs).await {
            tracing::warn!(error = %e, "posting node status");
        }
    }
}
