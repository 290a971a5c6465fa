use super::*;

fn hpa_v2() -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
        },
        "status": {
            "currentReplicas": 2, "desiredReplicas": 2,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 30, "averageValue": "30m"}}}]
        }
    })
}

#[test]
fn hpa_v2_cpu_metric_becomes_target_cpu_percentage() {
    let v1 = convert(&hpa_v2(), "autoscaling/v1");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
    assert!(v1["spec"].get("metrics").is_none());
    assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 30);
    assert_eq!(v1["spec"]["maxReplicas"], 5);
    assert!(v1["metadata"].get("annotations").is_none());
}

#[test]
fn hpa_v1_target_cpu_becomes_resource_metric() {
    let v1 = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "targetCPUUtilizationPercentage": 80}
    });
    let v2 = convert(&v1, "autoscaling/v2");
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["name"], "cpu");
    assert!(v2["spec"].get("targetCPUUtilizationPercentage").is_none());
}

#[test]
fn hpa_v2_only_data_round_trips_through_v1_annotations() {
    let mut obj = hpa_v2();
    obj["spec"]["metrics"].as_array_mut().unwrap().push(json!({
        "type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}
    }));
    obj["spec"]["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": 60}});
    obj["status"]["conditions"] = json!([{"type": "AbleToScale", "status": "True"}]);
    let v1 = convert(&obj, "autoscaling/v1");
    let anns = &v1["metadata"]["annotations"];
    assert!(anns.get(ANN_METRICS).is_some());
    assert!(anns.get(ANN_BEHAVIOR).is_some());
    assert!(anns.get(ANN_CONDITIONS).is_some());
    let back = convert(&v1, "autoscaling/v2");
    assert_eq!(back["spec"]["metrics"], obj["spec"]["metrics"]);
    assert_eq!(back["spec"]["behavior"], obj["spec"]["behavior"]);
    assert_eq!(back["status"]["conditions"], obj["status"]["conditions"]);
    assert!(back["metadata"].get("annotations").is_none());
}

#[test]
fn core_event_renames_to_events_k8s_io_fields() {
    let core = json!({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Pulled", "message": "pulled image",
        "source": {"component": "kubelet", "host": "n1"}, "firstTimestamp": "2024-01-01T00:00:00Z",
        "lastTimestamp": "2024-01-01T00:00:01Z", "count": 2, "type": "Normal",
        "reportingComponent": "kubelet", "reportingInstance": "n1"
    });
    let ev = convert(&core, "events.k8s.io/v1");
    assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
    assert_eq!(ev["regarding"]["name"], "web");
    assert_eq!(ev["note"], "pulled image");
    assert_eq!(ev["reportingController"], "kubelet");
    assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
    assert_eq!(ev["deprecatedCount"], 2);
    assert_eq!(ev["deprecatedFirstTimestamp"], "2024-01-01T00:00:00Z");
    assert!(ev.get("involvedObject").is_none());
    let back = convert(&ev, "v1");
    assert_eq!(back, core);
}

#[test]
fn events_k8s_io_event_gets_empty_core_source() {
    let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"},
        "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "c", "reportingInstance": "i",
        "action": "A", "reason": "R", "regarding": {"kind": "Node", "name": "n"}, "note": "hi",
        "series": {"count": 3, "lastObservedTime": "2024-01-01T00:00:00.000000Z"}});
    let core = convert(&ev, "v1");
    assert_eq!(core["source"], json!({}));
    assert_eq!(core["involvedObject"]["kind"], "Node");
    assert_eq!(core["series"]["count"], 3);
    assert_eq!(core["reportingComponent"], "c");
}

#[test]
fn unrelated_kinds_only_change_api_version() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
    assert_eq!(convert(&cm, "v1"), cm);
}
