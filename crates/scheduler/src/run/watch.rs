//! Watches of pods, nodes and PriorityClasses feeding the scheduling loop.

use std::collections::HashSet;
use std::sync::mpsc::Sender;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use tokio::task::JoinHandle;

use super::Update;
use crate::volumes::StorageKind;

fn key_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    match &m.namespace {
        Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or("")),
        None => m.name.clone().unwrap_or_default(),
    }
}

/// Follow one kind, translating watch events into loop updates; a relist reports the keys
/// it saw so the loop can drop what vanished.
fn follow<K, F>(
    api: Api<K>,
    tx: Sender<Update>,
    apply: F,
    delete: fn(K) -> Update,
    resync: fn(HashSet<String>) -> Update,
) -> JoinHandle<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    F: Fn(K) -> Update + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = watcher::watcher(
            api,
            watcher::Config::default().any_semantic().page_size(5000),
        )
        .boxed();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(ev) = stream.next().await {
            let update = match ev {
                Ok(Event::Apply(o)) => apply(o),
                Ok(Event::Delete(o)) => delete(o),
                Ok(Event::Init) => {
                    seen.clear();
                    continue;
                }
                Ok(Event::InitApply(o)) => {
                    seen.insert(key_of(o.meta()));
                    apply(o)
                }
                Ok(Event::InitDone) => resync(std::mem::take(&mut seen)),
                Err(e) => {
                    tracing::debug!("scheduler watch: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            if tx.send(update).is_err() {
                return;
            }
        }
    })
}

/// Start the watches.
pub fn start(client: &kube::Client, tx: &Sender<Update>) -> Vec<JoinHandle<()>> {
    vec![
        follow(
            Api::<PriorityClass>::all(client.clone()),
            tx.clone(),
            |pc| Update::PriorityClass(pc.metadata.name.unwrap_or_default(), pc.value.unwrap_or(0)),
            |pc| Update::PriorityClassDeleted(pc.metadata.name.unwrap_or_default()),
            |_| Update::Noop,
        ),
        follow(
            Api::<Node>::all(client.clone()),
            tx.clone(),
            |n| Update::Node(Box::new(n)),
            |n| Update::NodeDeleted(n.metadata.name.unwrap_or_default()),
            Update::NodesResynced,
        ),
        follow(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            tx.clone(),
            |c| Update::Claim(Box::new(c)),
            |c| Update::ClaimDeleted(key_of(&c.metadata)),
            |seen| Update::StorageResynced(StorageKind::Claims, seen),
        ),
        follow(
            Api::<PersistentVolume>::all(client.clone()),
            tx.clone(),
            |v| Update::Volume(Box::new(v)),
            |v| Update::VolumeDeleted(key_of(&v.metadata)),
            |seen| Update::StorageResynced(StorageKind::Volumes, seen),
        ),
        follow(
            Api::<StorageClass>::all(client.clone()),
            tx.clone(),
            |c| Update::StorageClass(Box::new(c)),
            |c| Update::StorageClassDeleted(key_of(&c.metadata)),
            |seen| Update::StorageResynced(StorageKind::Classes, seen),
        ),
        follow(
            Api::<Pod>::all(client.clone()),
            tx.clone(),
            |p| Update::Pod(Box::new(p)),
            |p| Update::PodDeleted(key_of(&p.metadata)),
            Update::PodsResynced,
        ),
    ]
}
