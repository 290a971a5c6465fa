//! Watch caches of claims, volumes, classes and nodes, waking the controllers on change.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

/// Watches end (and are resumed) every minute rather than every five, so a cache that
/// somehow fell behind catches up soon.
fn watch_config() -> watcher::Config {
    watcher::Config::default().timeout(60)
}

/// Start a cache of every object of `K`; each change wakes `notify`.
pub fn start<K>(client: &kube::Client, notify: Arc<Notify>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let stream = reflector::reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), watch_config()).default_backoff(),
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            if let Err(e) = ev {
                tracing::debug!("storage watch: {e}");
            }
            notify.notify_one();
        }
    });
    reader
}

/// The four caches the storage controllers read.
#[derive(Clone)]
pub struct Caches {
    claims: Store<PersistentVolumeClaim>,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    nodes: Store<Node>,
}

fn all<K: Clone + kube::Resource<DynamicType = ()>>(s: &Store<K>) -> Vec<K> {
    s.state().iter().map(|o| (**o).clone()).collect()
}

fn by_name<K: Clone + kube::Resource<DynamicType = ()>>(s: &Store<K>) -> BTreeMap<String, K> {
    s.state()
        .iter()
        .filter_map(|o| o.meta().name.clone().map(|n| (n, (**o).clone())))
        .collect()
}

impl Caches {
    pub fn start(client: &kube::Client, notify: Arc<Notify>) -> Caches {
        Caches {
            claims: start(client, notify.clone()),
            volumes: start(client, notify.clone()),
            classes: start(client, notify.clone()),
            nodes: start(client, notify),
        }
    }

    /// Wait until every cache has seen its first list.
    pub async fn ready(&self) {
        let _ = self.claims.wait_until_ready().await;
        let _ = self.volumes.wait_until_ready().await;
        let _ = self.classes.wait_until_ready().await;
        let _ = self.nodes.wait_until_ready().await;
    }

    pub fn claims(&self) -> Vec<PersistentVolumeClaim> {
        all(&self.claims)
    }

    pub fn volumes(&self) -> Vec<PersistentVolume> {
        let mut v = all(&self.volumes);
        v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        v
    }

    pub fn classes(&self) -> BTreeMap<String, StorageClass> {
        by_name(&self.classes)
    }

    pub fn nodes(&self) -> BTreeMap<String, Node> {
        by_name(&self.nodes)
    }
}

/// Wait for a wake-up or `period`, whichever comes first, then let a burst settle.
pub async fn wait(notify: &Notify, period: std::time::Duration) {
    tokio::select! {
        () = notify.notified() => {}
        () = tokio::time::sleep(period) => {}
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}
