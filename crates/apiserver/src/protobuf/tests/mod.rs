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

mod envelopes;

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
