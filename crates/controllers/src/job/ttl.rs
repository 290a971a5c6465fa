//! TTL-after-finished controller: deletes a finished Job (and, in the foreground, its pods)
//! `spec.ttlSecondsAfterFinished` after it finished.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::decide::is_finished;
use crate::util::backoff::Backoff;
use crate::util::informer::key;
use crate::util::runner;
use crate::util::time::secs;
use crate::{Error, Result};

struct Ctx {
    client: Client,
    backoff: Backoff,
}

/// When the Job finished (completionTime, else the Complete/Failed condition's time).
pub fn finish_time(job: &Job) -> Option<i64> {
    let st = job.status.as_ref()?;
    if !is_finished(st) {
        return None;
    }
    st.completion_time.as_ref().map(secs).or_else(|| {
        st.conditions
            .iter()
            .flatten()
            .filter(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            .filter_map(|c| c.last_transition_time.as_ref().map(secs))
            .max()
    })
}

/// Seconds until the Job expires (≤ 0: expired), or None when it has no TTL or is running.
pub fn time_left(job: &Job, now: i64) -> Option<i64> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    Some(finish_time(job)? + i64::from(ttl) - now)
}

/// Runs the TTL-after-finished controller.
pub async fn run(client: Client) -> Result<()> {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        backoff: Backoff::default(),
    });
    Controller::new(Api::<Job>::all(client), watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
    Ok(())
}

fn error_policy(obj: Arc<Job>, err: &Error, ctx: Arc<Ctx>) -> Action {
    runner::requeue_failed(obj.as_ref(), err, &ctx.backoff)
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action> {
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let Some(left) = time_left(&job, now) else {
        return Ok(Action::await_change());
    };
    if left > 0 {
        return Ok(Action::requeue(Duration::from_secs(left as u64)));
    }
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: job.metadata.uid.clone(),
            resource_version: job.metadata.resource_version.clone(),
        }),
        ..Default::default()
    };
    match api.delete(&job.name_any(), &dp).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    ctx.backoff.reset(&key(job.as_ref()));
    Ok(Action::await_change())
}
