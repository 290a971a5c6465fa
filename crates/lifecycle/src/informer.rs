//! Watch caches of dynamic objects over any served kind, waking a controller on change.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use skiff_api::Resource;
use tokio::sync::Notify;

use crate::error::{Error, Result};

/// kube-rs's description of a served kind.
pub fn api_resource(res: &Resource) -> ApiResource {
    ApiResource {
        group: res.group.to_string(),
        version: res.version.to_string(),
        api_version: res.api_version(),
        kind: res.kind.to_string(),
        plural: res.plural.to_string(),
    }
}

/// The served kind at `group`/`version` named `plural`.
pub fn resource(group: &str, version: &str, plural: &str) -> Result<&'static Resource> {
    skiff_api::registry()
        .find(group, version, plural)
        .ok_or_else(|| Error::UnknownKind(format!("{plural}.{version}.{group}")))
}

/// The served kind of an `apiVersion` and `kind` (as in an ownerReference).
pub fn resource_of(api_version: &str, kind: &str) -> Option<&'static Resource> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    skiff_api::registry()
        .all()
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// A client for one kind, in `namespace` when the kind is namespaced.
pub fn api(client: &kube::Client, res: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(res);
    match (res.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

/// A cache of every object of one kind, kept current by a watch.
#[derive(Clone)]
pub struct Informer {
    pub res: &'static Resource,
    store: Store<DynamicObject>,
}

impl Informer {
    /// Start watching `res` cluster-wide; every change wakes `notify`.
    pub fn start(client: &kube::Client, res: &'static Resource, notify: Arc<Notify>) -> Informer {
        let ar = api_resource(res);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let writer = reflector::store::Writer::new(ar);
        let store = writer.as_reader();
        let stream = reflector::reflector(
            writer,
            watcher(api, watcher::Config::default()).default_backoff(),
        );
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                if let Err(e) = event {
                    tracing::debug!(kind = res.kind, "watch error: {e}");
                }
                notify.notify_one();
            }
        });
        Informer { res, store }
    }

    /// Wait until the first list has been seen.
    pub async fn ready(&self) {
        let _ = self.store.wait_until_ready().await;
    }

    /// Every cached object as JSON.
    pub fn values(&self) -> Vec<Value> {
        self.store
            .state()
            .iter()
            .filter_map(|o| serde_json::to_value(&**o).ok())
            .collect()
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
