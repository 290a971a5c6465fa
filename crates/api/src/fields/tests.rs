use super::*;
use crate::registry;
use serde_json::json;

fn r(group: &str, plural: &str) -> &'static Resource {
    let v = if group == "autoscaling" { "v2" } else { "v1" };
    registry().find(group, v, plural).unwrap()
}

#[test]
fn metadata_fields_work_for_every_kind() {
    let cm = json!({"metadata": {"name": "a", "namespace": "ns"}});
    assert_eq!(
        field_value(r("", "configmaps"), &cm, "metadata.name").as_deref(),
        Some("a")
    );
    assert_eq!(
        field_value(r("", "configmaps"), &cm, "metadata.namespace").as_deref(),
        Some("ns")
    );
    assert!(supported(
        r("storage.k8s.io", "storageclasses"),
        "metadata.name"
    ));
}

#[test]
fn pod_fields_read_spec_and_status() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "restartPolicy": "Always"},
        "status": {"phase": "Running", "podIP": "10.0.0.5"}});
    let pods = r("", "pods");
    assert_eq!(
        field_value(pods, &pod, "spec.nodeName").as_deref(),
        Some("n1")
    );
    assert_eq!(
        field_value(pods, &pod, "status.phase").as_deref(),
        Some("Running")
    );
    assert_eq!(
        field_value(pods, &pod, "status.podIP").as_deref(),
        Some("10.0.0.5")
    );
    assert_eq!(
        field_value(pods, &pod, "spec.hostNetwork").as_deref(),
        Some("false")
    );
    assert_eq!(
        field_value(pods, &pod, "status.nominatedNodeName").as_deref(),
        Some("")
    );
}

#[test]
fn unscheduled_pod_has_empty_node_name() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {}});
    assert_eq!(
        field_value(r("", "pods"), &pod, "spec.nodeName").as_deref(),
        Some("")
    );
}

#[test]
fn unsupported_fields_are_rejected() {
    assert!(!supported(r("", "pods"), "foo"));
    assert!(!supported(r("", "configmaps"), "data.x"));
    assert_eq!(
        field_value(r("", "pods"), &json!({}), "spec.containers"),
        None
    );
}

#[test]
fn event_fields_include_involved_object_and_source() {
    let ev = json!({"involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"}, "reason": "Started",
        "source": {"component": "kubelet"}, "type": "Normal"});
    let events = r("", "events");
    assert_eq!(
        field_value(events, &ev, "involvedObject.name").as_deref(),
        Some("web")
    );
    assert_eq!(
        field_value(events, &ev, "involvedObject.uid").as_deref(),
        Some("u1")
    );
    assert_eq!(
        field_value(events, &ev, "source").as_deref(),
        Some("kubelet")
    );
    assert_eq!(field_value(events, &ev, "type").as_deref(), Some("Normal"));
}

#[test]
fn events_group_objects_map_to_core_field_names() {
    let ev = json!({"apiVersion": "events.k8s.io/v1", "regarding": {"kind": "Node", "name": "n"},
        "reportingController": "kubelet"});
    let events = r("events.k8s.io", "events");
    assert_eq!(
        field_value(events, &ev, "involvedObject.kind").as_deref(),
        Some("Node")
    );
    assert_eq!(
        field_value(events, &ev, "reportingComponent").as_deref(),
        Some("kubelet")
    );
}

#[test]
fn per_kind_fields_match_upstream() {
    assert_eq!(
        field_value(r("", "secrets"), &json!({"type": "Opaque"}), "type").as_deref(),
        Some("Opaque")
    );
    assert_eq!(
        field_value(
            r("", "nodes"),
            &json!({"spec": {"unschedulable": true}}),
            "spec.unschedulable"
        )
        .as_deref(),
        Some("true")
    );
    assert_eq!(
        field_value(
            r("", "namespaces"),
            &json!({"status": {"phase": "Active"}}),
            "status.phase"
        )
        .as_deref(),
        Some("Active")
    );
    assert_eq!(
        field_value(
            r("apps", "replicasets"),
            &json!({"status": {"replicas": 3}}),
            "status.replicas"
        )
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        field_value(
            r("batch", "jobs"),
            &json!({"status": {}}),
            "status.successful"
        )
        .as_deref(),
        Some("0")
    );
    assert_eq!(
        field_value(
            r("", "services"),
            &json!({"spec": {"type": "NodePort"}}),
            "spec.type"
        )
        .as_deref(),
        Some("NodePort")
    );
    assert!(!supported(r("apps", "deployments"), "status.replicas"));
}
