//! Job controller: runs pods to completion with parallelism, completions (NonIndexed or
//! Indexed), backoffLimit, activeDeadlineSeconds and suspend, counting finished pods through
//! the `batch.kubernetes.io/job-tracking` finalizer. `ttl` removes finished Jobs.

pub mod decide;
pub mod indexes;
#[cfg(test)]
mod tests;
pub mod ttl;
mod written;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use kube::api::Api;
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
use crate::util::pod;
use crate::util::runner;
use crate::{Error, Result};
use decide::{Input, TRACKING_FINALIZER};

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    recorder: Recorder,
    expectations: Arc<Expectations>,
    /// Pods whose tracking finalizer this controller removed, until the cache shows it.
    finalizers_removed: Mutex<HashMap<String, std::time::Instant>>,
    backoff: Backoff,
    /// Our last status write per Job, to never sync from an older cached Job.
    written: written::Written,
}

/// Runs the Job controller.
pub async fn run(client: Client) -> Result<()> {
    let (pods, pod_stream) = informer(Api::<Pod>::all(client.clone()));
    let ctl = Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default());
    let expectations = Arc::new(Expectations::default());
    let seen = expectations.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "job-controller"),
        client,
        pods,
        expectations,
        finalizers_removed: Mutex::new(HashMap::new()),
        backoff: Backoff::default(),
        written: written::Written::default(),
    });
    runner::drive(
        ctl.watches_stream(pod_stream, move |p: Pod| {
            if let Some(uid) = p.metadata.uid.as_deref() {
                seen.observe(uid);
            }
            let ns = p.namespace().unwrap_or_default();
            owner::controller_of(&p.metadata)
                .filter(|r| r.kind == "Job")
                .map(|r| ObjectRef::<Job>::new(&r.name).within(&ns))
        })
        .run(reconcile, error_policy, ctx),
        "job",
    )
    .await;
    Ok(())
}

fn error_policy(obj: Arc<Job>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

/// The pod a Job creates: the template's labels, annotations and spec, the tracking
/// finalizer, and for Indexed Jobs the completion index (annotation, label, env, hostname).
pub fn pod_for(job: &Job, index: Option<i32>, owner: &Owner) -> Pod {
    let name = job.name_any();
    let ns = job.namespace().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let gen_name = match index {
        Some(i) => format!("{name}-{i}-"),
        None => format!("{name}-"),
    };
    let mut p = pod::from_template(&template, &ns, Some(gen_name), None, owner.controller_ref());
    p.metadata
        .finalizers
        .get_or_insert_with(Vec::new)
        .push(TRACKING_FINALIZER.to_string());
    if let Some(i) = index {
        let iv = i.to_string();
        p.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(indexes::COMPLETION_INDEX.into(), iv.clone());
        p.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(indexes::COMPLETION_INDEX.into(), iv);
        if let Some(spec) = p.spec.as_mut() {
            if spec.hostname.is_none() {
                spec.hostname = Some(format!("{name}-{i}"));
            }
            let env = EnvVar {
                name: "JOB_COMPLETION_INDEX".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: None,
                        field_path: format!(
                            "metadata.annotations['{}']",
                            indexes::COMPLETION_INDEX
                        ),
                    }),
                    ..Default::default()
                }),
            };
            for c in spec
                .containers
                .iter_mut()
                .chain(spec.init_containers.iter_mut().flatten())
            {
                let envs = c.env.get_or_insert_with(Vec::new);
                if !envs.iter().any(|e| e.name == "JOB_COMPLETION_INDEX") {
                    envs.push(env.clone());
                }
            }
        }
    }
    p
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action> {
    ctx.pods
        .wait_until_ready()
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let k = key(job.as_ref());
    if ctx
        .written
        .cache_is_behind(&k, job.metadata.resource_version.as_deref())
    {
        // the Job's watch event for our own write is on its way and triggers the next sync
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let api_pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let all: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
        .collect();
    let me = Owner::of("batch/v1", "Job", &job.metadata);
    let sel = job
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let mut owned = Vec::new();
    {
        let mut removed = ctx
            .finalizers_removed
            .lock()
            .map_err(|_| Error::Invalid("poisoned".into()))?;
        removed.retain(|_, t| t.elapsed() < crate::util::expectations::TTL);
        for p in all.iter() {
            let c = owner::claim(&me, &sel, &p.metadata);
            if c == Claim::Owned || (c == Claim::Adopt && pod::is_active(p)) {
                let mut p = p.as_ref().clone();
                let uid = p.metadata.uid.clone().unwrap_or_default();
                if removed.contains_key(&uid)
                    && let Some(f) = p.metadata.finalizers.as_mut()
                {
                    f.retain(|f| f != TRACKING_FINALIZER);
                }
                owned.push((p, c));
            }
        }
    }
    let mut pods = Vec::new();
    for (p, c) in owned {
        if c == Claim::Adopt {
            let patch = owner::adopt_patch(&me, &p.metadata);
            if let Some(a) = apply::merge_patch(&api_pods, &p.name_any(), &patch).await? {
                pods.push(a);
            }
        } else {
            pods.push(p);
        }
    }
    let met = ctx.expectations.satisfied(&k, seen_in(&all));
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let plan = decide::decide(Input {
        job: job.as_ref(),
        pods: &pods,
        now,
        expectations_met: met,
    });
    // status writes are conditional on the version the decision was made from
    let mut rv = job.metadata.resource_version.clone();
    if let Some(intent) = &plan.intent {
        let status = json!({"uncountedTerminatedPods": intent});
        match apply::patch_status_at(&jobs, &name, &status, rv.as_deref()).await? {
            Some(written) => {
                rv = written.metadata.resource_version;
                ctx.written.record(&k, rv.as_deref());
            }
            None => {
                ctx.written.forget(&k);
                return Ok(Action::await_change());
            }
        }
    }
    for p in &plan.remove_finalizer {
        let fins: Vec<String> = p
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != TRACKING_FINALIZER)
            .cloned()
            .collect();
        // the last finalizer goes with the field itself, as upstream shows no empty list
        let fins = if fins.is_empty() {
            serde_json::Value::Null
        } else {
            json!(fins)
        };
        let patch = json!({"metadata": {"finalizers": fins, "uid": p.metadata.uid}});
        apply::merge_patch(&api_pods, &p.name_any(), &patch).await?;
        if let (Some(uid), Ok(mut m)) = (p.metadata.uid.clone(), ctx.finalizers_removed.lock()) {
            m.insert(uid, std::time::Instant::now());
        }
    }
    for p in &plan.delete {
        let uid = p.metadata.uid.as_deref();
        apply::delete_with_uid(&api_pods, &p.name_any(), uid).await?;
        if let Some(u) = uid {
            ctx.expectations.deleted(&k, u);
        }
    }
    let mut failure = None;
    if !plan.create.is_empty() {
        let new: Vec<Pod> = plan.create.iter().map(|i| pod_for(&job, *i, &me)).collect();
        let (created, err) = apply::create_pods(&api_pods, new, &ctx.expectations, &k).await;
        for n in created {
            let msg = format!("Created pod: {n}");
            ctx.recorder
                .event(job.as_ref(), EventType::Normal, "SuccessfulCreate", &msg)
                .await;
        }
        if let Some(e) = err {
            let msg = format!("Error creating: {e}");
            ctx.recorder
                .event(job.as_ref(), EventType::Warning, "FailedCreate", &msg)
                .await;
            failure = Some(e);
        }
    }
    if let Some(s) = &plan.status {
        let mut v = serde_json::to_value(s)?;
        if let Some(m) = v.as_object_mut() {
            for f in ["completionTime", "completedIndexes", "startTime"] {
                m.entry(f).or_insert(serde_json::Value::Null);
            }
            // a merge patch keeps lists it is not told to drop: empty ones are nulled
            if let Some(u) = m
                .get_mut("uncountedTerminatedPods")
                .and_then(|u| u.as_object_mut())
            {
                for f in ["succeeded", "failed"] {
                    let empty = u
                        .get(f)
                        .and_then(|v| v.as_array())
                        .is_none_or(|a| a.is_empty());
                    if empty {
                        u.insert(f.into(), serde_json::Value::Null);
                    }
                }
            }
        }
        match apply::patch_status_at(&jobs, &name, &v, rv.as_deref()).await? {
            Some(written) => ctx
                .written
                .record(&k, written.metadata.resource_version.as_deref()),
            None => ctx.written.forget(&k),
        }
    }
    for e in &plan.events {
        let t = if e.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        ctx.recorder
            .event(job.as_ref(), t, &e.reason, &e.message)
            .await;
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
