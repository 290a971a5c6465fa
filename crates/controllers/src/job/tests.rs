//! Decision tests of the Job controller.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::decide::{Input, Plan, TRACKING_FINALIZER, backoff_delay, decide, has_condition};
use super::indexes::COMPLETION_INDEX;
use super::pod_for;
use crate::util::fixtures::pod;
use crate::util::owner::Owner;

fn job(spec: serde_json::Value) -> Job {
    let mut s = json!({
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j1"}},
        "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j1"}},
                     "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    });
    if let (Some(m), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        m.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "metadata": {"name": "pi", "namespace": "default", "uid": "j1"},
        "spec": s
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn tracked(p: Pod) -> Pod {
    let mut p = p;
    p.metadata.finalizers = Some(vec![TRACKING_FINALIZER.into()]);
    p
}

fn run(j: &Job, pods: &[Pod], now: i64) -> Plan {
    decide(Input {
        job: j,
        pods,
        now,
        expectations_met: true,
    })
}

/// Applies the status of a plan to the job.
fn after(j: &Job, plan: &Plan) -> Job {
    let mut j = j.clone();
    if let Some(s) = &plan.status {
        j.status = Some(s.clone());
    }
    j
}

#[test]
fn creates_up_to_parallelism() {
    let j = job(json!({"completions": 3, "parallelism": 2}));
    let plan = run(&j, &[], 100);
    assert_eq!(plan.create, [None, None]);
    let s = plan.status.unwrap_or_default();
    assert!(s.start_time.is_some());
    assert_eq!(s.active, Some(0));
}

#[test]
fn finished_pods_are_counted_through_the_finalizer_then_job_completes() {
    let j = job(json!({"completions": 1, "parallelism": 1}));
    let p = tracked(pod("pi-a").phase("Succeeded").build());
    let plan = run(&j, std::slice::from_ref(&p), 100);
    let intent = plan.intent.clone().unwrap_or_default();
    assert_eq!(intent.succeeded, Some(vec!["uid-pi-a".to_string()]));
    assert_eq!(plan.remove_finalizer.len(), 1);
    let s = plan.status.clone().unwrap_or_default();
    assert_eq!(s.succeeded, Some(1));
    // criteria met, but the finalizer removal is still pending: not Complete yet
    assert!(has_condition(&s, "SuccessCriteriaMet"));
    assert!(!has_condition(&s, "Complete"));
    // next sync: the pod no longer carries the finalizer; counted once only
    let j = after(&j, &plan);
    let mut p2 = p.clone();
    p2.metadata.finalizers = None;
    let plan = run(&j, &[p2], 101);
    let s = plan.status.clone().unwrap_or_default();
    assert_eq!(s.succeeded, Some(1));
    assert!(has_condition(&s, "Complete"));
    assert!(s.completion_time.is_some());
    assert!(plan.events.iter().any(|e| e.reason == "Completed"));
}

#[test]
fn a_count_interrupted_after_its_intent_is_finished_exactly_once() {
    // The last sync wrote its intent (a uncounted) and removed a's finalizer, then stopped
    // before the final status; b has succeeded since.
    let mut j = job(json!({"completions": 2, "parallelism": 2}));
    j.status = Some(
        serde_json::from_value(json!({
            "succeeded": 0,
            "uncountedTerminatedPods": {"succeeded": ["uid-pi-a"]}
        }))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let a = pod("pi-a").phase("Succeeded").build();
    let b = tracked(pod("pi-b").phase("Succeeded").build());
    let plan = run(&j, &[a.clone(), b.clone()], 100);
    let intent = plan.intent.clone().unwrap_or_default();
    assert_eq!(
        intent.succeeded,
        Some(vec!["uid-pi-a".to_string(), "uid-pi-b".to_string()])
    );
    assert_eq!(plan.remove_finalizer.len(), 1, "only b still holds it");
    assert!(plan.create.is_empty());
    let s = plan.status.clone().unwrap_or_default();
    assert_eq!(s.succeeded, Some(2));
    assert_eq!(
        s.uncounted_terminated_pods
            .clone()
            .unwrap_or_default()
            .succeeded,
        None
    );
    // the next sync sees neither finalizer nor uncounted pod: still 2, now Complete
    let j = after(&j, &plan);
    let mut b = b;
    b.metadata.finalizers = None;
    let plan = run(&j, &[a, b], 101);
    let s = plan.status.clone().unwrap_or_default();
    assert_eq!(s.succeeded, Some(2));
    assert!(has_condition(&s, "Complete"));
    assert!(plan.intent.is_none() && plan.create.is_empty());
}

#[test]
fn backoff_limit_fails_the_job() {
    let j = job(json!({"completions": 1, "backoffLimit": 1}));
    let pods: Vec<Pod> = (0..2)
        .map(|i| tracked(pod(&format!("f{i}")).phase("Failed").build()))
        .collect();
    let plan = run(&j, &pods, 100);
    let s = plan.status.clone().unwrap_or_default();
    assert_eq!(s.failed, Some(2));
    assert!(has_condition(&s, "FailureTarget"));
    assert!(plan.create.is_empty());
    let j = after(&j, &plan);
    let done: Vec<Pod> = pods
        .into_iter()
        .map(|mut p| {
            p.metadata.finalizers = None;
            p
        })
        .collect();
    let plan = run(&j, &done, 101);
    let s = plan.status.clone().unwrap_or_default();
    let failed = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed")
        .and_then(|c| c.reason.clone());
    assert_eq!(failed.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(s.failed, Some(2));
}

#[test]
fn recreation_waits_for_exponential_backoff() {
    assert_eq!(backoff_delay(1), 10);
    assert_eq!(backoff_delay(2), 20);
    assert_eq!(backoff_delay(10), 360);
    let j = job(json!({"completions": 1}));
    let failed = pod("f").phase("Failed").created(100).build();
    let plan = run(&j, std::slice::from_ref(&failed), 105);
    assert!(plan.create.is_empty());
    assert_eq!(plan.requeue_after, Some(5));
    let plan = run(&j, &[failed], 111);
    assert_eq!(plan.create.len(), 1);
}

#[test]
fn active_deadline_fails_with_deadline_exceeded() {
    let mut j = job(json!({"activeDeadlineSeconds": 10}));
    j.status = Some(
        serde_json::from_value(json!({"startTime": "1970-01-01T00:01:40Z"})).unwrap_or_default(),
    );
    let active = pod("a").build();
    let plan = run(&j, &[active], 111);
    assert_eq!(plan.delete.len(), 1);
    let s = plan.status.unwrap_or_default();
    let c = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "FailureTarget")
        .cloned();
    assert_eq!(
        c.and_then(|c| c.reason).as_deref(),
        Some("DeadlineExceeded")
    );
    let plan = run(&j, &[], 105);
    assert_eq!(plan.requeue_after, Some(5));
}

#[test]
fn indexed_job_creates_missing_indexes_and_tracks_completed() {
    let j = job(json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}));
    let p0 = tracked(
        pod("pi-0")
            .phase("Succeeded")
            .annotation(COMPLETION_INDEX, "0")
            .build(),
    );
    let p1 = pod("pi-1").annotation(COMPLETION_INDEX, "1").build();
    let plan = run(&j, &[p0, p1], 100);
    assert_eq!(plan.create, [Some(2)]);
    assert_eq!(
        plan.status.and_then(|s| s.completed_indexes).as_deref(),
        Some("0")
    );
    let pod = pod_for(&j, Some(2), &Owner::of("batch/v1", "Job", &j.metadata));
    let ann = pod.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(ann.get(COMPLETION_INDEX).map(String::as_str), Some("2"));
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("pi-2-"));
    let spec = pod.spec.unwrap_or_default();
    assert_eq!(spec.hostname.as_deref(), Some("pi-2"));
    let env = spec.containers[0].env.clone().unwrap_or_default();
    assert!(env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"));
    assert_eq!(
        pod.metadata.finalizers,
        Some(vec![TRACKING_FINALIZER.to_string()])
    );
}

#[test]
fn suspend_deletes_active_pods_and_resume_restarts_clock() {
    let j = job(json!({"suspend": true, "parallelism": 2}));
    let plan = run(&j, &[pod("a").build()], 100);
    assert_eq!(plan.delete.len(), 1);
    assert!(plan.create.is_empty());
    let j2 = after(&j, &plan);
    assert!(has_condition(
        j2.status.as_ref().unwrap_or(&Default::default()),
        "Suspended"
    ));
    let mut j3 = j2.clone();
    if let Some(s) = j3.spec.as_mut() {
        s.suspend = Some(false);
    }
    let plan = run(&j3, &[], 200);
    assert_eq!(plan.create.len(), 2);
    let s = plan.status.unwrap_or_default();
    assert!(!has_condition(&s, "Suspended"));
    assert_eq!(s.start_time.map(|t| t.0.as_second()), Some(200));
}

#[test]
fn work_queue_job_completes_after_first_success_when_none_active() {
    let mut j = job(json!({"parallelism": 2}));
    j.status = Some(serde_json::from_value(json!({"succeeded": 1})).unwrap_or_default());
    let plan = run(
        &j,
        &[pod("a").phase("Succeeded").build(), pod("b").build()],
        100,
    );
    assert!(plan.create.is_empty());
    let s = plan.status.clone().unwrap_or_default();
    assert!(!has_condition(&s, "Complete"));
    let plan = run(
        &after(&j, &plan),
        &[pod("a").phase("Succeeded").build()],
        101,
    );
    assert!(has_condition(&plan.status.unwrap_or_default(), "Complete"));
}
