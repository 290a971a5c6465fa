//! Decision tests of the Deployment controller: rollouts simulated over in-memory ReplicaSets.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::decide::{Act, Input, Plan, decide};
use super::util::*;
use crate::util::time::time;

fn deployment(replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d1", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        }
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Applies a plan to the in-memory cluster: ReplicaSets created/updated/deleted, the
/// deployment's status and annotations written. `available` makes every replica available
/// at once (a perfect kubelet); otherwise pods never become ready.
fn apply(d: &mut Deployment, rss: &mut Vec<ReplicaSet>, plan: &Plan, available: bool, t: &mut i64) {
    for a in &plan.acts {
        match a {
            Act::CreateRs(rs) => {
                let mut rs = rs.clone();
                *t += 1;
                rs.metadata.creation_timestamp = Some(time(*t));
                rs.metadata.uid = rs.metadata.name.clone();
                rss.push(rs);
            }
            Act::UpdateRs(rs) => {
                if let Some(x) = rss.iter_mut().find(|x| x.metadata.name == rs.metadata.name) {
                    let st = x.status.clone();
                    *x = rs.clone();
                    x.status = st;
                }
            }
            Act::DeleteRs { name, .. } => rss.retain(|x| x.metadata.name.as_ref() != Some(name)),
            Act::Annotate(a) => d
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .extend(a.clone()),
            Act::Event { .. } => {}
        }
    }
    if let Some(s) = &plan.status {
        d.status = Some(s.clone());
    }
    // the ReplicaSet controller and kubelet
    for rs in rss.iter_mut() {
        let n = rs_replicas(rs);
        let prev = rs.status.clone().unwrap_or_default();
        let avail = if available {
            n
        } else {
            prev.available_replicas.unwrap_or(0).min(n)
        };
        rs.status = Some(ReplicaSetStatus {
            replicas: n,
            ready_replicas: Some(avail),
            available_replicas: Some(avail),
            observed_generation: Some(1),
            ..Default::default()
        });
    }
}

fn step(d: &mut Deployment, rss: &mut Vec<ReplicaSet>, available: bool, t: &mut i64) -> Plan {
    let plan = decide(Input {
        d,
        rss: rss.clone(),
        rs_with_running_pods: HashSet::new(),
        now: 1000 + *t,
    });
    let mut dd = d.clone();
    apply(&mut dd, rss, &plan, available, t);
    *d = dd;
    plan
}

fn rs_of<'a>(rss: &'a [ReplicaSet], image: &str) -> Option<&'a ReplicaSet> {
    rss.iter().find(|r| {
        r.spec
            .template
            .as_ref()
            .and_then(|t| t.spec.as_ref())
            .map(|s| s.containers[0].image.as_deref() == Some(image))
            .unwrap_or(false)
    })
}

fn cond_reason(d: &Deployment, t: &str) -> Option<String> {
    d.status
        .as_ref()
        .and_then(|s| condition(s, t))
        .and_then(|c| c.reason.clone())
}

#[test]
fn fenceposts_round_surge_up_and_unavailable_down() {
    let d = deployment(10, "a");
    assert_eq!(fenceposts(&d), (3, 2));
    let d = deployment(3, "a");
    assert_eq!(fenceposts(&d), (1, 0));
    let mut d = deployment(3, "a");
    if let Some(ru) = d
        .spec
        .strategy
        .as_mut()
        .and_then(|s| s.rolling_update.as_mut())
    {
        ru.max_surge = Some(IntOrString::Int(0));
        ru.max_unavailable = Some(IntOrString::String("0%".into()));
    }
    assert_eq!(fenceposts(&d), (0, 1));
    assert!(scaled_value(&IntOrString::String("x%".into()), 3, true).is_err());
}

#[test]
fn new_deployment_creates_first_replicaset_with_revision_1() {
    let mut d = deployment(3, "nginx:1");
    let mut rss = vec![];
    let mut t = 0;
    let plan = step(&mut d, &mut rss, false, &mut t);
    let Some(Act::CreateRs(rs)) = plan.acts.first() else {
        panic!("expected a create first: {:?}", plan.acts)
    };
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .cloned();
    let hash = hash.unwrap_or_default();
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(rs.spec.replicas, Some(3));
    assert_eq!(
        rs.spec
            .selector
            .match_labels
            .as_ref()
            .and_then(|m| m.get("pod-template-hash")),
        Some(&hash)
    );
    let ann = rs.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("1"));
    assert_eq!(ann.get(DESIRED_REPLICAS).map(String::as_str), Some("3"));
    assert_eq!(ann.get(MAX_REPLICAS).map(String::as_str), Some("4"));
    assert!(plan.acts.iter().any(|a| matches!(a, Act::Event { message, .. } if message == &format!("Scaled up replica set web-{hash} to 3"))));
    assert_eq!(
        d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        cond_reason(&d, PROGRESSING).as_deref(),
        Some(NEW_RS_CREATED)
    );
    // pods become available: complete
    step(&mut d, &mut rss, true, &mut t);
    step(&mut d, &mut rss, true, &mut t);
    assert_eq!(
        cond_reason(&d, PROGRESSING).as_deref(),
        Some(NEW_RS_AVAILABLE)
    );
    assert_eq!(cond_reason(&d, AVAILABLE).as_deref(), Some(MIN_AVAILABLE));
    let s = d.status.clone().unwrap_or_default();
    assert_eq!(
        (s.replicas, s.updated_replicas, s.available_replicas),
        (Some(3), Some(3), Some(3))
    );
    // a further sync changes nothing
    let plan = step(&mut d, &mut rss, true, &mut t);
    assert!(plan.acts.is_empty(), "{:?}", plan.acts);
    assert!(plan.status.is_none());
}

#[test]
fn rolling_update_respects_surge_and_unavailability() {
    let mut d = deployment(4, "v1");
    let mut rss = vec![];
    let mut t = 0;
    for _ in 0..3 {
        step(&mut d, &mut rss, true, &mut t);
    }
    d.spec.template = deployment(4, "v2").spec.template;
    d.metadata.generation = Some(2);
    // first step: surge one new replica (25% of 4), nothing scaled down yet
    let plan = step(&mut d, &mut rss, false, &mut t);
    assert!(matches!(plan.acts.first(), Some(Act::CreateRs(rs)) if rs.spec.replicas == Some(1)));
    // and in the same sync the old one gives up maxUnavailable (1) of its available pods
    assert_eq!(
        rs_replicas(rs_of(&rss, "v1").unwrap_or_else(|| panic!("v1"))),
        3
    );
    // with the new pods never ready, old can go down by maxUnavailable (1) only
    for _ in 0..5 {
        step(&mut d, &mut rss, false, &mut t);
    }
    let total: i32 = rss.iter().map(rs_replicas).sum();
    assert!(total <= 5, "surge exceeded: {total}");
    let avail: i32 = rss.iter().map(rs_available).sum();
    assert!(avail >= 3, "too many unavailable: {avail}");
    // now everything becomes available: the rollout finishes
    for _ in 0..10 {
        step(&mut d, &mut rss, true, &mut t);
        let total: i32 = rss.iter().map(rs_replicas).sum();
        assert!(total <= 5);
    }
    assert_eq!(
        rs_replicas(rs_of(&rss, "v2").unwrap_or_else(|| panic!("v2"))),
        4
    );
    assert_eq!(
        rs_replicas(rs_of(&rss, "v1").unwrap_or_else(|| panic!("v1"))),
        0
    );
    assert_eq!(
        revision(rs_of(&rss, "v2").unwrap_or_else(|| panic!("v2"))),
        2
    );
    assert_eq!(
        cond_reason(&d, PROGRESSING).as_deref(),
        Some(NEW_RS_AVAILABLE)
    );
}

#[test]
fn rollback_reuses_old_replicaset_with_new_revision() {
    let mut d = deployment(2, "v1");
    let mut rss = vec![];
    let mut t = 0;
    for _ in 0..3 {
        step(&mut d, &mut rss, true, &mut t);
    }
    d.spec.template = deployment(2, "v2").spec.template;
    for _ in 0..8 {
        step(&mut d, &mut rss, true, &mut t);
    }
    assert_eq!(rss.len(), 2);
    // kubectl rollout undo: the old template comes back
    d.spec.template = deployment(2, "v1").spec.template;
    for _ in 0..8 {
        step(&mut d, &mut rss, true, &mut t);
    }
    assert_eq!(rss.len(), 2, "no third ReplicaSet");
    let v1 = rs_of(&rss, "v1").unwrap_or_else(|| panic!("v1"));
    assert_eq!(rs_replicas(v1), 2);
    assert_eq!(revision(v1), 3);
    let hist = v1
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_HISTORY))
        .cloned();
    assert_eq!(hist.as_deref(), Some("1"));
    assert_eq!(
        rs_replicas(rs_of(&rss, "v2").unwrap_or_else(|| panic!("v2"))),
        0
    );
    assert_eq!(
        d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .map(String::as_str),
        Some("3")
    );
}

#[test]
fn recreate_scales_old_to_zero_before_creating_new() {
    let mut d = deployment(2, "v1");
    d.spec.strategy = serde_json::from_value(json!({"type": "Recreate"})).ok();
    let mut rss = vec![];
    let mut t = 0;
    for _ in 0..3 {
        step(&mut d, &mut rss, true, &mut t);
    }
    d.spec.template = deployment(2, "v2").spec.template;
    let plan = step(&mut d, &mut rss, true, &mut t);
    assert!(plan.acts.iter().all(|a| !matches!(a, Act::CreateRs(_))));
    assert_eq!(rs_replicas(&rss[0]), 0);
    // old pods still running: wait
    let uid = rss[0].metadata.uid.clone().unwrap_or_default();
    let plan = decide(Input {
        d: &d,
        rss: rss.clone(),
        rs_with_running_pods: HashSet::from([uid]),
        now: 2000,
    });
    assert!(plan.acts.iter().all(|a| !matches!(a, Act::CreateRs(_))));
    // gone: the new ReplicaSet comes with all replicas
    let plan = step(&mut d, &mut rss, true, &mut t);
    assert!(matches!(plan.acts.first(), Some(Act::CreateRs(rs)) if rs.spec.replicas == Some(2)));
}

#[test]
fn paused_deployment_scales_but_does_not_roll() {
    let mut d = deployment(2, "v1");
    let mut rss = vec![];
    let mut t = 0;
    for _ in 0..3 {
        step(&mut d, &mut rss, true, &mut t);
    }
    d.spec.paused = Some(true);
    d.spec.template = deployment(2, "v2").spec.template;
    step(&mut d, &mut rss, true, &mut t);
    assert_eq!(rss.len(), 1);
    assert_eq!(cond_reason(&d, PROGRESSING).as_deref(), Some(PAUSED));
    d.spec.replicas = Some(5);
    step(&mut d, &mut rss, true, &mut t);
    assert_eq!(rs_replicas(&rss[0]), 5);
    d.spec.paused = None;
    step(&mut d, &mut rss, true, &mut t);
    assert_eq!(rss.len(), 2);
}

#[test]
fn scaling_during_rollout_is_proportional() {
    let mut d = deployment(10, "v1");
    let mut rss = vec![];
    let mut t = 0;
    for _ in 0..3 {
        step(&mut d, &mut rss, true, &mut t);
    }
    d.spec.template = deployment(10, "v2").spec.template;
    for _ in 0..2 {
        step(&mut d, &mut rss, false, &mut t);
    }
    let before: i32 = rss.iter().map(rs_replicas).sum();
    assert_eq!(before, 13);
    d.spec.replicas = Some(20);
    step(&mut d, &mut rss, false, &mut t);
    let after: i32 = rss.iter().map(rs_replicas).sum();
    assert_eq!(after, 20 + 5);
    // both grew
    assert!(rs_replicas(rs_of(&rss, "v1").unwrap_or_else(|| panic!("v1"))) > 8);
    assert!(rs_replicas(rs_of(&rss, "v2").unwrap_or_else(|| panic!("v2"))) > 3);
}

#[test]
fn history_beyond_limit_is_deleted_oldest_first() {
    let mut d = deployment(1, "v1");
    d.spec.revision_history_limit = Some(1);
    let mut rss = vec![];
    let mut t = 0;
    for img in ["v1", "v2", "v3", "v4"] {
        d.spec.template = deployment(1, img).spec.template;
        for _ in 0..6 {
            step(&mut d, &mut rss, true, &mut t);
        }
    }
    let names: Vec<_> = rss.iter().map(revision).collect();
    assert_eq!(names, [3, 4]);
}

#[test]
fn progress_deadline_times_out() {
    let mut d = deployment(1, "v1");
    d.spec.progress_deadline_seconds = Some(10);
    let mut rss = vec![];
    let mut t = 0;
    step(&mut d, &mut rss, false, &mut t);
    let plan = step(&mut d, &mut rss, false, &mut t);
    assert!(plan.requeue_after.is_some());
    let plan = decide(Input {
        d: &d,
        rss: rss.clone(),
        rs_with_running_pods: HashSet::new(),
        now: 5000,
    });
    let s = plan.status.unwrap_or_default();
    let c = condition(&s, PROGRESSING).cloned().unwrap_or_default();
    assert_eq!(c.reason.as_deref(), Some(TIMED_OUT));
    assert_eq!(c.status.as_deref(), Some("False"));
}
