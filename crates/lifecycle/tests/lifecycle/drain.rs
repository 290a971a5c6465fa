//! cordon, uncordon and drain with a PodDisruptionBudget, through the eviction API.

use std::time::Duration;

use serde_json::json;

use super::harness::{Cluster, cluster, cluster_for, eventually, fast, owned_by, replicaset};
use super::nodes::ready_node;

fn running_pod(c: &Cluster, name: &str, node: &str, owner_uid: &str, grace: i64) {
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": "default", "labels": { "app": "web" },
                      "ownerReferences": owned_by("web", owner_uid) },
        "spec": { "nodeName": node, "terminationGracePeriodSeconds": grace,
                  "containers": [{ "name": "c", "image": "busybox" }] }
    }));
    let status = json!({ "status": { "phase": "Running",
        "conditions": [{ "type": "Ready", "status": "True" }] } });
    c.k.ok(&[
        "patch",
        "pod",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
}

fn pods_on_worker(c: &Cluster) -> usize {
    c.jsonpath(
        &["pods", "--field-selector=spec.nodeName=worker"],
        "{.items[*].metadata.name}",
    )
    .split_whitespace()
    .count()
}

#[test]
fn cordon_drain_stops_at_the_budget_and_uncordon_v1_33() {
    cordon_drain_stops_at_the_budget_and_uncordon("1.33");
}

#[test]
fn cordon_drain_stops_at_the_budget_and_uncordon_v1_27() {
    cordon_drain_stops_at_the_budget_and_uncordon("1.27");
}

fn cordon_drain_stops_at_the_budget_and_uncordon(version: &str) {
    let mut config = fast();
    config.node_monitor_grace_period = Duration::from_secs(600);
    config.node_startup_grace_period = Duration::from_secs(600);
    let c = cluster_for(version, config);
    ready_node(&c, "worker");

    c.k.ok(&["cordon", "worker"]);
    assert_eq!(
        c.jsonpath(&["node", "worker"], "{.spec.unschedulable}"),
        "true"
    );
    let unschedulable_taint = |c: &Cluster| {
        c.jsonpath(
            &["node", "worker"],
            "{.spec.taints[?(@.key==\"node.kubernetes.io/unschedulable\")].effect}",
        )
    };
    assert!(eventually(10, || unschedulable_taint(&c) == "NoSchedule"));
    c.k.ok(&["uncordon", "worker"]);
    assert_eq!(c.jsonpath(&["node", "worker"], "{.spec.unschedulable}"), "");
    assert!(eventually(10, || unschedulable_taint(&c).is_empty()));

    c.apply_json(&replicaset("web", 3));
    let uid = c.uid(&["rs", "web"]);
    for i in 0..3 {
        running_pod(&c, &format!("web-{i}"), "worker", &uid, 0);
    }
    c.apply_json(&json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": { "name": "web", "namespace": "default" },
        "spec": { "minAvailable": 2, "selector": { "matchLabels": { "app": "web" } } }
    }));
    let allowed = |c: &Cluster| c.jsonpath(&["pdb", "web"], "{.status.disruptionsAllowed}");
    assert!(
        eventually(20, || allowed(&c) == "1"),
        "disruptionsAllowed {}",
        allowed(&c)
    );
    assert_eq!(c.jsonpath(&["pdb", "web"], "{.status.currentHealthy}"), "3");
    assert_eq!(c.jsonpath(&["pdb", "web"], "{.status.desiredHealthy}"), "2");
    assert_eq!(c.jsonpath(&["pdb", "web"], "{.status.expectedPods}"), "3");
    assert_eq!(
        c.jsonpath(
            &["pdb", "web"],
            "{.status.conditions[?(@.type==\"DisruptionAllowed\")].reason}"
        ),
        "SufficientPods"
    );

    let out = c.k.run(&[
        "drain",
        "worker",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--disable-eviction=false",
        "--timeout=12s",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "drain went through the budget: {text}"
    );
    assert!(
        text.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{text}"
    );
    assert!(text.contains("evicted"), "{text}");
    assert_eq!(pods_on_worker(&c), 2, "{text}");
    assert_eq!(
        c.jsonpath(&["node", "worker"], "{.spec.unschedulable}"),
        "true"
    );
    assert!(eventually(20, || allowed(&c) == "0"));
    assert_eq!(
        c.jsonpath(
            &["pdb", "web"],
            "{.status.conditions[?(@.type==\"DisruptionAllowed\")].reason}"
        ),
        "InsufficientPods"
    );

    c.k.ok(&["delete", "pdb", "web"]);
    let out = c.k.run(&[
        "drain",
        "worker",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--disable-eviction=false",
        "--timeout=30s",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("node/worker drained"), "{text}");
    assert_eq!(pods_on_worker(&c), 0);
}

#[test]
fn eviction_api_marks_the_pod_and_answers_429_at_the_budget() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, EvictParams};

    let mut config = fast();
    config.node_monitor_grace_period = Duration::from_secs(600);
    config.node_startup_grace_period = Duration::from_secs(600);
    let c = cluster(config);
    ready_node(&c, "worker");
    c.apply_json(&replicaset("web", 2));
    let uid = c.uid(&["rs", "web"]);
    for i in 0..2 {
        // A grace period keeps the evicted pod around, terminating, to be looked at.
        running_pod(&c, &format!("web-{i}"), "worker", &uid, 30);
    }
    c.apply_json(&json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": { "name": "web", "namespace": "default" },
        "spec": { "maxUnavailable": "50%", "selector": { "matchLabels": { "app": "web" } } }
    }));
    let allowed = |c: &Cluster| c.jsonpath(&["pdb", "web"], "{.status.disruptionsAllowed}");
    assert!(
        eventually(20, || allowed(&c) == "1"),
        "disruptionsAllowed {}",
        allowed(&c)
    );
    assert_eq!(c.jsonpath(&["pdb", "web"], "{.status.expectedPods}"), "2");

    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let first = c.rt.block_on(pods.evict("web-0", &EvictParams::default()));
    assert!(first.is_ok(), "{first:?}");
    let dump = c.k.run(&["get", "pod", "web-0", "-o", "json"]);
    assert!(
        !c.jsonpath(&["pod", "web-0"], "{.metadata.deletionTimestamp}")
            .is_empty(),
        "{}{}",
        String::from_utf8_lossy(&dump.stdout),
        String::from_utf8_lossy(&dump.stderr)
    );
    assert_eq!(
        c.jsonpath(
            &["pod", "web-0"],
            "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}"
        ),
        "EvictionByEvictionAPI"
    );
    let second = c.rt.block_on(pods.evict("web-1", &EvictParams::default()));
    match second {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 429);
            assert_eq!(s.reason, "TooManyRequests");
            assert_eq!(
                s.message,
                "Cannot evict pod as it would violate the pod's disruption budget."
            );
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(c.exists(&["pod", "web-1"]));
    assert_eq!(
        c.jsonpath(&["pdb", "web"], "{.status.disruptionsAllowed}"),
        "0"
    );
    // A name that does not match the URL is refused.
    let body = r#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"other","namespace":"default"}}"#;
    let mismatch = c.k.run_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/web-1/eviction",
            "-f",
            "-",
        ],
        Some(body),
    );
    assert!(!mismatch.status.success());
    let text = String::from_utf8_lossy(&mismatch.stderr).to_string();
    assert!(
        text.contains("name in URL does not match name in Eviction object"),
        "{text}"
    );
}
