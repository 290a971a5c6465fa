//! What a Job sync does, as a pure function of the Job and its pods: count finished pods
//! through the tracking finalizer, create or delete pods, and the conditions and status.

use std::collections::{BTreeSet, HashSet};

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;

use super::indexes;
use crate::util::pod;
use crate::util::time::{secs, time};

/// The finalizer that keeps a finished pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// First delay before recreating after a failure; doubles per failure.
pub const BACKOFF_BASE: i64 = 10;
/// Longest delay before recreating.
pub const BACKOFF_MAX: i64 = 360;
/// Upstream's default spec.backoffLimit.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
const BURST: usize = 500;

/// The state a sync reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub job: &'a Job,
    /// Pods the Job controls, finished ones included.
    pub pods: &'a [Pod],
    pub now: i64,
    /// The cache shows the Job's earlier creations and deletions.
    pub expectations_met: bool,
}

/// An event to record on the Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Written first: the finished pods about to be counted (their finalizers go next).
    pub intent: Option<UncountedTerminatedPods>,
    /// Pods whose tracking finalizer to remove.
    pub remove_finalizer: Vec<Pod>,
    /// Pods to create: None for NonIndexed, Some(index) for Indexed.
    pub create: Vec<Option<i32>>,
    /// Pods to delete.
    pub delete: Vec<Pod>,
    /// The final status, when it changed.
    pub status: Option<JobStatus>,
    pub events: Vec<Event>,
    /// Sync again after this many seconds (backoff, deadline).
    pub requeue_after: Option<i64>,
}

fn has_finalizer(p: &Pod) -> bool {
    p.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

fn uid(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap_or_default()
}

/// The Job has a condition of this type with status True.
pub fn has_condition(s: &JobStatus, type_: &str) -> bool {
    s.conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == type_ && c.status == "True")
}

/// Finished: Complete or Failed.
pub fn is_finished(s: &JobStatus) -> bool {
    has_condition(s, "Complete") || has_condition(s, "Failed")
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: i64) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
        message: Some(message.into()).filter(|m: &String| !m.is_empty()),
        last_probe_time: Some(time(now)),
        last_transition_time: Some(time(now)),
    }
}

fn set_condition(s: &mut JobStatus, c: JobCondition) -> bool {
    let v = s.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = v.iter_mut().find(|x| x.type_ == c.type_) {
        if cur.status == c.status && cur.reason == c.reason && cur.message == c.message {
            return false;
        }
        *cur = c;
    } else {
        v.push(c);
    }
    true
}

fn find_condition<'a>(s: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    s.conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// When a pod finished: its last container termination, else its creation.
fn finish_time(p: &Pod) -> i64 {
    let st = p.status.as_ref();
    st.and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(secs)
        .max()
        .or_else(|| {
            st.and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|c| c.last_transition_time.as_ref())
                .map(secs)
                .max()
        })
        .or_else(|| p.metadata.creation_timestamp.as_ref().map(secs))
        .unwrap_or(0)
}

/// Failures since the last success and the time of the last one: (count, time).
fn failures_after_success(pods: &[Pod]) -> (u32, i64) {
    let mut done: Vec<(i64, bool)> = pods
        .iter()
        .filter_map(|p| match pod::phase(p) {
            "Succeeded" => Some((finish_time(p), true)),
            "Failed" => Some((finish_time(p), false)),
            _ => None,
        })
        .collect();
    done.sort();
    let mut n = 0;
    let mut last = 0;
    for (t, ok) in done {
        if ok {
            n = 0;
        } else {
            n += 1;
            last = t;
        }
    }
    (n, last)
}

/// The delay before recreating after `failures` consecutive failures.
pub fn backoff_delay(failures: u32) -> i64 {
    if failures == 0 {
        return 0;
    }
    let exp = failures.saturating_sub(1).min(16);
    (BACKOFF_BASE.saturating_mul(1i64 << exp)).min(BACKOFF_MAX)
}

/// Decides one sync of `input.job`.
pub fn decide(input: Input<'_>) -> Plan {
    let job = input.job;
    let now = input.now;
    let spec = job.spec.clone().unwrap_or_default();
    let old = job.status.clone().unwrap_or_default();
    let mut st = old.clone();
    let mut plan = Plan::default();
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let finished = is_finished(&old);

    // 1. finished pods still holding the finalizer get counted
    let unc = old.uncounted_terminated_pods.clone().unwrap_or_default();
    let mut unc_s: BTreeSet<String> = unc
        .succeeded
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut unc_f: BTreeSet<String> = unc.failed.clone().unwrap_or_default().into_iter().collect();
    let before = (unc_s.len(), unc_f.len());
    for p in input.pods.iter().filter(|p| has_finalizer(p)) {
        let ph = pod::phase(p);
        if ph == "Succeeded" {
            unc_s.insert(uid(p));
        } else if ph == "Failed" || pod::is_terminating(p) {
            unc_f.insert(uid(p));
        } else if !finished {
            continue;
        }
        plan.remove_finalizer.push(p.clone());
    }
    if (unc_s.len(), unc_f.len()) != before {
        plan.intent = Some(UncountedTerminatedPods {
            succeeded: Some(unc_s.iter().cloned().collect()),
            failed: Some(unc_f.iter().cloned().collect()),
        });
    }
    let succeeded = old.succeeded.unwrap_or(0) + unc_s.len() as i32;
    let failed = old.failed.unwrap_or(0) + unc_f.len() as i32;
    let mut completed: BTreeSet<i32> = BTreeSet::new();
    if indexed {
        let c = spec.completions.unwrap_or(1);
        completed = indexes::parse(old.completed_indexes.as_deref().unwrap_or(""), c);
        for p in input.pods.iter().filter(|p| unc_s.contains(&uid(p))) {
            if let Some(i) = indexes::of_pod(p).filter(|i| *i < c) {
                completed.insert(i);
            }
        }
    }
    st.succeeded = Some(succeeded);
    st.failed = Some(failed);
    st.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
    if indexed {
        st.completed_indexes = Some(indexes::format(&completed));
    }
    let active: Vec<&Pod> = input.pods.iter().filter(|p| pod::is_active(p)).collect();
    st.active = Some(active.len() as i32);
    st.ready = Some(active.iter().filter(|p| pod::is_ready(p)).count() as i32);

    if finished {
        plan.status = (st != old).then_some(st);
        return plan;
    }
    let suspended = spec.suspend == Some(true);
    if suspended {
        if !active.is_empty() {
            plan.delete = active.iter().map(|p| (*p).clone()).collect();
        }
        st.active = Some(0);
        st.ready = Some(0);
        if set_condition(
            &mut st,
            condition("Suspended", "True", "JobSuspended", "Job suspended", now),
        ) {
            plan.events.push(Event {
                warning: false,
                reason: "Suspended".into(),
                message: "Job suspended".into(),
            });
        }
        plan.status = (st != old).then_some(st);
        return plan;
    }
    if find_condition(&st, "Suspended").is_some() {
        set_condition(
            &mut st,
            condition("Suspended", "False", "JobResumed", "Job resumed", now),
        );
        plan.events.push(Event {
            warning: false,
            reason: "Resumed".into(),
            message: "Job resumed".into(),
        });
        st.start_time = Some(time(now));
    }
    if st.start_time.is_none() {
        st.start_time = Some(time(now));
    }
    let start = st.start_time.as_ref().map(secs).unwrap_or(now);

    // 2. failure or success criteria
    let mut failure = find_condition(&st, "FailureTarget").map(|c| {
        (
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
        )
    });
    if failure.is_none() {
        let limit = spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
        if failed > limit {
            failure = Some((
                "BackoffLimitExceeded".into(),
                "Job has reached the specified backoff limit".into(),
            ));
        } else if let Some(dl) = spec.active_deadline_seconds {
            if now - start >= dl {
                failure = Some((
                    "DeadlineExceeded".into(),
                    "Job was active longer than specified deadline".into(),
                ));
            } else {
                plan.requeue_after = Some(start + dl - now);
            }
        }
    }
    let success = find_condition(&st, "SuccessCriteriaMet").is_some()
        || if indexed {
            completed.len() as i32 >= spec.completions.unwrap_or(1)
        } else {
            match spec.completions {
                Some(c) => succeeded >= c,
                None => succeeded > 0 && active.is_empty(),
            }
        };
    let pending = plan.intent.is_some() || !plan.remove_finalizer.is_empty();
    if let Some((reason, message)) = failure {
        if set_condition(
            &mut st,
            condition("FailureTarget", "True", &reason, &message, now),
        ) {
            plan.events.push(Event {
                warning: true,
                reason: reason.clone(),
                message: message.clone(),
            });
        }
        plan.delete = active.iter().map(|p| (*p).clone()).collect();
        if active.is_empty() && !pending {
            set_condition(&mut st, condition("Failed", "True", &reason, &message, now));
        }
        plan.requeue_after = None;
    } else if success {
        let (reason, message) = (
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        );
        set_condition(
            &mut st,
            condition("SuccessCriteriaMet", "True", reason, message, now),
        );
        plan.delete = active.iter().map(|p| (*p).clone()).collect();
        if active.is_empty() && !pending {
            set_condition(&mut st, condition("Complete", "True", reason, message, now));
            st.completion_time = Some(time(now));
            plan.events.push(Event {
                warning: false,
                reason: "Completed".into(),
                message: "Job completed".into(),
            });
        }
        plan.requeue_after = None;
    } else if input.expectations_met {
        manage(
            &spec, input.pods, &active, succeeded, &completed, indexed, now, &mut plan,
        );
    }
    plan.status = (st != old).then_some(st);
    plan
}

/// Creates or deletes pods to reach the wanted number active.
#[allow(clippy::too_many_arguments)]
fn manage(
    spec: &k8s_openapi::api::batch::v1::JobSpec,
    pods: &[Pod],
    active: &[&Pod],
    succeeded: i32,
    completed: &BTreeSet<i32>,
    indexed: bool,
    now: i64,
    plan: &mut Plan,
) {
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let n_active = active.len() as i32;
    let want = match spec.completions {
        None if succeeded > 0 => n_active,
        None => parallelism,
        Some(c) if indexed => (c - completed.len() as i32).clamp(0, parallelism),
        Some(c) => (c - succeeded).clamp(0, parallelism),
    };
    if n_active > want {
        let mut ranked: Vec<Pod> = active.iter().map(|p| (*p).clone()).collect();
        ranked.sort_by(pod::deletion_order);
        ranked.truncate((n_active - want) as usize);
        plan.delete = ranked;
        return;
    }
    if n_active == want {
        return;
    }
    let (failures, last) = failures_after_success(pods);
    let ready_at = last + backoff_delay(failures);
    if failures > 0 && now < ready_at {
        plan.requeue_after = Some(
            plan.requeue_after
                .map_or(ready_at - now, |r| r.min(ready_at - now)),
        );
        return;
    }
    let diff = ((want - n_active) as usize).min(BURST);
    if indexed {
        let c = spec.completions.unwrap_or(1);
        let running: HashSet<i32> = active.iter().filter_map(|p| indexes::of_pod(p)).collect();
        plan.create = (0..c)
            .filter(|i| !completed.contains(i) && !running.contains(i))
            .take(diff)
            .map(Some)
            .collect();
    } else {
        plan.create = vec![None; diff];
    }
}
