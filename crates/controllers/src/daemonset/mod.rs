//! DaemonSet controller: one pod per eligible node, pinned by node affinity for the
//! scheduler to bind, rolled out by revision within maxUnavailable.

pub mod decide;
pub mod nodes;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::replicaset::seen_in;
use crate::util::apply;
use crate::util::backoff::Backoff;
use crate::util::events::{EventType, Recorder};
use crate::util::expectations::Expectations;
use crate::util::informer::{informer, key};
use crate::util::owner::{self, Claim, Owner};
use crate::util::runner;
use crate::{Error, Result};
use decide::Input;

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    revisions: Store<ControllerRevision>,
    recorder: Recorder,
    expectations: Arc<Expectations>,
    backoff: Backoff,
}

/// Runs the DaemonSet controller.
pub async fn run(client: Client) -> Result<()> {
    let (pods, pod_stream) = informer(Api::<Pod>::all(client.clone()));
    let (nodes, node_stream) = informer(Api::<Node>::all(client.clone()));
    let (revisions, rev_stream) = informer(Api::<ControllerRevision>::all(client.clone()));
    let ctl = Controller::new(
        Api::<DaemonSet>::all(client.clone()),
        watcher::Config::default(),
    );
    let sets = ctl.store();
    let expectations = Arc::new(Expectations::default());
    let seen = expectations.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "daemonset-controller"),
        client,
        pods,
        nodes,
        revisions,
        expectations,
        backoff: Backoff::default(),
    });
    runner::drive(
        ctl.watches_stream(pod_stream, move |p: Pod| {
            if let Some(uid) = p.metadata.uid.as_deref() {
                seen.observe(uid);
            }
            runner::controller_key("DaemonSet", &p.metadata)
        })
        .watches_stream(rev_stream, |r: ControllerRevision| {
            runner::controller_key("DaemonSet", &r.metadata)
        })
        // any node change may change where daemons belong
        .watches_stream(node_stream, move |_n: Node| {
            sets.state()
                .iter()
                .map(|d| ObjectRef::from_obj(d.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, ctx),
        "daemonset",
    )
    .await;
    Ok(())
}

fn error_policy(obj: Arc<DaemonSet>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action> {
    for r in [
        ctx.pods.wait_until_ready().await,
        ctx.nodes.wait_until_ready().await,
        ctx.revisions.wait_until_ready().await,
    ] {
        r.map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let k = key(ds.as_ref());
    let ns = ds.namespace().unwrap_or_default();
    let name = ds.name_any();
    let me = Owner::of("apps/v1", "DaemonSet", &ds.metadata);
    let api_pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let api_revs: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let sets: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &ns);
    let sel = &ds.spec.selector;
    let all: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
        .collect();
    let mut pods = Vec::new();
    for p in &all {
        match owner::claim(&me, sel, &p.metadata) {
            Claim::Owned => pods.push(p.as_ref().clone()),
            Claim::Adopt => {
                let patch = owner::adopt_patch(&me, &p.metadata);
                if let Some(a) = apply::merge_patch(&api_pods, &p.name_any(), &patch).await? {
                    pods.push(a);
                }
            }
            Claim::Release => {
                let patch = owner::release_patch(&me, &p.metadata);
                apply::merge_patch(&api_pods, &p.name_any(), &patch).await?;
            }
            Claim::Ignore => {}
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
    let nodes: Vec<Node> = ctx
        .nodes
        .state()
        .iter()
        .map(|n| n.as_ref().clone())
        .collect();
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let plan = decide::decide(Input {
        ds: ds.as_ref(),
        nodes: &nodes,
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
                    let count = ds
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
    let met = ctx.expectations.satisfied(&k, seen_in(&all));
    if met {
        for p in &plan.delete {
            let uid = p.metadata.uid.as_deref();
            apply::delete_with_uid(&api_pods, &p.name_any(), uid).await?;
            if let Some(u) = uid {
                ctx.expectations.deleted(&k, u);
            }
            let msg = format!("Deleted pod: {}", p.name_any());
            ctx.recorder
                .event(ds.as_ref(), EventType::Normal, "SuccessfulDelete", &msg)
                .await;
        }
        if !plan.create.is_empty() {
            let n = plan.create.len();
            let (created, err) =
                apply::create_pods(&api_pods, plan.create.clone(), &ctx.expectations, &k).await;
            for p in plan.create.iter().take(created.len()) {
                let node = p
                    .spec
                    .as_ref()
                    .and_then(nodes::target_node)
                    .unwrap_or_default();
                let msg = format!("Created pod on node {node}");
                ctx.recorder
                    .event(ds.as_ref(), EventType::Normal, "SuccessfulCreate", &msg)
                    .await;
            }
            if let Some(e) = err {
                let msg = format!("Error creating: {e} ({} of {n} created)", created.len());
                ctx.recorder
                    .event(ds.as_ref(), EventType::Warning, "FailedCreate", &msg)
                    .await;
                return Err(e);
            }
        }
    }
    for r in &plan.delete_revisions {
        apply::delete_with_uid(&api_revs, r, None).await?;
    }
    if ds.status.as_ref() != Some(&plan.status) {
        apply::patch_status(&sets, &name, &serde_json::to_value(&plan.status)?).await?;
    }
    ctx.backoff.reset(&k);
    Ok(match plan.requeue_after {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    })
}
