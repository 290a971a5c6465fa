use super::*;
use serde_json::json;

fn spec(v: serde_json::Value) -> PodSpec {
    serde_json::from_value(v).expect("spec")
}

#[test]
fn sum_of_apps_vs_max_of_init_plus_overhead() {
    let s = spec(json!({
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "200m", "example.com/gpu": "1"}}}
        ],
        "initContainers": [
            {"name": "i1", "resources": {"requests": {"cpu": "500m", "memory": "100Mi"}}},
            {"name": "i2", "resources": {"requests": {"memory": "2Gi"}}}
        ],
        "overhead": {"cpu": "10m"}
    }));
    let r = pod_requests(&s);
    assert_eq!(r.milli_cpu, 510);
    assert_eq!(r.memory, 2 * 1024 * 1024 * 1024);
    assert_eq!(r.scalar("example.com/gpu"), 1);
}

#[test]
fn limits_stand_in_for_requests_and_defaults_for_scoring() {
    let s = spec(json!({"containers": [
        {"name": "a", "resources": {"limits": {"cpu": "1"}}},
        {"name": "b"}
    ]}));
    assert_eq!(pod_requests(&s).milli_cpu, 1000);
    assert_eq!(non_zero_requests(&s), (1100, 2 * DEFAULT_MEMORY_REQUEST));
}

#[test]
fn sidecars_add_to_apps() {
    let s = spec(json!({
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}]
    }));
    assert_eq!(pod_requests(&s).milli_cpu, 150);
}
