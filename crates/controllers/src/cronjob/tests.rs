//! Decision tests of the CronJob controller.

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use serde_json::json;

use super::decide::{Input, Plan, SCHEDULED_TIMESTAMP, decide, job_name};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

fn cronjob(extra: serde_json::Value) -> CronJob {
    let mut spec = json!({
        "schedule": "*/5 * * * *",
        "jobTemplate": {"metadata": {"labels": {"team": "a"}},
                        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                 "containers": [{"name": "c", "image": "busybox"}]}}}}
    });
    if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    serde_json::from_value(json!({
        "metadata": {"name": "tick", "namespace": "default", "uid": "c1",
                     "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": spec
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn run(cj: &CronJob, jobs: &[Job], now: &str) -> Plan {
    decide(Input {
        cj,
        jobs,
        now: at(now),
    })
}

fn job(name: &str, uid: &str, status: serde_json::Value) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": uid},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": status
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn creates_the_due_job_named_by_scheduled_minutes() {
    let cj = cronjob(json!({}));
    let plan = run(&cj, &[], "2024-01-01T00:07:10Z");
    let j = plan.create.clone().unwrap_or_default();
    let scheduled = at("2024-01-01T00:05:00Z");
    assert_eq!(j.metadata.name, Some(job_name("tick", scheduled)));
    assert_eq!(
        j.metadata.name.as_deref(),
        Some(format!("tick-{}", scheduled.timestamp() / 60).as_str())
    );
    let ann = j.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        ann.get(SCHEDULED_TIMESTAMP).map(String::as_str),
        Some("2024-01-01T00:05:00Z")
    );
    assert_eq!(
        j.metadata
            .labels
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("a")
    );
    let s = plan.status.unwrap_or_default();
    assert_eq!(
        s.last_schedule_time.map(|t| t.0.as_second()),
        Some(scheduled.timestamp())
    );
    assert_eq!(s.active.map(|a| a.len()), Some(1));
    assert_eq!(plan.requeue_after, Some(170));
}

#[test]
fn nothing_before_the_first_schedule_and_no_duplicate() {
    let cj = cronjob(json!({}));
    assert!(run(&cj, &[], "2024-01-01T00:04:59Z").create.is_none());
    let name = job_name("tick", at("2024-01-01T00:05:00Z"));
    let existing = job(&name, "j1", json!({}));
    assert!(
        run(&cj, &[existing], "2024-01-01T00:06:00Z")
            .create
            .is_none()
    );
}

#[test]
fn concurrency_forbid_and_replace() {
    let mut cj = cronjob(json!({"concurrencyPolicy": "Forbid"}));
    let running = job("tick-1", "j1", json!({}));
    cj.status = Some(
        serde_json::from_value(json!({
            "active": [{"kind": "Job", "name": "tick-1", "uid": "j1", "namespace": "default"}],
            "lastScheduleTime": "2024-01-01T00:00:00Z"
        }))
        .unwrap_or_default(),
    );
    let plan = run(&cj, std::slice::from_ref(&running), "2024-01-01T00:05:01Z");
    assert!(plan.create.is_none());
    assert!(plan.events.iter().any(|e| e.reason == "JobAlreadyActive"));
    cj.spec.concurrency_policy = Some("Replace".into());
    let plan = run(&cj, &[running], "2024-01-01T00:05:01Z");
    assert_eq!(plan.delete, ["tick-1"]);
    assert!(plan.create.is_some());
}

#[test]
fn starting_deadline_skips_late_runs_and_suspend_stops() {
    let cj = cronjob(json!({"startingDeadlineSeconds": 10}));
    // 00:05 was more than 10 s ago: that run is skipped; the next one is awaited
    let plan = run(&cj, &[], "2024-01-01T00:05:30Z");
    assert!(plan.create.is_none());
    assert_eq!(plan.requeue_after, Some(270));
    assert!(run(&cj, &[], "2024-01-01T00:05:05Z").create.is_some());
    let cj = cronjob(json!({"suspend": true}));
    assert!(run(&cj, &[], "2024-01-01T00:05:30Z").create.is_none());
}

#[test]
fn finished_jobs_leave_active_and_history_is_limited() {
    let mut cj = cronjob(json!({"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}));
    cj.status = Some(
        serde_json::from_value(json!({
            "active": [{"kind": "Job", "name": "tick-2", "uid": "j2", "namespace": "default"}],
            "lastScheduleTime": "2024-01-01T00:05:00Z"
        }))
        .unwrap_or_default(),
    );
    let done = |n: &str, u: &str, t: &str, ty: &str| {
        job(
            n,
            u,
            json!({"completionTime": t, "conditions": [{"type": ty, "status": "True", "lastTransitionTime": t}]}),
        )
    };
    let jobs = [
        done("tick-1", "j1", "2024-01-01T00:01:00Z", "Complete"),
        done("tick-2", "j2", "2024-01-01T00:06:00Z", "Complete"),
        done("tick-3", "j3", "2024-01-01T00:02:00Z", "Failed"),
    ];
    let plan = run(&cj, &jobs, "2024-01-01T00:07:00Z");
    let mut del = plan.delete.clone();
    del.sort();
    assert_eq!(del, ["tick-1", "tick-3"]);
    let s = plan.status.unwrap_or_default();
    assert!(s.active.is_none());
    assert_eq!(
        s.last_successful_time.map(|t| t.0.as_second()),
        Some(at("2024-01-01T00:06:00Z").timestamp())
    );
}

#[test]
fn time_zone_and_bad_schedule() {
    let cj = cronjob(json!({"schedule": "30 9 * * *", "timeZone": "Asia/Tokyo"}));
    let plan = run(&cj, &[], "2024-01-02T00:31:00Z");
    let j = plan.create.unwrap_or_default();
    let ann = j.metadata.annotations.unwrap_or_default();
    assert_eq!(
        ann.get(SCHEDULED_TIMESTAMP).map(String::as_str),
        Some("2024-01-02T09:30:00+09:00")
    );
    let cj = cronjob(json!({"schedule": "61 * * * *"}));
    let plan = run(&cj, &[], "2024-01-02T00:31:00Z");
    assert!(
        plan.events
            .iter()
            .any(|e| e.reason == "UnparseableSchedule" && e.warning)
    );
    let cj = cronjob(json!({"timeZone": "Nowhere/Land"}));
    assert!(
        run(&cj, &[], "2024-01-02T00:31:00Z")
            .events
            .iter()
            .any(|e| e.reason == "UnknownTimeZone")
    );
}
