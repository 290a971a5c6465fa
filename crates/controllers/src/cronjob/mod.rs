//! CronJob controller: creates Jobs on a cron schedule in a time zone, with concurrency
//! policies, a starting deadline, suspend and history limits. The clock is injectable.

pub mod decide;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::util::apply;
use crate::util::backoff::Backoff;
use crate::util::events::{EventType, Recorder};
use crate::util::informer::{informer, key};
use crate::util::owner;
use crate::util::runner;
use crate::util::time::{SharedClock, SystemClock};
use crate::{Error, Result};
use decide::Input;

struct Ctx {
    client: Client,
    jobs: Store<Job>,
    recorder: Recorder,
    backoff: Backoff,
    clock: SharedClock,
}

/// Runs the CronJob controller on the system clock.
pub async fn run(client: Client) -> Result<()> {
    run_with_clock(client, Arc::new(SystemClock)).await
}

/// Runs the CronJob controller on the given clock.
pub async fn run_with_clock(client: Client, clock: SharedClock) -> Result<()> {
    let (jobs, job_stream) = informer(Api::<Job>::all(client.clone()));
    let ctl = Controller::new(
        Api::<CronJob>::all(client.clone()),
        watcher::Config::default(),
    );
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "cronjob-controller"),
        client,
        jobs,
        backoff: Backoff::default(),
        clock,
    });
    runner::drive(
        ctl.watches_stream(job_stream, |j: Job| {
            let ns = j.namespace().unwrap_or_default();
            owner::controller_of(&j.metadata)
                .filter(|r| r.kind == "CronJob")
                .map(|r| ObjectRef::<CronJob>::new(&r.name).within(&ns))
        })
        .run(reconcile, error_policy, ctx),
        "cronjob",
    )
    .await;
    Ok(())
}

fn error_policy(obj: Arc<CronJob>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action> {
    ctx.jobs
        .wait_until_ready()
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let k = key(cj.as_ref());
    let ns = cj.namespace().unwrap_or_default();
    let name = cj.name_any();
    let uid = cj.metadata.uid.clone();
    let jobs: Vec<Job> = ctx
        .jobs
        .state()
        .iter()
        .filter(|j| j.namespace().as_deref() == Some(ns.as_str()))
        .filter(|j| owner::controller_of(&j.metadata).is_some_and(|r| Some(&r.uid) == uid.as_ref()))
        .map(|j| j.as_ref().clone())
        .collect();
    let now_ts = ctx.clock.now();
    let now = chrono::DateTime::from_timestamp(
        now_ts.as_second(),
        now_ts.subsec_nanosecond().max(0) as u32,
    )
    .unwrap_or_default();
    let plan = decide::decide(Input {
        cj: cj.as_ref(),
        jobs: &jobs,
        now,
    });
    let api_jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let cjs: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns);
    let bg = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    for n in &plan.delete {
        match api_jobs.delete(n, &bg).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(j) = &plan.create {
        match api_jobs.create(&PostParams::default(), j).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                let msg = format!("Error creating job: {e}");
                ctx.recorder
                    .event(cj.as_ref(), EventType::Warning, "FailedCreate", &msg)
                    .await;
                return Err(e.into());
            }
        }
    }
    if let Some(s) = &plan.status {
        let mut v = serde_json::to_value(s)?;
        if let Some(m) = v.as_object_mut() {
            for f in ["active", "lastScheduleTime", "lastSuccessfulTime"] {
                m.entry(f).or_insert(Value::Null);
            }
        }
        apply::patch_status(&cjs, &name, &v).await?;
    }
    for e in &plan.events {
        let t = if e.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        ctx.recorder
            .event(cj.as_ref(), t, &e.reason, &e.message)
            .await;
    }
    ctx.backoff.reset(&k);
    Ok(match plan.requeue_after {
        // a little past the minute, as upstream adds a small delta
        Some(s) => {
            Action::requeue(Duration::from_secs(s.max(0) as u64) + Duration::from_millis(100))
        }
        None => Action::await_change(),
    })
}
