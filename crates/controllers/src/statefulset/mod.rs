//! StatefulSet controller: pods with stable names and storage, created in order and deleted
//! in reverse (or in parallel), updated by revision from the highest ordinal down to the
//! partition.

pub mod decide;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::util::apply;
use crate::util::backoff::Backoff;
use crate::util::events::{EventType, Recorder};
use crate::util::informer::{informer, key};
use crate::util::owner::{self, Claim, Owner};
use crate::util::runner;
use crate::{Error, Result};
use decide::Input;

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    revisions: Store<ControllerRevision>,
    recorder: Recorder,
    backoff: Backoff,
}

/// Runs the StatefulSet controller.
pub async fn run(client: Client) -> Result<()> {
    let (pods, pod_stream) = informer(Api::<Pod>::all(client.clone()));
    let (revisions, rev_stream) = informer(Api::<ControllerRevision>::all(client.clone()));
    let ctl = Controller::new(
        Api::<StatefulSet>::all(client.clone()),
        watcher::Config::default(),
    );
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "statefulset-controller"),
        client,
        pods,
        revisions,
        backoff: Backoff::default(),
    });
    runner::drive(
        ctl.watches_stream(pod_stream, |p: Pod| {
            runner::controller_key("StatefulSet", &p.metadata)
        })
        .watches_stream(rev_stream, |r: ControllerRevision| {
            runner::controller_key("StatefulSet", &r.metadata)
        })
        .run(reconcile, error_policy, ctx),
        "statefulset",
    )
    .await;
    Ok(())
}

fn error_policy(obj: Arc<StatefulSet>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action> {
    for r in [
        ctx.pods.wait_until_ready().await,
        ctx.revisions.wait_until_ready().await,
    ] {
        r.map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let k = key(set.as_ref());
    let ns = set.namespace().unwrap_or_default();
    let name = set.name_any();
    let me = Owner::of("apps/v1", "StatefulSet", &set.metadata);
    let api_pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let api_revs: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let api_pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
    let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
    let sel = &set.spec.selector;

    let mut pods = Vec::new();
    for p in ctx
        .pods
        .state()
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
    {
        match owner::claim(&me, sel, &p.metadata) {
            Claim::Owned => pods.push(p.as_ref().clone()),
            Claim::Adopt if decide::ordinal(&name, p).is_some() => {
                let patch = owner::adopt_patch(&me, &p.metadata);
                if let Some(a) = apply::merge_patch(&api_pods, &p.name_any(), &patch).await? {
                    pods.push(a);
                }
            }
            Claim::Release => {
                let patch = owner::release_patch(&me, &p.metadata);
                apply::merge_patch(&api_pods, &p.name_any(), &patch).await?;
            }
            _ => {}
        }
    }
    let revisions: Vec<ControllerRevision> = ctx
        .revisions
        .state()
        .iter()
        .filter(|r| r.namespace().as_deref() == Some(ns.as_str()))
        .filter(|r| owner::claim(&me, sel, &r.metadata) == Claim::Owned)
        .map(|r| r.as_ref().clone())
        .collect();
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let plan = decide::decide(Input {
        set: set.as_ref(),
        pods: &pods,
        revisions: &revisions,
        now,
    });
    if let Some(r) = &plan.create_revision {
        match api_revs.create(&PostParams::default(), r).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = api_revs.get(&r.name_any()).await?;
                if existing.data.0 != r.data.0 {
                    let count = set
                        .status
                        .as_ref()
                        .and_then(|s| s.collision_count)
                        .unwrap_or(0)
                        .saturating_add(1);
                    apply::patch_status(&sets, &name, &json!({"collisionCount": count})).await?;
                    return Err(Error::Collision(format!(
                        "controller revision {:?} exists with other data",
                        r.name_any()
                    )));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(r) = &plan.renumber_revision {
        api_revs
            .replace(&r.name_any(), &PostParams::default(), r)
            .await?;
    }
    for c in &plan.claims {
        match api_pvcs.create(&PostParams::default(), c).await {
            Ok(_) => {
                let msg = format!(
                    "create Claim {} in StatefulSet {name} success",
                    c.name_any()
                );
                ctx.recorder
                    .event(set.as_ref(), EventType::Normal, "SuccessfulCreate", &msg)
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                let msg = format!(
                    "create Claim {} for StatefulSet {name} failed error: {e}",
                    c.name_any()
                );
                ctx.recorder
                    .event(set.as_ref(), EventType::Warning, "FailedCreate", &msg)
                    .await;
                return Err(e.into());
            }
        }
    }
    for p in &plan.create {
        match api_pods.create(&PostParams::default(), p).await {
            Ok(_) => {
                let msg = format!(
                    "create Pod {} in StatefulSet {name} successful",
                    p.name_any()
                );
                ctx.recorder
                    .event(set.as_ref(), EventType::Normal, "SuccessfulCreate", &msg)
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                let msg = format!(
                    "create Pod {} in StatefulSet {name} failed error: {e}",
                    p.name_any()
                );
                ctx.recorder
                    .event(set.as_ref(), EventType::Warning, "FailedCreate", &msg)
                    .await;
                return Err(e.into());
            }
        }
    }
    for p in &plan.delete {
        apply::delete_with_uid(&api_pods, &p.name_any(), p.metadata.uid.as_deref()).await?;
        let msg = format!(
            "delete Pod {} in StatefulSet {name} successful",
            p.name_any()
        );
        ctx.recorder
            .event(set.as_ref(), EventType::Normal, "SuccessfulDelete", &msg)
            .await;
    }
    for r in &plan.delete_revisions {
        apply::delete_with_uid(&api_revs, r, None).await?;
    }
    if set.status.as_ref() != Some(&plan.status) {
        let mut v = serde_json::to_value(&plan.status)?;
        if let Some(m) = v.as_object_mut() {
            m.entry("collisionCount").or_insert(serde_json::Value::Null);
        }
        apply::patch_status(&sets, &name, &v).await?;
    }
    ctx.backoff.reset(&k);
    let min_ready = set.spec.min_ready_seconds.unwrap_or(0);
    Ok(
        if min_ready > 0 && plan.status.available_replicas != plan.status.ready_replicas {
            Action::requeue(std::time::Duration::from_secs(min_ready as u64))
        } else {
            Action::await_change()
        },
    )
}
