//! Watch caches of dynamic objects over any served kind, waking a controller on change.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
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

/// A cached object, shared: passes over the cache clone pointers, never objects.
pub type Obj = Arc<Value>;

/// A cache of every object of one kind, kept current by a watch. Each object is converted
/// to JSON once, when its event arrives, so a pass over the cache costs no serialization.
#[derive(Clone)]
pub struct Informer {
    pub res: &'static Resource,
    objects: Arc<RwLock<HashMap<String, Obj>>>,
    ready: tokio::sync::watch::Receiver<bool>,
}

fn object_key(v: &Value) -> String {
    let m = &v["metadata"];
    format!(
        "{}/{}",
        m["namespace"].as_str().unwrap_or_default(),
        m["name"].as_str().unwrap_or_default()
    )
}

impl Informer {
    /// Start watching `res` cluster-wide; every change wakes `notify`.
    pub fn start(client: &kube::Client, res: &'static Resource, notify: Arc<Notify>) -> Informer {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(res));
        let objects: Arc<RwLock<HashMap<String, Obj>>> = Arc::default();
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let cache = objects.clone();
        tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            let mut stream = std::pin::pin!(stream);
            // A relist fills a fresh map that replaces the cache when complete.
            let mut relist: Option<HashMap<String, Obj>> = None;
            while let Some(event) = stream.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::debug!(kind = res.kind, "watch error: {e}");
                        continue;
                    }
                };
                let as_value = |o: &DynamicObject| serde_json::to_value(o).ok();
                match event {
                    watcher::Event::Init => relist = Some(HashMap::new()),
                    watcher::Event::InitApply(o) => {
                        if let (Some(map), Some(v)) = (relist.as_mut(), as_value(&o)) {
                            map.insert(object_key(&v), Arc::new(v));
                        }
                    }
                    watcher::Event::InitDone => {
                        if let Some(map) = relist.take() {
                            *cache.write().unwrap_or_else(|e| e.into_inner()) = map;
                        }
                        let _ = ready_tx.send(true);
                    }
                    watcher::Event::Apply(o) => {
                        if let Some(v) = as_value(&o) {
                            let mut map = cache.write().unwrap_or_else(|e| e.into_inner());
                            map.insert(object_key(&v), Arc::new(v));
                        }
                    }
                    watcher::Event::Delete(o) => {
                        if let Some(v) = as_value(&o) {
                            let mut map = cache.write().unwrap_or_else(|e| e.into_inner());
                            map.remove(&object_key(&v));
                        }
                    }
                }
                notify.notify_one();
            }
        });
        Informer {
            res,
            objects,
            ready,
        }
    }

    /// Wait until the first list has been seen.
    pub async fn ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Every cached object.
    pub fn values(&self) -> Vec<Obj> {
        self.objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
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
