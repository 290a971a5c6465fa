//! kubectl 1.33 sends typed-client bodies as Kubernetes protobuf: the objects it creates
//! must be exactly those kubectl 1.27 creates from JSON.

use serde_json::Value;

use crate::cluster;

/// `.spec` of an object, as JSON.
fn spec(k: &skiff_testkit::Kubectl, kind: &str, name: &str) -> Value {
    let out = k.ok(&["get", kind, name, "-o", "json"]);
    let obj: Value = serde_json::from_str(&out).expect("kubectl prints JSON");
    obj["spec"].clone()
}

fn create_all(version: &str) -> (Value, Value) {
    let (_s, k) = cluster(version);
    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=busybox",
        "--replicas=0",
    ]);
    k.ok(&["create", "service", "clusterip", "s", "--tcp=80:8080"]);
    let mut svc = spec(&k, "service", "s");
    // Allocated addresses differ between clusters.
    if let Some(o) = svc.as_object_mut() {
        o.remove("clusterIP");
        o.remove("clusterIPs");
    }
    (spec(&k, "deployment", "web"), svc)
}

#[test]
fn protobuf_creates_match_json_creates() {
    let (deploy_pb, svc_pb) = create_all("1.33");
    let (deploy_json, svc_json) = create_all("1.27");
    assert_eq!(deploy_pb["replicas"], 0, "{deploy_pb}");
    assert_eq!(svc_pb["ports"][0]["targetPort"], 8080, "{svc_pb}");
    assert_eq!(deploy_pb, deploy_json);
    assert_eq!(svc_pb, svc_json);
}
