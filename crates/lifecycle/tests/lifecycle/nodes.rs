//! Node lifecycle: a silent node turns Unknown and is tainted, pods go by their tolerations,
//! the node comes back clean; pods on nodes that do not exist are collected.

use serde_json::json;

use super::harness::{Cluster, cluster, eventually, fast};

fn now_micro() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn now_secs() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn ready_node(c: &Cluster, name: &str) {
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "Node", "metadata": { "name": name },
        "status": { "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
                                      "message": "kubelet is posting ready status",
                                      "lastHeartbeatTime": now_secs(), "lastTransitionTime": now_secs() }] }
    }));
    // Status as a kubelet would post it.
    post_ready(c, name);
}

fn post_ready(c: &Cluster, name: &str) {
    let patch = json!({ "status": { "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "kubelet is posting ready status", "lastHeartbeatTime": now_secs(), "lastTransitionTime": now_secs() }] } });
    c.k.ok(&[
        "patch",
        "node",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
}

fn renew(c: &Cluster, name: &str) {
    let patch = json!({ "spec": { "renewTime": now_micro() } });
    c.k.ok(&[
        "patch",
        "lease",
        name,
        "-n",
        "kube-node-lease",
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
}

fn pod_on(c: &Cluster, name: &str, node: &str, tolerations: serde_json::Value) {
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": { "name": name, "namespace": "default" },
        "spec": { "nodeName": node, "terminationGracePeriodSeconds": 0, "tolerations": tolerations,
                  "containers": [{ "name": "c", "image": "busybox" }] }
    }));
}

#[test]
fn silent_node_turns_unknown_is_tainted_and_evicts_intolerant_pods() {
    let c = cluster(fast());
    ready_node(&c, "hollow");
    c.apply_json(&json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": "hollow", "namespace": "kube-node-lease" },
        "spec": { "holderIdentity": "hollow", "leaseDurationSeconds": 40, "renewTime": now_micro() }
    }));
    let unreachable = "node.kubernetes.io/unreachable";
    pod_on(
        &c,
        "brief",
        "hollow",
        json!([{ "key": unreachable, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2 }]),
    );
    pod_on(
        &c,
        "forever",
        "hollow",
        json!([{ "key": unreachable, "operator": "Exists", "effect": "NoExecute" }]),
    );
    pod_on(&c, "patient", "hollow", json!(null));
    let running = json!({ "status": { "phase": "Running", "conditions": [{ "type": "Ready", "status": "True" }] } });
    c.k.ok(&[
        "patch",
        "pod",
        "patient",
        "--subresource=status",
        "--type=merge",
        "-p",
        &running.to_string(),
    ]);
    assert_eq!(
        c.jsonpath(
            &["pod", "patient"],
            "{.spec.tolerations[?(@.key==\"node.kubernetes.io/unreachable\")].tolerationSeconds}"
        ),
        "300"
    );
    // Renewed: stays Ready past the grace period.
    for _ in 0..6 {
        renew(&c, "hollow");
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
    assert_eq!(
        c.jsonpath(
            &["node", "hollow"],
            "{.status.conditions[?(@.type==\"Ready\")].status}"
        ),
        "True"
    );
    // Silent: Unknown, tainted.
    let ready = |c: &Cluster| {
        c.jsonpath(
            &["node", "hollow"],
            "{.status.conditions[?(@.type==\"Ready\")].status}",
        )
    };
    assert!(
        eventually(20, || ready(&c) == "Unknown"),
        "node stayed {}",
        ready(&c)
    );
    assert_eq!(
        c.jsonpath(
            &["node", "hollow"],
            "{.status.conditions[?(@.type==\"Ready\")].reason}"
        ),
        "NodeStatusUnknown"
    );
    assert_eq!(
        c.jsonpath(
            &["node", "hollow"],
            "{.status.conditions[?(@.type==\"Ready\")].message}"
        ),
        "Kubelet stopped posting node status."
    );
    let effects = |c: &Cluster| {
        c.jsonpath(
            &["node", "hollow"],
            "{.spec.taints[?(@.key==\"node.kubernetes.io/unreachable\")].effect}",
        )
    };
    assert!(
        eventually(10, || effects(&c).contains("NoExecute")
            && effects(&c).contains("NoSchedule")),
        "taints: {}",
        effects(&c)
    );
    // The pod tolerating 2 s goes; the others stay.
    assert!(
        eventually(20, || !c.exists(&["pod", "brief"])),
        "pod with tolerationSeconds=2 stayed"
    );
    assert!(c.exists(&["pod", "forever"]));
    assert!(c.exists(&["pod", "patient"]));
    let pod_ready = |c: &Cluster| {
        c.jsonpath(
            &["pod", "patient"],
            "{.status.conditions[?(@.type==\"Ready\")].status}",
        )
    };
    assert!(
        eventually(10, || pod_ready(&c) == "False"),
        "pod on a silent node stayed Ready"
    );
    let reasons = c.jsonpath(&["events", "-A"], "{.items[*].reason}");
    assert!(reasons.contains("TaintManagerEviction"), "{reasons}");
    assert!(reasons.contains("NodeNotReady"), "{reasons}");
    // Back: taints removed.
    let back = eventually(20, || {
        renew(&c, "hollow");
        post_ready(&c, "hollow");
        effects(&c).is_empty()
    });
    assert!(back, "taints stayed: {}", effects(&c));
    assert_eq!(ready(&c), "True");
}

#[test]
fn pods_bound_to_missing_nodes_are_collected() {
    let c = cluster(fast());
    pod_on(&c, "stray", "ghost", json!(null));
    assert!(
        eventually(20, || !c.exists(&["pod", "stray"])),
        "pod on a missing node stayed"
    );
}
