//! Option and subresource bodies, error handling and the generated table.

use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;

use super::*;

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

#[test]
fn corrupted_bodies_never_panic() {
    let d = apps::Deployment {
        metadata: meta("web", Some("default")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            template: Some(pod_template()),
            ..Default::default()
        }),
        status: None,
    };
    let good = body("apps/v1", "Deployment", &d);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2000 {
        let mut b = good.clone();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = 4 + (seed as usize) % (b.len() - 4);
            b[i] = (seed >> 32) as u8;
        }
        let _ = decode(&b);
    }
}
