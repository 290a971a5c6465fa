//! ReplicaSet and ReplicationController controllers: keep exactly `replicas` pods matching the
//! selector, adopting orphans and releasing pods that stopped matching.

pub mod decide;
mod kinds;
#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::util::apply;
use crate::util::backoff::Backoff;
use crate::util::events::{EventType, Recorder};
use crate::util::expectations::{Expectations, Seen};
use crate::util::informer::{informer, key};
use crate::util::owner::{self, Claim, Owner};
use crate::util::runner;
use crate::util::{pod, selector};
use crate::{Error, Result};

pub use kinds::ReplicaOwner;

/// Shared state of one controller.
struct Ctx {
    client: Client,
    pods: Store<Pod>,
    recorder: Recorder,
    expectations: Arc<Expectations>,
    backoff: Backoff,
}

/// Runs the ReplicaSet controller.
pub async fn run(client: Client) -> Result<()> {
    run_kind::<ReplicaSet>(client, "replicaset-controller").await
}

/// Runs the ReplicationController controller (the same logic over the core/v1 kind).
pub async fn run_rc(client: Client) -> Result<()> {
    run_kind::<ReplicationController>(client, "replication-controller").await
}

async fn run_kind<K: ReplicaOwner>(client: Client, component: &str) -> Result<()> {
    let (pods, pod_stream) = informer(Api::<Pod>::all(client.clone()));
    let ctl = Controller::new(Api::<K>::all(client.clone()), watcher::Config::default());
    let owners = ctl.store();
    let expectations = Arc::new(Expectations::default());
    let seen = expectations.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), component),
        client,
        pods,
        expectations,
        backoff: Backoff::default(),
    });
    runner::drive(
        ctl.watches_stream(pod_stream, move |p: Pod| {
            if let Some(uid) = p.metadata.uid.as_deref() {
                seen.observe(uid);
            }
            pod_owners::<K>(&owners, &p)
        })
        .run(reconcile::<K>, error_policy::<K>, ctx),
        "replica",
    )
    .await;
    Ok(())
}

/// The owners a pod event concerns: its controller if of our kind, else (an orphan) every
/// owner in its namespace whose selector matches it.
fn pod_owners<K: ReplicaOwner>(owners: &Store<K>, p: &Pod) -> Vec<ObjectRef<K>> {
    let ns = p.namespace().unwrap_or_default();
    match owner::controller_of(&p.metadata) {
        Some(r) if r.kind == K::kind(&()) => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => vec![],
        None => owners
            .state()
            .iter()
            .filter(|o| o.namespace().as_deref() == Some(ns.as_str()))
            .filter(|o| selector::matches(&o.view().selector, p.metadata.labels.as_ref()))
            .map(|o| ObjectRef::from_obj(o.as_ref()))
            .collect(),
    }
}

fn error_policy<K: ReplicaOwner>(obj: Arc<K>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

/// The pods of `namespace` in the cache.
fn pods_in(store: &Store<Pod>, namespace: &str) -> Vec<Arc<Pod>> {
    store
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
        .collect()
}

/// How the cache sees a pod UID (for expectations).
pub(crate) fn seen_in(pods: &[Arc<Pod>]) -> impl Fn(&str) -> Seen + '_ {
    move |uid| match pods.iter().find(|p| p.metadata.uid.as_deref() == Some(uid)) {
        None => Seen::Absent,
        Some(p) if pod::is_terminating(p) => Seen::Deleting,
        Some(_) => Seen::Present,
    }
}

async fn reconcile<K: ReplicaOwner>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action> {
    ctx.pods
        .wait_until_ready()
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let k = key(obj.as_ref());
    let view = obj.view();
    let ns = view.namespace.clone();
    let api_pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let all = pods_in(&ctx.pods, &ns);
    let me = Owner::of(&K::api_version(&()), &K::kind(&()), obj.meta());
    let mut owned = Vec::new();
    for p in all.iter().filter(|p| pod::is_active(p)) {
        match owner::claim(&me, &view.selector, &p.metadata) {
            Claim::Owned => owned.push(p.as_ref().clone()),
            Claim::Adopt => {
                let patch = owner::adopt_patch(&me, &p.metadata);
                if let Some(adopted) = apply::merge_patch(&api_pods, &p.name_any(), &patch).await? {
                    owned.push(adopted);
                }
            }
            Claim::Release => {
                let patch = owner::release_patch(&me, &p.metadata);
                apply::merge_patch(&api_pods, &p.name_any(), &patch).await?;
            }
            Claim::Ignore => {}
        }
    }
    let met = ctx.expectations.satisfied(&k, seen_in(&all));
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let plan = decide::decide(&view, &owned, met, now);
    let mut failure = None;
    if plan.create > 0 {
        let controller_ref = me.controller_ref();
        let name = view.name.clone();
        let pods = (0..plan.create)
            .map(|_| {
                pod::from_template(
                    &view.template,
                    &ns,
                    Some(format!("{name}-")),
                    None,
                    controller_ref.clone(),
                )
            })
            .collect();
        let (created, err) = apply::create_pods(&api_pods, pods, &ctx.expectations, &k).await;
        for n in created {
            let msg = format!("Created pod: {n}");
            ctx.recorder
                .event(obj.as_ref(), EventType::Normal, "SuccessfulCreate", &msg)
                .await;
        }
        if let Some(e) = err {
            ctx.recorder
                .event(
                    obj.as_ref(),
                    EventType::Warning,
                    "FailedCreate",
                    &format!("Error creating: {e}"),
                )
                .await;
            failure = Some(e);
        }
    }
    for p in &plan.delete {
        let uid = p.metadata.uid.as_deref();
        apply::delete_with_uid(&api_pods, &p.name_any(), uid).await?;
        if let Some(u) = uid {
            ctx.expectations.deleted(&k, u);
        }
        ctx.recorder
            .event(
                obj.as_ref(),
                EventType::Normal,
                "SuccessfulDelete",
                &format!("Deleted pod: {}", p.name_any()),
            )
            .await;
    }
    if plan.status != view.status {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
        let body = serde_json::to_value(&plan.status)?;
        apply::patch_status(&api, &view.name, &body).await?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    ctx.backoff.reset(&k);
    Ok(match plan.requeue_after {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    })
}

/// Marker bounds every owner kind satisfies.
pub trait Kind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}
impl<T> Kind for T where
    T: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}
