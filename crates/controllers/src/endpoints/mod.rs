//! Endpoints and EndpointSlice controllers: for every Service with a selector, the addresses
//! of the pods it selects, as kube-controller-manager's `endpoints-controller` and
//! `endpointslice-controller` publish them. Services without a selector are left alone.
//!
//! Both share one driver: reflector caches of Services, Pods and the objects the controller
//! writes; every event turns into Service keys (a pod event into every Service with a selector
//! in its namespace) on one queue, drained by one worker, so a key is never synced twice at
//! once. A sync reads the caches, computes the wanted objects with the pure functions of
//! `legacy.rs` and `slices.rs`, and writes only the difference.

pub mod legacy;
pub mod mirror;
pub mod pods;
pub mod slices;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::util::backoff::Backoff;
use crate::util::informer::informer;
use crate::{Error, Result};

/// Since when, and which (name, resourceVersion) writes the cache should show.
type Written = (Instant, Vec<(String, u64)>);

/// The caches a sync reads.
struct Caches<I: Resource<DynamicType = ()> + 'static, O: Resource<DynamicType = ()> + 'static> {
    client: Client,
    services: Store<Service>,
    /// Pods for the Endpoints and EndpointSlice controllers, Endpoints for the mirroring.
    inputs: Store<I>,
    own: Store<O>,
    /// Per Service key: the slices we created or updated (name, resourceVersion) that the
    /// cache has not shown yet, and since when; a sync waits for them, or it would act on a
    /// stale view and create duplicates.
    written: Mutex<HashMap<String, Written>>,
}

impl<I, O> Caches<I, O>
where
    I: Resource<DynamicType = ()> + Clone + 'static,
    O: Resource<DynamicType = ()> + Clone + 'static,
{
    fn service(&self, ns: &str, name: &str) -> Option<Arc<Service>> {
        self.services
            .get(&kube::runtime::reflector::ObjectRef::new(name).within(ns))
    }

    fn inputs_in(&self, ns: &str) -> Vec<Arc<I>> {
        self.inputs
            .state()
            .into_iter()
            .filter(|p| p.meta().namespace.as_deref() == Some(ns))
            .collect()
    }
}

/// Runs the Endpoints controller.
pub async fn run_endpoints(client: Client) -> Result<()> {
    drive::<Pod, Endpoints, _, _>(
        client,
        pod_services,
        watcher::Config::default(),
        |e| e.metadata.name.clone(),
        sync_endpoints,
    )
    .await
}

/// Runs the EndpointSlice controller.
pub async fn run_slices(client: Client) -> Result<()> {
    drive::<Pod, EndpointSlice, _, _>(
        client,
        pod_services,
        watcher::Config::default().labels(&format!(
            "{}={}",
            slices::MANAGED_BY,
            slices::CONTROLLER
        )),
        |s| s.labels().get(slices::SERVICE_NAME).cloned(),
        sync_slices,
    )
    .await
}

/// Runs the EndpointSlice mirroring controller.
pub async fn run_mirroring(client: Client) -> Result<()> {
    drive::<Endpoints, EndpointSlice, _, _>(
        client,
        |_, e| vec![key_of(e)],
        watcher::Config::default().labels(&format!(
            "{}={}",
            slices::MANAGED_BY,
            mirror::CONTROLLER
        )),
        |s| s.labels().get(slices::SERVICE_NAME).cloned(),
        sync_mirror,
    )
    .await
}

fn key_of<K: Resource>(o: &K) -> String {
    format!(
        "{}/{}",
        o.meta().namespace.as_deref().unwrap_or_default(),
        o.meta().name.as_deref().unwrap_or_default()
    )
}

/// A pod event concerns every Service with a selector in its namespace (its labels may have
/// stopped matching, so matching now is not enough).
fn pod_services(services: &Store<Service>, p: &Pod) -> Vec<String> {
    let ns = p.namespace().unwrap_or_default();
    services
        .state()
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|s| pods::selector(s).is_some())
        .map(|s| format!("{ns}/{}", s.name_any()))
        .collect()
}

/// The shared event loop: caches, key queue, one worker.
async fn drive<I, O, S, F>(
    client: Client,
    input_keys: fn(&Store<Service>, &I) -> Vec<String>,
    own_config: watcher::Config,
    service_of: S,
    sync: fn(Arc<Caches<I, O>>, String, String) -> F,
) -> Result<()>
where
    I: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    S: Fn(&O) -> Option<String> + Send + 'static,
    F: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let (services, svc_stream) = informer(Api::<Service>::all(client.clone()));
    let (inputs, input_stream) = informer(Api::<I>::all(client.clone()));
    let (own, own_stream) = informer_with(Api::<O>::all(client.clone()), own_config);
    let caches = Arc::new(Caches {
        client,
        services: services.clone(),
        inputs,
        own,
        written: Mutex::default(),
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let svc_keys = svc_stream.filter_map(|r| async move {
        r.ok().map(|s| {
            vec![format!(
                "{}/{}",
                s.namespace().unwrap_or_default(),
                s.name_any()
            )]
        })
    });
    let store = services.clone();
    let input_keys = input_stream.filter_map(move |r| {
        let keys = r.ok().map(|i| input_keys(&store, &i));
        async move { keys }
    });
    let own_keys = own_stream.filter_map(move |r| {
        let key = r.ok().and_then(|o| {
            let ns = o.meta().namespace.clone().unwrap_or_default();
            service_of(&o).map(|n| vec![format!("{ns}/{n}")])
        });
        async move { key }
    });
    let feeder_tx = tx.clone();
    let mut events =
        futures::stream::select_all([svc_keys.boxed(), input_keys.boxed(), own_keys.boxed()]);
    tokio::spawn(async move {
        while let Some(keys) = events.next().await {
            for k in keys {
                if feeder_tx.send(k).is_err() {
                    return;
                }
            }
        }
    });
    for ready in [
        caches.services.wait_until_ready().await,
        caches.inputs.wait_until_ready().await,
        caches.own.wait_until_ready().await,
    ] {
        ready.map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let backoff = Arc::new(Backoff::default());
    while let Some(first) = rx.recv().await {
        let mut batch = BTreeSet::from([first]);
        while let Ok(k) = rx.try_recv() {
            batch.insert(k);
        }
        for key in batch {
            let Some((ns, name)) = key.split_once('/') else {
                continue;
            };
            match sync(caches.clone(), ns.to_string(), name.to_string()).await {
                Ok(()) => backoff.reset(&key),
                Err(e) => {
                    let delay = backoff.next(&key);
                    tracing::debug!(%key, error = %e, ?delay, "endpoints sync failed, requeued");
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = tx.send(key);
                    });
                }
            }
        }
    }
    Ok(())
}

/// Like [`informer`], with a watcher configuration (e.g. a label selector).
fn informer_with<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    use kube::runtime::WatchStreamExt;
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = kube::runtime::reflector::reflector(writer, watcher(api, config))
        .default_backoff()
        .touched_objects();
    (reader, stream)
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

async fn sync_endpoints(c: Arc<Caches<Pod, Endpoints>>, ns: String, name: String) -> Result<()> {
    let api: Api<Endpoints> = Api::namespaced(c.client.clone(), &ns);
    let existing = c
        .own
        .get(&kube::runtime::reflector::ObjectRef::new(&name).within(&ns));
    let Some(svc) = c.service(&ns, &name) else {
        // The Service is gone: remove the Endpoints we wrote for it (never a user's own).
        if let Some(e) = existing
            && e.labels().contains_key(legacy::SKIP_MIRROR)
        {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(());
    };
    if pods::selector(&svc).is_none() {
        return Ok(());
    }
    let pods = c.inputs_in(&ns);
    let refs: Vec<&Pod> = pods.iter().map(AsRef::as_ref).collect();
    let want = legacy::desired(&svc, &refs);
    match existing {
        None => match api.create(&PostParams::default(), &want).await {
            Ok(_) => Ok(()),
            // Our cache is behind; the next event brings the object and a fresh sync.
            Err(e) if is_status(&e, 409) => Err(e.into()),
            Err(e) => Err(e.into()),
        },
        Some(old) if legacy::needs_update(&old, &want) => {
            let mut next = (*old).clone();
            next.subsets = want.subsets;
            next.metadata.labels = want.metadata.labels;
            for (k, v) in want.metadata.annotations.into_iter().flatten() {
                next.metadata
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(k, v);
            }
            api.replace(&name, &PostParams::default(), &next).await?;
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

async fn sync_slices(c: Arc<Caches<Pod, EndpointSlice>>, ns: String, name: String) -> Result<()> {
    if !cache_caught_up(&c, &format!("{ns}/{name}"), &ns) {
        return Err(Error::Invalid(
            "waiting for the cache to show our last writes".into(),
        ));
    }
    let api: Api<EndpointSlice> = Api::namespaced(c.client.clone(), &ns);
    let mine = slices_of(&c, &ns, &name);
    let svc = c
        .service(&ns, &name)
        .filter(|s| pods::selector(s).is_some());
    let Some(svc) = svc else {
        // Gone, or no selector any more: our slices go.
        for s in &mine {
            delete_slice(&api, &s.name_any()).await?;
        }
        return Ok(());
    };
    let pods = c.inputs_in(&ns);
    let refs: Vec<&Pod> = pods.iter().map(AsRef::as_ref).collect();
    let existing: Vec<&EndpointSlice> = mine.iter().map(AsRef::as_ref).collect();
    let plan = slices::plan(&svc, &refs, &existing);
    apply_slice_plan(&c, &api, &ns, &name, plan).await
}

/// Our slices of Service `ns/name` in the cache.
fn slices_of<I: Resource<DynamicType = ()> + Clone>(
    c: &Caches<I, EndpointSlice>,
    ns: &str,
    name: &str,
) -> Vec<Arc<EndpointSlice>> {
    c.own
        .state()
        .into_iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
        .filter(|s| s.labels().get(slices::SERVICE_NAME).map(String::as_str) == Some(name))
        .collect()
}

async fn sync_mirror(
    c: Arc<Caches<Endpoints, EndpointSlice>>,
    ns: String,
    name: String,
) -> Result<()> {
    if !cache_caught_up(&c, &format!("{ns}/{name}"), &ns) {
        return Err(Error::Invalid(
            "waiting for the cache to show our last writes".into(),
        ));
    }
    let api: Api<EndpointSlice> = Api::namespaced(c.client.clone(), &ns);
    let mine = slices_of(&c, &ns, &name);
    let ep = c
        .inputs
        .get(&kube::runtime::reflector::ObjectRef::new(&name).within(&ns));
    let svc = c.service(&ns, &name);
    let Some(ep) = ep.filter(|e| mirror::should_mirror(svc.as_deref(), e)) else {
        for s in &mine {
            delete_slice(&api, &s.name_any()).await?;
        }
        return Ok(());
    };
    let existing: Vec<&EndpointSlice> = mine.iter().map(AsRef::as_ref).collect();
    let plan = mirror::plan(&ep, &existing);
    apply_slice_plan(&c, &api, &ns, &name, plan).await
}

/// Writes a plan: creates and updates first, deletes last (readers never see fewer endpoints
/// than they should); remembers what it wrote so the next sync waits for the cache.
async fn apply_slice_plan<I: Resource<DynamicType = ()> + Clone>(
    c: &Caches<I, EndpointSlice>,
    api: &Api<EndpointSlice>,
    ns: &str,
    name: &str,
    plan: slices::Plan,
) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let mut written = Vec::new();
    let mut record = |s: &EndpointSlice| {
        if let Some(rv) = s.resource_version().and_then(|v| v.parse::<u64>().ok()) {
            written.push((s.name_any(), rv));
        }
    };
    let mut result = Ok(());
    for s in &plan.create {
        match api.create(&PostParams::default(), s).await {
            Ok(done) => record(&done),
            Err(e) => result = Err(e.into()),
        }
    }
    for s in &plan.update {
        match api.replace(&s.name_any(), &PostParams::default(), s).await {
            Ok(done) => record(&done),
            Err(e) => result = Err(e.into()),
        }
    }
    if result.is_ok() {
        for n in &plan.delete {
            delete_slice(api, n).await?;
        }
    }
    if !written.is_empty()
        && let Ok(mut w) = c.written.lock()
    {
        w.insert(format!("{ns}/{name}"), (Instant::now(), written));
    }
    result
}

/// How long a sync waits for the cache to show our own writes before it goes ahead anyway.
const CACHE_WAIT: Duration = Duration::from_secs(5);

/// Whether the cache shows every slice this controller last wrote for `key`.
fn cache_caught_up<I: Resource<DynamicType = ()> + Clone>(
    c: &Caches<I, EndpointSlice>,
    key: &str,
    ns: &str,
) -> bool {
    let Ok(mut w) = c.written.lock() else {
        return true;
    };
    let Some((since, list)) = w.get(key) else {
        return true;
    };
    let seen = list.iter().all(|(n, rv)| {
        c.own
            .get(&kube::runtime::reflector::ObjectRef::new(n).within(ns))
            .and_then(|s| s.resource_version().and_then(|v| v.parse::<u64>().ok()))
            .is_some_and(|have| have >= *rv)
    });
    if seen || since.elapsed() > CACHE_WAIT {
        w.remove(key);
        return true;
    }
    false
}

async fn delete_slice(api: &Api<EndpointSlice>, name: &str) -> Result<()> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
