//! Decision tests of the DaemonSet controller.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use serde_json::json;

use super::decide::{Input, Plan, decide};
use super::nodes::{should_run, target_node, tolerates};
use crate::util::fixtures::pod;
use crate::util::history::REVISION_LABEL;

fn ds(image: &str, extra: serde_json::Value) -> DaemonSet {
    let mut pod_spec = json!({"containers": [{"name": "c", "image": image}]});
    if let (Some(m), Some(e)) = (pod_spec.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "kube-system", "uid": "d1", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}
        }
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn node(name: &str, labels: serde_json::Value, spec: serde_json::Value) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "spec": spec}))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run(d: &DaemonSet, nodes: &[Node], pods: &[Pod], revs: &[ControllerRevision]) -> Plan {
    decide(Input {
        ds: d,
        nodes,
        pods,
        revisions: revs,
        now: 1000,
    })
}

fn nodes_of(pods: &[Pod]) -> Vec<String> {
    let mut v: Vec<String> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref().and_then(target_node))
        .collect();
    v.sort();
    v
}

/// A running, ready daemon pod on `node` at revision `hash`.
fn daemon(name: &str, node: &str, hash: &str) -> Pod {
    pod(name)
        .node(node)
        .ready_at(10)
        .label(REVISION_LABEL, hash)
        .owner("DaemonSet", "agent", "d1")
        .build()
}

#[test]
fn one_pod_per_eligible_node_pinned_by_affinity() {
    let d = ds("a", json!({"nodeSelector": {"disk": "ssd"}}));
    let nodes = [
        node("n1", json!({"disk": "ssd"}), json!({})),
        node("n2", json!({"disk": "hdd"}), json!({})),
        node(
            "n3",
            json!({"disk": "ssd"}),
            json!({"taints": [{"key": "gpu", "effect": "NoSchedule"}]}),
        ),
        node("n4", json!({"disk": "ssd"}), json!({"unschedulable": true})),
    ];
    let plan = run(&d, &nodes, &[], &[]);
    assert_eq!(nodes_of(&plan.create), ["n1", "n4"]);
    let p = &plan.create[0];
    let spec = p.spec.clone().unwrap_or_default();
    let req = spec
        .affinity
        .and_then(|a| a.node_affinity)
        .and_then(|n| n.required_during_scheduling_ignored_during_execution)
        .unwrap_or_default();
    let f = req.node_selector_terms[0]
        .match_fields
        .clone()
        .unwrap_or_default();
    assert_eq!(f[0].key, "metadata.name");
    assert_eq!(f[0].values.as_deref(), Some(&["n1".to_string()][..]));
    let tols = spec.tolerations.unwrap_or_default();
    assert!(
        tols.iter()
            .any(|t| t.key.as_deref() == Some("node.kubernetes.io/not-ready"))
    );
    assert!(
        p.metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key(REVISION_LABEL))
    );
    assert!(plan.create_revision.is_some());
    assert_eq!(plan.status.desired_number_scheduled, 2);
}

#[test]
fn taints_and_tolerations() {
    let t = |k: &str, e: &str| Taint {
        key: k.into(),
        effect: e.into(),
        value: None,
        time_added: None,
    };
    let exists_all = Toleration {
        operator: Some("Exists".into()),
        ..Default::default()
    };
    assert!(tolerates(&exists_all, &t("x", "NoExecute")));
    let eq = Toleration {
        key: Some("x".into()),
        value: Some("1".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    };
    let mut tx = t("x", "NoSchedule");
    tx.value = Some("1".into());
    assert!(tolerates(&eq, &tx));
    assert!(!tolerates(&eq, &t("x", "NoSchedule")));
    assert!(!tolerates(&eq, &t("x", "NoExecute")));
    let spec = ds("a", json!({})).spec.template.spec.unwrap_or_default();
    let noexec = node(
        "n",
        json!({}),
        json!({"taints": [{"key": "bad", "effect": "NoExecute"}]}),
    );
    assert_eq!(should_run(&spec, &noexec), (false, false));
    let nosched = node(
        "n",
        json!({}),
        json!({"taints": [{"key": "bad", "effect": "NoSchedule"}]}),
    );
    assert_eq!(should_run(&spec, &nosched), (false, true));
    let notready = node(
        "n",
        json!({}),
        json!({"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]}),
    );
    assert_eq!(should_run(&spec, &notready), (true, true));
    let aff = ds(
        "a",
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
        {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}),
    );
    let aspec = aff.spec.template.spec.unwrap_or_default();
    assert_eq!(
        should_run(&aspec, &node("n", json!({"zone": "a"}), json!({}))),
        (true, true)
    );
    assert_eq!(
        should_run(&aspec, &node("n", json!({"zone": "b"}), json!({}))),
        (false, false)
    );
}

#[test]
fn leaving_nodes_lose_their_pod_and_duplicates_go() {
    let d = ds("a", json!({}));
    let first = run(&d, &[node("n1", json!({}), json!({}))], &[], &[]);
    let revs = vec![first.create_revision.clone().unwrap_or_default()];
    let hash = revs[0]
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .get(REVISION_LABEL)
        .cloned()
        .unwrap_or_default();
    let bad = node(
        "n2",
        json!({}),
        json!({"taints": [{"key": "bad", "effect": "NoExecute"}]}),
    );
    let mut dup = daemon("b", "n1", &hash);
    dup.metadata.creation_timestamp = Some(crate::util::time::time(50));
    let pods = [daemon("a", "n1", &hash), dup, daemon("c", "n2", &hash)];
    let plan = run(&d, &[node("n1", json!({}), json!({})), bad], &pods, &revs);
    let mut del: Vec<_> = plan
        .delete
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    del.sort();
    assert_eq!(del, ["b", "c"]);
    assert_eq!(plan.status.number_misscheduled, 1);
    assert_eq!(plan.status.current_number_scheduled, 1);
}

#[test]
fn rolling_update_within_max_unavailable() {
    let d1 = ds("a", json!({}));
    let nodes: Vec<Node> = (1..=3)
        .map(|i| node(&format!("n{i}"), json!({}), json!({})))
        .collect();
    let first = run(&d1, &nodes, &[], &[]);
    let revs = vec![first.create_revision.clone().unwrap_or_default()];
    let old = revs[0]
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .get(REVISION_LABEL)
        .cloned()
        .unwrap_or_default();
    let pods: Vec<Pod> = (1..=3)
        .map(|i| daemon(&format!("p{i}"), &format!("n{i}"), &old))
        .collect();
    let plan = run(&d1, &nodes, &pods, &revs);
    assert!(plan.delete.is_empty() && plan.create.is_empty());
    assert_eq!(plan.status.number_ready, 3);
    assert_eq!(plan.status.updated_number_scheduled, Some(3));
    assert_eq!(plan.status.number_available, Some(3));

    let d2 = ds("b", json!({}));
    let plan = run(&d2, &nodes, &pods, &revs);
    assert_eq!(plan.delete.len(), 1, "maxUnavailable 1");
    assert!(plan.create_revision.is_some());
    // one node without its pod: it is the unavailable one; nothing else goes
    let plan = run(&d2, &nodes, &pods[1..], &revs);
    assert_eq!(nodes_of(&plan.create), ["n1"]);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.status.number_unavailable, Some(1));
}
