//! Decision tests of the ReplicaSet controller.

use super::decide::{View, decide};
use crate::util::fixtures::{pod, template};
use crate::util::selector;

fn view(replicas: i32) -> View {
    View {
        namespace: "default".into(),
        name: "web".into(),
        generation: 2,
        replicas,
        min_ready_seconds: 0,
        selector: selector::from_map(&[("app".to_string(), "web".to_string())].into()),
        template: template("nginx"),
        ..Default::default()
    }
}

#[test]
fn creates_missing_replicas() {
    let pods = vec![pod("a").build()];
    let plan = decide(&view(3), &pods, true, 100);
    assert_eq!(plan.create, 2);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.status.replicas, 1);
    assert_eq!(plan.status.observed_generation, 2);
}

#[test]
fn unmet_expectations_change_nothing_but_status() {
    let plan = decide(&view(3), &[], false, 100);
    assert_eq!(plan.create, 0);
    assert_eq!(plan.status.replicas, 0);
}

#[test]
fn deletes_unscheduled_and_not_ready_first() {
    let pods = vec![
        pod("ready").node("n").ready_at(10).build(),
        pod("pending").node("n").build(),
        pod("unscheduled").build(),
    ];
    let plan = decide(&view(1), &pods, true, 100);
    let names: Vec<_> = plan
        .delete
        .iter()
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["unscheduled", "pending"]);
}

#[test]
fn status_counts_ready_available_and_labels() {
    let mut v = view(3);
    v.min_ready_seconds = 30;
    let pods = vec![
        pod("a").ready_at(10).build(),
        pod("b").ready_at(90).build(),
        pod("c").build(),
    ];
    let mut unlabeled = pod("d").build();
    unlabeled.metadata.labels = None;
    let mut all = pods.clone();
    all.push(unlabeled);
    let plan = decide(&v, &all, true, 100);
    assert_eq!(plan.status.replicas, 4);
    assert_eq!(plan.status.fully_labeled_replicas, 3);
    assert_eq!(plan.status.ready_replicas, 2);
    assert_eq!(plan.status.available_replicas, 1);
    assert_eq!(plan.requeue_after, Some(20));
    assert_eq!(plan.delete.len(), 1);
}

#[test]
fn deleting_owner_only_reports() {
    let mut v = view(3);
    v.deleting = true;
    let plan = decide(&v, &[], true, 100);
    assert_eq!(plan.create, 0);
}
