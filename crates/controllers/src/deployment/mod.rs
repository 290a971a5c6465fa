//! Deployment controller: a ReplicaSet per pod template, rolled out with RollingUpdate or
//! Recreate, with revisions, rollback, pause and progress conditions.

pub mod decide;
#[cfg(test)]
mod tests;
pub mod util;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::util::apply;
use crate::util::backoff::Backoff;
use crate::util::events::{EventType, Recorder};
use crate::util::hash::equal_ignore_hash;
use crate::util::informer::{informer, key};
use crate::util::owner::{self, Claim, Owner};
use crate::util::runner;
use crate::util::{pod, selector};
use crate::{Error, Result};
use decide::{Act, Input};

struct Ctx {
    client: Client,
    rss: Store<ReplicaSet>,
    pods: Store<Pod>,
    recorder: Recorder,
    backoff: Backoff,
}

/// Runs the Deployment controller.
pub async fn run(client: Client) -> Result<()> {
    let (rss, rs_stream) = informer(Api::<ReplicaSet>::all(client.clone()));
    let (pods, pod_stream) = informer(Api::<Pod>::all(client.clone()));
    let ctl = Controller::new(
        Api::<Deployment>::all(client.clone()),
        watcher::Config::default(),
    );
    let deps = ctl.store();
    let deps2 = deps.clone();
    let rss2 = rss.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "deployment-controller"),
        client,
        rss,
        pods,
        backoff: Backoff::default(),
    });
    runner::drive(
        ctl.watches_stream(rs_stream, move |rs: ReplicaSet| rs_deployments(&deps, &rs))
            .watches_stream(pod_stream, move |p: Pod| pod_deployment(&rss2, &deps2, &p))
            .run(reconcile, error_policy, ctx),
        "deployment",
    )
    .await;
    Ok(())
}

fn rs_deployments(deps: &Store<Deployment>, rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.namespace().unwrap_or_default();
    match owner::controller_of(&rs.metadata) {
        Some(r) if r.kind == "Deployment" => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => vec![],
        None => deps
            .state()
            .iter()
            .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
            .filter(|d| selector::matches(&d.spec.selector, rs.metadata.labels.as_ref()))
            .map(|d| ObjectRef::from_obj(d.as_ref()))
            .collect(),
    }
}

/// A pod event concerns the Deployment of its ReplicaSet (Recreate waits for old pods).
fn pod_deployment(
    rss: &Store<ReplicaSet>,
    deps: &Store<Deployment>,
    p: &Pod,
) -> Vec<ObjectRef<Deployment>> {
    let ns = p.namespace().unwrap_or_default();
    let Some(r) = owner::controller_of(&p.metadata).filter(|r| r.kind == "ReplicaSet") else {
        return vec![];
    };
    let Some(rs) = rss.get(&ObjectRef::new(&r.name).within(&ns)) else {
        return vec![];
    };
    let refs = rs_deployments(deps, &rs);
    refs.into_iter()
        .filter(|d| {
            deps.get(d).is_some_and(|d| {
                d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate")
            })
        })
        .collect()
}

fn error_policy(obj: Arc<Deployment>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

/// A merge patch body for the status: absent counters become explicit nulls so they clear.
fn status_patch(s: &DeploymentStatus) -> Result<Value> {
    let mut v = serde_json::to_value(s)?;
    if let Some(m) = v.as_object_mut() {
        for k in [
            "availableReplicas",
            "readyReplicas",
            "replicas",
            "unavailableReplicas",
            "updatedReplicas",
            "terminatingReplicas",
            "collisionCount",
        ] {
            m.entry(k).or_insert(Value::Null);
        }
    }
    Ok(v)
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action> {
    for r in [
        ctx.rss.wait_until_ready().await,
        ctx.pods.wait_until_ready().await,
    ] {
        r.map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let k = key(d.as_ref());
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let deps: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    if selector::is_empty(&d.spec.selector) {
        ctx.recorder
            .event(
                d.as_ref(),
                EventType::Warning,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            .await;
        return Ok(Action::await_change());
    }
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let me = Owner::of("apps/v1", "Deployment", &d.metadata);
    let mut owned = Vec::new();
    for rs in ctx.rss.state() {
        if rs.metadata.namespace.as_deref() != Some(ns.as_str()) {
            continue;
        }
        match owner::claim(&me, &d.spec.selector, &rs.metadata) {
            Claim::Owned => owned.push(rs.as_ref().clone()),
            Claim::Adopt => {
                let patch = owner::adopt_patch(&me, &rs.metadata);
                if let Some(a) = apply::merge_patch(&rs_api, &rs.name_any(), &patch).await? {
                    owned.push(a);
                }
            }
            Claim::Release => {
                let patch = owner::release_patch(&me, &rs.metadata);
                apply::merge_patch(&rs_api, &rs.name_any(), &patch).await?;
            }
            Claim::Ignore => {}
        }
    }
    let uids: HashSet<String> = owned
        .iter()
        .filter_map(|r| r.metadata.uid.clone())
        .collect();
    let running: HashSet<String> = ctx
        .pods
        .state()
        .iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|p| !matches!(pod::phase(p), "Succeeded" | "Failed"))
        .filter_map(|p| owner::controller_of(&p.metadata).map(|r| r.uid.clone()))
        .filter(|u| uids.contains(u))
        .collect();
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let plan = decide::decide(Input {
        d: d.as_ref(),
        rss: owned,
        rs_with_running_pods: running,
        now,
    });
    for act in plan.acts {
        match act {
            Act::CreateRs(rs) => match rs_api.create(&PostParams::default(), &rs).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let existing = rs_api.get(&rs.name_any()).await?;
                    let ours = owner::controller_of(&existing.metadata)
                        .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                    let same = match (&existing.spec.template, &rs.spec.template) {
                        (Some(a), Some(b)) => equal_ignore_hash(a, b),
                        _ => false,
                    };
                    if !(ours && same) {
                        let count = d
                            .status
                            .as_ref()
                            .and_then(|s| s.collision_count)
                            .unwrap_or(0)
                            .saturating_add(1);
                        apply::patch_status(&deps, &name, &json!({"collisionCount": count}))
                            .await?;
                        return Err(Error::Collision(format!(
                            "replica set {:?} already exists with another template",
                            rs.name_any()
                        )));
                    }
                }
                Err(e) => {
                    let msg = format!("Failed to create new replica set {:?}: {e}", rs.name_any());
                    ctx.recorder
                        .event(
                            d.as_ref(),
                            EventType::Warning,
                            "ReplicaSetCreateError",
                            &msg,
                        )
                        .await;
                    return Err(e.into());
                }
            },
            Act::UpdateRs(rs) => {
                rs_api
                    .replace(&rs.name_any(), &PostParams::default(), &rs)
                    .await?;
            }
            Act::DeleteRs { name, uid } => {
                apply::delete_with_uid(&rs_api, &name, Some(&uid)).await?;
            }
            Act::Annotate(a) => {
                let a: BTreeMap<String, String> = a;
                apply::merge_patch(&deps, &name, &json!({"metadata": {"annotations": a}})).await?;
            }
            Act::Event { reason, message } => {
                ctx.recorder
                    .event(d.as_ref(), EventType::Normal, &reason, &message)
                    .await;
            }
        }
    }
    if let Some(s) = plan.status {
        apply::patch_status(&deps, &name, &status_patch(&s)?).await?;
    }
    ctx.backoff.reset(&k);
    Ok(match plan.requeue_after {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    })
}
