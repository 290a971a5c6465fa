//! What a CronJob sync does, as a pure function of the CronJob, its Jobs and the time:
//! active list upkeep, whether a run is due, concurrency policy, history limits.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job, JobStatus};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::schedule::{Schedule, time_zone};
use crate::job::decide::{has_condition, is_finished};
use crate::util::owner::Owner;
use crate::util::time::{secs, time};

/// The annotation with the time a Job was scheduled for (RFC 3339 in the CronJob's zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Upstream's limit of missed schedules looked at before giving a warning.
pub const MAX_MISSED: usize = 100;

/// The state a sync reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub cj: &'a CronJob,
    /// Jobs this CronJob controls.
    pub jobs: &'a [Job],
    pub now: DateTime<Utc>,
}

/// An event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Jobs to delete (Replace policy, history limits), by name.
    pub delete: Vec<String>,
    /// The Job to create.
    pub create: Option<Job>,
    pub status: Option<CronJobStatus>,
    pub events: Vec<Event>,
    /// Seconds until the next schedule.
    pub requeue_after: Option<i64>,
}

fn job_ref(j: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: j.metadata.name.clone(),
        namespace: j.metadata.namespace.clone(),
        uid: j.metadata.uid.clone(),
        resource_version: j.metadata.resource_version.clone(),
        ..Default::default()
    }
}

fn to_chrono(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The name of the Job for a scheduled time: `<cronjob>-<minutes since the epoch>`.
pub fn job_name(cj_name: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cj_name}-{}", scheduled.timestamp().div_euclid(60))
}

/// The Job for a scheduled time, from the template.
pub fn job_for(cj: &CronJob, scheduled: DateTime<Utc>, tz: chrono_tz::Tz) -> Job {
    let t = &cj.spec.job_template;
    let tm = t.metadata.clone().unwrap_or_default();
    let name = cj.metadata.name.clone().unwrap_or_default();
    let mut annotations = tm.annotations.unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP.into(),
        scheduled
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(&name, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![
                Owner::of("batch/v1", "CronJob", &cj.metadata).controller_ref(),
            ]),
            ..Default::default()
        },
        spec: t.spec.clone(),
        status: None,
    }
}

fn finished_at(s: &JobStatus) -> i64 {
    s.completion_time.as_ref().map(secs).unwrap_or_else(|| {
        s.conditions
            .iter()
            .flatten()
            .filter(|c| c.status == "True")
            .filter_map(|c| c.last_transition_time.as_ref().map(secs))
            .max()
            .unwrap_or(0)
    })
}

/// Decides one sync.
pub fn decide(input: Input<'_>) -> Plan {
    let cj = input.cj;
    let now = input.now;
    let old = cj.status.clone().unwrap_or_default();
    let mut st = old.clone();
    let mut plan = Plan::default();
    let name = cj.metadata.name.clone().unwrap_or_default();

    // active list: finished jobs leave it, running ones we own join it, missing ones go
    let mut active: Vec<ObjectReference> = Vec::new();
    for j in input.jobs {
        let s = j.status.clone().unwrap_or_default();
        let listed = old.active.iter().flatten().any(|r| r.uid == j.metadata.uid);
        if is_finished(&s) {
            if listed {
                let cond = if has_condition(&s, "Complete") {
                    "Complete"
                } else {
                    "Failed"
                };
                plan.events.push(Event {
                    warning: false,
                    reason: "SawCompletedJob".into(),
                    message: format!(
                        "Saw completed job: {}, condition: {cond}",
                        j.metadata.name.clone().unwrap_or_default()
                    ),
                });
            }
            if has_condition(&s, "Complete") {
                let t = finished_at(&s);
                if st.last_successful_time.as_ref().map(secs).unwrap_or(0) < t {
                    st.last_successful_time = Some(time(t));
                }
            }
        } else if j.metadata.deletion_timestamp.is_none() {
            active.push(job_ref(j));
        }
    }
    for r in old.active.iter().flatten() {
        if !input.jobs.iter().any(|j| j.metadata.uid == r.uid) {
            plan.events.push(Event {
                warning: false,
                reason: "MissingJob".into(),
                message: format!(
                    "Active job went missing: {}",
                    r.name.clone().unwrap_or_default()
                ),
            });
        }
    }
    st.active = (!active.is_empty()).then_some(active);

    let finish = |mut plan: Plan, st: CronJobStatus| {
        plan.status = (st != old).then_some(st);
        plan
    };
    // history limits
    let mut done: Vec<(&Job, bool)> = input
        .jobs
        .iter()
        .filter_map(|j| {
            let s = j.status.as_ref()?;
            is_finished(s).then_some((j, has_condition(s, "Complete")))
        })
        .collect();
    done.sort_by_key(|(j, _)| j.status.as_ref().map(finished_at).unwrap_or(0));
    for (ok, limit) in [
        (true, cj.spec.successful_jobs_history_limit.unwrap_or(3)),
        (false, cj.spec.failed_jobs_history_limit.unwrap_or(1)),
    ] {
        let of_kind: Vec<&&Job> = done
            .iter()
            .filter(|(_, c)| *c == ok)
            .map(|(j, _)| j)
            .collect();
        let extra = of_kind.len().saturating_sub(limit.max(0) as usize);
        for j in of_kind.into_iter().take(extra) {
            let n = j.metadata.name.clone().unwrap_or_default();
            plan.events.push(Event {
                warning: false,
                reason: "SuccessfulDelete".into(),
                message: format!("Deleted job {n}"),
            });
            plan.delete.push(n);
        }
    }

    if cj.metadata.deletion_timestamp.is_some() || cj.spec.suspend == Some(true) {
        return finish(plan, st);
    }
    let tz = match time_zone(cj.spec.time_zone.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            plan.events.push(Event {
                warning: true,
                reason: "UnknownTimeZone".into(),
                message: e.to_string(),
            });
            return finish(plan, st);
        }
    };
    let sched = match Schedule::parse(&cj.spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            plan.events.push(Event {
                warning: true,
                reason: "UnparseableSchedule".into(),
                message: format!("unparseable schedule: {:?} : {e}", cj.spec.schedule),
            });
            return finish(plan, st);
        }
    };
    let next_after_now = sched.next_after(now, tz);
    plan.requeue_after = next_after_now.map(|n| (n - now).num_seconds().max(1));

    // the most recent schedule due since the last one (or creation / the deadline)
    let mut earliest = old
        .last_schedule_time
        .as_ref()
        .or(cj.metadata.creation_timestamp.as_ref())
        .map(secs)
        .map(to_chrono)
        .unwrap_or(now);
    if let Some(d) = cj.spec.starting_deadline_seconds {
        let floor = now - chrono::Duration::seconds(d);
        if earliest < floor {
            earliest = floor;
        }
    }
    let mut scheduled = None;
    let mut missed = 0usize;
    let mut t = earliest;
    while let Some(n) = sched.next_after(t, tz) {
        if n > now {
            break;
        }
        scheduled = Some(n);
        missed += 1;
        t = n;
        if missed > MAX_MISSED {
            // too many: jump close to now, as upstream gives up counting
            t = now - chrono::Duration::minutes(1);
        }
    }
    if missed > MAX_MISSED {
        plan.events.push(Event {
            warning: true,
            reason: "TooManyMissedTimes".into(),
            message: "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
        });
    }
    let Some(scheduled) = scheduled else {
        return finish(plan, st);
    };
    if let Some(d) = cj.spec.starting_deadline_seconds
        && scheduled + chrono::Duration::seconds(d) < now
    {
        plan.events.push(Event {
            warning: true,
            reason: "MissSchedule".into(),
            message: format!(
                "Missed scheduled time to start a job: {}",
                scheduled.to_rfc3339()
            ),
        });
        return finish(plan, st);
    }
    let jname = job_name(&name, scheduled);
    if input
        .jobs
        .iter()
        .any(|j| j.metadata.name.as_deref() == Some(jname.as_str()))
    {
        return finish(plan, st);
    }
    let running = st.active.clone().unwrap_or_default();
    match cj.spec.concurrency_policy.as_deref().unwrap_or("Allow") {
        "Forbid" if !running.is_empty() => {
            plan.events.push(Event {
                warning: false,
                reason: "JobAlreadyActive".into(),
                message: "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            });
            return finish(plan, st);
        }
        "Replace" => {
            for r in &running {
                let n = r.name.clone().unwrap_or_default();
                plan.events.push(Event {
                    warning: false,
                    reason: "SuccessfulDelete".into(),
                    message: format!("Deleted job {n}"),
                });
                plan.delete.push(n);
            }
            st.active = None;
        }
        _ => {}
    }
    let job = job_for(cj, scheduled, tz);
    plan.events.push(Event {
        warning: false,
        reason: "SuccessfulCreate".into(),
        message: format!("Created job {jname}"),
    });
    st.active.get_or_insert_with(Vec::new).push(job_ref(&job));
    st.last_schedule_time = Some(time(scheduled.timestamp()));
    plan.create = Some(job);
    finish(plan, st)
}
