//! Protobuf bodies built with k8s-pb (as client-go would send them) decoded to JSON.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use super::*;

/// A full request body: magic + envelope around `obj`.
fn body(api_version: &str, kind: &str, obj: &impl Message) -> Vec<u8> {
    let env = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(obj.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(env.encode_to_vec());
    out
}

fn meta(name: &str, ns: Option<&str>) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(str::to_string),
        // client-go always writes its non-pointer fields, zero or not; a zero
        // creationTimestamp is JSON null in 1.33's types.
        generate_name: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    })
}

fn decoded(api_version: &str, kind: &str, obj: &impl Message) -> Value {
    decode(&body(api_version, kind, obj)).expect("decodes")
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_map() {
    let cm = core::ConfigMap {
        metadata: meta("c", Some("default")),
        data: strings(&[("a", "b"), ("empty", "")]),
        binary_data: [("bin".to_string(), vec![0u8, 255])].into(),
        immutable: Some(false),
    };
    assert_eq!(
        decoded("v1", "ConfigMap", &cm),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "creationTimestamp": null},
            "immutable": false,
            "data": {"a": "b", "empty": ""},
            "binaryData": {"bin": "AP8="},
        })
    );
}

#[test]
fn secret_bytes_are_base64() {
    let s = core::Secret {
        metadata: meta("s", None),
        data: [("password".to_string(), b"hunter2".to_vec())].into(),
        r#type: Some("Opaque".into()),
        ..Default::default()
    };
    assert_eq!(
        decoded("v1", "Secret", &s),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "creationTimestamp": null},
            "data": {"password": "aHVudGVyMg=="},
            "type": "Opaque",
        })
    );
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Quantity {
                    string: Some(v.to_string()),
                },
            )
        })
        .collect()
}

fn pod_template() -> core::PodTemplateSpec {
    core::PodTemplateSpec {
        metadata: Some(meta::ObjectMeta {
            labels: strings(&[("app", "web")]),
            creation_timestamp: Some(meta::Time::default()),
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: Some("busybox".into()),
                image: Some("busybox".into()),
                resources: Some(core::ResourceRequirements {
                    limits: quantities(&[("cpu", "500m"), ("memory", "64Mi")]),
                    ..Default::default()
                }),
                ports: vec![core::ContainerPort {
                    container_port: Some(80),
                    host_port: Some(0),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }],
                stdin: Some(false),
                ..Default::default()
            }],
            restart_policy: Some(String::new()),
            ..Default::default()
        }),
    }
}

#[test]
fn deployment_nested_template_and_zero_replicas() {
    let d = apps::Deployment {
        metadata: meta("web", Some("default")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector {
                match_labels: strings(&[("app", "web")]),
                ..Default::default()
            }),
            template: Some(pod_template()),
            strategy: Some(apps::DeploymentStrategy {
                r#type: Some("RollingUpdate".into()),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_surge: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: Some("25%".into()),
                    }),
                    max_unavailable: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(1),
                        str_val: Some(String::new()),
                    }),
                }),
            }),
            min_ready_seconds: Some(0),
            paused: Some(false),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    assert_eq!(
        decoded("apps/v1", "Deployment", &d),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": null},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "busybox",
                            "image": "busybox",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                        }],
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"},
                },
            },
            "status": {},
        })
    );
}

#[test]
fn namespace() {
    let ns = core::Namespace {
        metadata: meta("team", None),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus::default()),
    };
    assert_eq!(
        decoded("v1", "Namespace", &ns),
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team", "creationTimestamp": null}, "spec": {}, "status": {},
        })
    );
}

#[test]
fn service_target_port() {
    let svc = core::Service {
        metadata: meta("s", None),
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                name: Some("80-8080".into()),
                protocol: Some("TCP".into()),
                port: Some(80),
                target_port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(8080),
                    str_val: Some(String::new()),
                }),
                node_port: Some(0),
                ..Default::default()
            }],
            selector: strings(&[("app", "s")]),
            r#type: Some("ClusterIP".into()),
            cluster_ip: Some(String::new()),
            ..Default::default()
        }),
        status: Some(core::ServiceStatus {
            load_balancer: Some(core::LoadBalancerStatus::default()),
            ..Default::default()
        }),
    };
    assert_eq!(
        decoded("v1", "Service", &svc),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "creationTimestamp": null},
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "s"},
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        })
    );
}

#[test]
fn job_with_times_and_unpacked_and_packed_ints() {
    let job = batch::Job {
        metadata: meta("j", None),
        spec: Some(batch::JobSpec {
            backoff_limit: Some(0),
            template: Some(pod_template()),
            pod_failure_policy: Some(batch::PodFailurePolicy {
                rules: vec![batch::PodFailurePolicyRule {
                    action: Some("FailJob".into()),
                    on_exit_codes: Some(batch::PodFailurePolicyOnExitCodesRequirement {
                        operator: Some("In".into()),
                        values: vec![1, 42],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        status: Some(batch::JobStatus {
            start_time: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(0),
            }),
            active: Some(0),
            ..Default::default()
        }),
    };
    let v = decoded("batch/v1", "Job", &job);
    assert_eq!(v["spec"]["backoffLimit"], json!(0));
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox"
    );
    let rule = &v["spec"]["podFailurePolicy"]["rules"][0];
    assert_eq!(
        rule["onExitCodes"],
        json!({"operator": "In", "values": [1, 42]})
    );
    assert_eq!(v["status"], json!({"startTime": "2023-11-14T22:13:20Z"}));

    // The same list packed (as proto3 encoders write it) decodes the same.
    let msg = walk::find("api/batch/v1/PodFailurePolicyOnExitCodesRequirement").map(|m| m.name);
    let packed = [0x12, 0x02, b'I', b'n', 0x1a, 0x02, 0x01, 0x2a];
    let v = walk::message(msg.unwrap_or_default(), &packed, 0).expect("decodes");
    assert_eq!(v, json!({"operator": "In", "values": [1, 42]}));
}

#[test]
fn micro_time_and_raw_extension() {
    let lease = k8s_pb::api::coordination::v1::Lease {
        metadata: meta("l", None),
        spec: Some(k8s_pb::api::coordination::v1::LeaseSpec {
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_789),
            }),
            lease_duration_seconds: Some(15),
            ..Default::default()
        }),
    };
    let v = decoded("coordination.k8s.io/v1", "Lease", &lease);
    assert_eq!(
        v["spec"],
        json!({"renewTime": "2023-11-14T22:13:20.123456Z", "leaseDurationSeconds": 15})
    );

    let rev = apps::ControllerRevision {
        metadata: meta("r", None),
        data: Some(RawExtension {
            raw: Some(br#"{"spec":{"x":[1,"y"]}}"#.to_vec()),
        }),
        revision: Some(3),
    };
    let v = decoded("apps/v1", "ControllerRevision", &rev);
    assert_eq!(v["data"], json!({"spec": {"x": [1, "y"]}}));
    assert_eq!(v["revision"], json!(3));
}

#[test]
fn delete_options() {
    let opts = meta::DeleteOptions {
        grace_period_seconds: Some(0),
        preconditions: Some(meta::Preconditions {
            uid: Some("u-1".into()),
            resource_version: None,
        }),
        propagation_policy: Some("Foreground".into()),
        dry_run: vec!["All".into()],
        ..Default::default()
    };
    let want = json!({
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    });
    for gv in ["v1", "apps/v1", "meta.k8s.io/v1"] {
        let mut v = decoded(gv, "DeleteOptions", &opts);
        assert_eq!(v["kind"], "DeleteOptions");
        if let Some(o) = v.as_object_mut() {
            o.remove("apiVersion");
            o.remove("kind");
        }
        assert_eq!(v, want, "{gv}");
    }
}

#[test]
fn eviction_token_request_scale_binding() {
    let ev = k8s_pb::api::policy::v1::Eviction {
        metadata: meta("p", Some("default")),
        delete_options: Some(meta::DeleteOptions {
            grace_period_seconds: Some(30),
            ..Default::default()
        }),
    };
    assert_eq!(
        decoded("policy/v1", "Eviction", &ev),
        json!({
            "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "p", "namespace": "default", "creationTimestamp": null},
            "deleteOptions": {"gracePeriodSeconds": 30},
        })
    );

    use k8s_pb::api::authentication::v1 as authn;
    let tr = authn::TokenRequest {
        metadata: meta("", None),
        spec: Some(authn::TokenRequestSpec {
            audiences: vec!["api".into()],
            expiration_seconds: Some(3600),
            bound_object_ref: Some(authn::BoundObjectReference {
                kind: Some("Pod".into()),
                name: Some("p".into()),
                u_id: Some("x".into()),
                ..Default::default()
            }),
        }),
        status: Some(authn::TokenRequestStatus {
            token: Some(String::new()),
            expiration_timestamp: Some(meta::Time::default()),
        }),
    };
    let v = decoded("authentication.k8s.io/v1", "TokenRequest", &tr);
    assert_eq!(
        v["spec"],
        json!({
            "audiences": ["api"], "expirationSeconds": 3600,
            "boundObjectRef": {"kind": "Pod", "name": "p", "uid": "x"},
        })
    );
    assert_eq!(
        v["status"],
        json!({"token": "", "expirationTimestamp": null})
    );

    use k8s_pb::api::autoscaling::v1 as autoscaling;
    let scale = autoscaling::Scale {
        metadata: meta("web", Some("default")),
        spec: Some(autoscaling::ScaleSpec { replicas: Some(3) }),
        status: Some(autoscaling::ScaleStatus::default()),
    };
    let v = decoded("autoscaling/v1", "Scale", &scale);
    assert_eq!(v["spec"], json!({"replicas": 3}));
    assert_eq!(v["status"], json!({"replicas": 0}));

    let b = core::Binding {
        metadata: meta("p", Some("default")),
        target: Some(core::ObjectReference {
            kind: Some("Node".into()),
            name: Some("n1".into()),
            ..Default::default()
        }),
    };
    let v = decoded("v1", "Binding", &b);
    assert_eq!(v["target"], json!({"kind": "Node", "name": "n1"}));
}

#[test]
fn errors_are_reported_not_panics() {
    let cm = core::ConfigMap {
        metadata: meta("c", None),
        ..Default::default()
    };
    let good = body("v1", "ConfigMap", &cm);
    assert!(matches!(
        decode(b"{\"kind\":1}"),
        Err(ProtobufError::MissingMagic)
    ));
    for cut in 4..good.len() {
        // Every truncation is an error or a shorter object, never a panic.
        let _ = decode(&good[..cut]);
    }
    let err = decode(&body("example.com/v1", "Widget", &cm)).map(|_| ());
    assert!(matches!(&err, Err(e) if e.is_unknown_kind()), "{err:?}");
    // name (tag 1 of ObjectMeta) sent as a varint.
    let bad = core::ConfigMap {
        metadata: None,
        ..Default::default()
    };
    let mut raw = bad.encode_to_vec();
    raw.extend([0x0a, 0x02, 0x08, 0x01]);
    let env = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
        }),
        raw: Some(raw),
        ..Default::default()
    };
    let mut b = b"k8s\0".to_vec();
    b.extend(env.encode_to_vec());
    let err = decode(&b).map(|_| ());
    assert!(
        matches!(&err, Err(ProtobufError::Field { field, .. }) if field == "name"),
        "{err:?}"
    );
}

#[test]
fn deep_nesting_is_refused() {
    // JSONSchemaProps.not (tag 28) nested far beyond the limit.
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..(walk::MAX_DEPTH + 5) {
        let mut outer = vec![0xe2, 0x01];
        let mut len = inner.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                outer.push(byte);
                break;
            }
            outer.push(byte | 0x80);
        }
        outer.extend(&inner);
        inner = outer;
    }
    let name = "apiextensions_apiserver/pkg/apis/apiextensions/v1/JsonSchemaProps";
    assert!(matches!(
        walk::message(name, &inner, 0),
        Err(ProtobufError::TooDeep(_))
    ));
}

#[test]
fn go_durations() {
    assert_eq!(walk::go_duration(0), "0s");
    assert_eq!(walk::go_duration(1_500), "1.5µs");
    assert_eq!(walk::go_duration(2_000_000), "2ms");
    assert_eq!(walk::go_duration(90_000_000_000), "1m30s");
    assert_eq!(walk::go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(walk::go_duration(-1_500_000_000), "-1.5s");
}

#[test]
fn table_is_sorted_and_complete() {
    assert!(table::MESSAGES.windows(2).all(|w| w[0].name < w[1].name));
    assert!(table::GROUPS.windows(2).all(|w| w[0].0 < w[1].0));
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "policy/v1",
        "rbac.authorization.k8s.io/v1",
    ] {
        assert!(table::GROUPS.iter().any(|(g, _)| *g == gv), "{gv}");
    }
}

#[test]
fn request_errors_map_to_upstream_status_codes() {
    let protobuf_body = request_body;
    let cm = core::ConfigMap {
        metadata: meta("c", None),
        ..Default::default()
    };
    let ok = protobuf_body(&body("v1", "ConfigMap", &cm)).map(|v| v["metadata"]["name"].clone());
    assert_eq!(ok.ok(), Some(json!("c")));
    let bad = protobuf_body(b"k8s\0\x0a\x05ab").err().map(|e| e.code);
    assert_eq!(bad, Some(400));
    let crd_kind = protobuf_body(&body("example.com/v1", "Widget", &cm));
    let err = crd_kind.err();
    assert_eq!(err.as_ref().map(|e| e.code), Some(415));
    let msg = err.map(|e| e.message).unwrap_or_default();
    assert!(
        msg.contains("the body of the request was in an unknown format"),
        "{msg}"
    );
}
