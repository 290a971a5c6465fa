//! cordon, uncordon and drain with a PodDisruptionBudget, through the eviction API.

use std::time::Duration;

use serde_json::json;

use super::harness::{Cluster, cluster, eventually, fast, owned_by, replicaset};
use super::nodes::ready_node;

fn running_pod(c: &Cluster, name: &str, node: &str, owner_uid: &str) {
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": "default", "labels": { "app": "web" },
                      "ownerReferences": owned_by("web", owner_uid) },
        "spec": { "nodeName": node, "terminationGracePeriodSeconds": 0,
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
fn cordon_drain_stops_at_the_budget_and_uncordon() {
    let mut config = fast();
    config.node_monitor_grace_period = Duration::from_secs(600);
    config.node_startup_grace_period = Duration::from_secs(600);
    let c = cluster(config);
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
        running_pod(&c, &format!("web-{i}"), "worker", &uid);
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
