//! Patches recorded from real `kubectl apply` runs (1.27 and 1.33 send the same bodies),
//! applied to the live objects they were computed against.

use crate::strategic_merge_patch;
use serde_json::{Value, json};

fn load(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture")
}

fn last_applied(v: &Value) -> Value {
    let s = v["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .expect("annotation");
    load(s)
}

#[test]
fn deployment_apply_patch() {
    let live = load(include_str!("fixtures/deployment-live.json"));
    let patch = include_str!("fixtures/deployment-patch-kubectl-1.33.json");
    let out =
        strategic_merge_patch(&live, patch.as_bytes(), "apps/v1", "Deployment").expect("patch");
    assert_eq!(last_applied(&out)["spec"]["replicas"], 3);
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(out["metadata"]["uid"], "u1");
    assert_eq!(out["spec"]["replicas"], 3);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
    let cs = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0], json!({"image": "redis", "name": "cache"}));
    assert_eq!(cs[1]["name"], "web");
    assert_eq!(cs[1]["image"], "nginx:1.26");
    assert_eq!(cs[1]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(cs[1]["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(
        cs[1]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}])
    );
    assert_eq!(out["status"], json!({"replicas": 2}));
}

#[test]
fn service_apply_patch() {
    let live = load(include_str!("fixtures/service-live.json"));
    let patch = include_str!("fixtures/service-patch-kubectl-1.27.json");
    let out = strategic_merge_patch(&live, patch.as_bytes(), "v1", "Service").expect("patch");
    assert_eq!(out["spec"]["selector"], json!({"app": "web", "tier": "fe"}));
    assert_eq!(out["spec"]["clusterIP"], "10.96.0.20");
    assert_eq!(
        out["spec"]["ports"],
        json!([
            {"name": "https", "port": 443, "targetPort": 8443},
            {"name": "http", "port": 80, "targetPort": 8081, "protocol": "TCP"}
        ])
    );
    assert_eq!(last_applied(&out)["spec"]["ports"][0]["name"], "https");
}

#[test]
fn configmap_apply_patch() {
    let live = load(include_str!("fixtures/configmap-live.json"));
    let patch = include_str!("fixtures/configmap-patch-kubectl-1.27.json");
    let out = strategic_merge_patch(&live, patch.as_bytes(), "v1", "ConfigMap").expect("patch");
    assert_eq!(out["data"], json!({"a": "10", "c": "3"}));
    assert_eq!(out["metadata"]["finalizers"], json!(["e/f", "a/b"]));
    assert_eq!(last_applied(&out)["data"]["c"], "3");
}
