use super::*;
use serde_json::json;

#[test]
fn well_typed_deployment_has_no_findings() {
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x",
                "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}, "ports": [{"containerPort": 80}]}]}}}});
    assert_eq!(check("apps", "v1", "Deployment", &d), Findings::default());
}

#[test]
fn unknown_fields_are_reported_with_indexes() {
    let p = json!({"metadata": {"name": "p", "bogus": 1}, "spec": {"containers": [{"name": "c", "imagePullPolice": "x"}], "foo": true}});
    let f = check("", "v1", "Pod", &p);
    assert_eq!(
        f.unknown,
        vec![
            "metadata.bogus",
            "spec.containers[0].imagePullPolice",
            "spec.foo"
        ]
    );
    assert!(f.mismatches.is_empty());
}

#[test]
fn wrong_types_give_go_style_messages() {
    let d = json!({"spec": {"replicas": "3"}});
    let f = check("apps", "v1", "Deployment", &d);
    assert_eq!(
        f.mismatches[0].message,
        "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let p = json!({"spec": {"containers": [{"name": "c", "image": 5}]}});
    let f = check("", "v1", "Pod", &p);
    assert_eq!(
        f.mismatches[0].message,
        "cannot unmarshal number 5 into Go struct field Container.spec.containers.image of type string"
    );
}

#[test]
fn labels_must_be_strings() {
    let f = check(
        "",
        "v1",
        "ConfigMap",
        &json!({"metadata": {"labels": {"a": 1}}}),
    );
    assert_eq!(
        f.mismatches[0].message,
        "cannot unmarshal number 1 into Go struct field ObjectMeta.metadata.labels of type string"
    );
}

#[test]
fn out_of_range_int32_is_a_mismatch() {
    let f = check(
        "apps",
        "v1",
        "Deployment",
        &json!({"spec": {"replicas": 3_000_000_000_i64}}),
    );
    assert_eq!(f.mismatches.len(), 1);
    let f = check(
        "apps",
        "v1",
        "Deployment",
        &json!({"spec": {"replicas": 1.5}}),
    );
    assert_eq!(f.mismatches.len(), 1);
}

#[test]
fn objects_where_arrays_belong() {
    let f = check(
        "",
        "v1",
        "Pod",
        &json!({"spec": {"containers": {"name": "c"}}}),
    );
    assert!(f.mismatches[0].message.starts_with("cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"), "{}", f.mismatches[0].message);
}

#[test]
fn int_or_string_and_quantity_accept_both() {
    let s = json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}});
    assert_eq!(check("", "v1", "Service", &s), Findings::default());
    let f = check(
        "",
        "v1",
        "Service",
        &json!({"spec": {"ports": [{"port": 80, "targetPort": true}]}}),
    );
    assert_eq!(f.mismatches.len(), 1);
}

#[test]
fn secret_data_must_be_base64() {
    assert!(
        check("", "v1", "Secret", &json!({"data": {"k": "aGVsbG8="}}))
            .mismatches
            .is_empty()
    );
    let f = check("", "v1", "Secret", &json!({"data": {"k": "not base64!"}}));
    assert!(
        f.mismatches[0]
            .message
            .starts_with("illegal base64 data at input byte"),
        "{}",
        f.mismatches[0].message
    );
}

#[test]
fn nulls_and_free_form_fields_are_accepted() {
    let cr = json!({"metadata": {"managedFields": [{"fieldsV1": {"f:x": {}}}]}, "data": null, "revision": 1});
    assert_eq!(
        check("apps", "v1", "ControllerRevision", &cr),
        Findings::default()
    );
}

#[test]
fn every_served_kind_has_a_schema() {
    for r in crate::registry().all() {
        assert!(
            schema_for(r.group, r.version, r.kind).is_some(),
            "{}/{}",
            r.group,
            r.kind
        );
    }
}

#[test]
fn quantities_are_canonicalized_everywhere() {
    let mut p = json!({"spec": {"containers": [{"name": "c", "resources": {
        "requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"cpu": 2, "memory": "1.5Gi"}}}],
        "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "2048Ki"}}]}});
    canonicalize_quantities("", "v1", "Pod", &mut p);
    let r = &p["spec"]["containers"][0]["resources"];
    assert_eq!(r["requests"], json!({"cpu": "500m", "memory": "1Gi"}));
    assert_eq!(r["limits"], json!({"cpu": "2", "memory": "1536Mi"}));
    assert_eq!(p["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "2Mi");
}

#[test]
fn bad_quantities_are_left_for_validation() {
    let mut pvc = json!({"spec": {"resources": {"requests": {"storage": "lots"}}}});
    canonicalize_quantities("", "v1", "PersistentVolumeClaim", &mut pvc);
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "lots");
}

#[test]
fn int_or_string_fields_are_not_quantities() {
    let mut svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
    canonicalize_quantities("", "v1", "Service", &mut svc);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
}

#[test]
fn malformed_quantities_fail_decoding_like_upstream() {
    let p =
        json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "lots"}}}]}});
    let f = check("", "v1", "Pod", &p);
    assert_eq!(f.mismatches.len(), 1);
    assert!(!f.mismatches[0].json);
    assert!(
        f.mismatches[0]
            .message
            .starts_with("quantities must match the regular expression")
    );
    let p =
        json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": true}}}]}});
    let f = check("", "v1", "Pod", &p);
    assert!(
        f.mismatches[0]
            .message
            .ends_with("of type resource.Quantity"),
        "{}",
        f.mismatches[0].message
    );
}
