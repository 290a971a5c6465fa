use super::*;
use crate::{defaults, registry, strategy};
use serde_json::json;

mod workloads;

fn r(group: &str, plural: &str) -> &'static Resource {
    let v = if group == "autoscaling" { "v2" } else { "v1" };
    registry().find(group, v, plural).unwrap()
}

/// Default + prepare + validate, as the REST handler does on create.
fn create(group: &str, plural: &str, mut obj: Value) -> Vec<String> {
    let res = r(group, plural);
    defaults::apply(res, &mut obj);
    strategy::prepare_for_create(res, &mut obj);
    validate_create(res, &obj)
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn update(group: &str, plural: &str, old: Value, mut new: Value) -> Vec<String> {
    let res = r(group, plural);
    let mut old = old;
    defaults::apply(res, &mut old);
    strategy::prepare_for_create(res, &mut old);
    defaults::apply(res, &mut new);
    strategy::prepare_for_update(res, &mut new, &old);
    validate_update(res, &new, &old)
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// Create `obj`, then update the stored object through `edit` (GET-modify-PUT).
fn edit(group: &str, plural: &str, obj: Value, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let res = r(group, plural);
    let mut old = obj;
    defaults::apply(res, &mut old);
    strategy::prepare_for_create(res, &mut old);
    let mut new = old.clone();
    edit(&mut new);
    defaults::apply(res, &mut new);
    strategy::prepare_for_update(res, &mut new, &old);
    validate_update(res, &new, &old)
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn pod(name: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
}

fn deployment() -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

#[test]
fn valid_pod_passes() {
    assert!(create("", "pods", pod("web")).is_empty());
}

#[test]
fn bad_pod_name_has_upstream_message() {
    let errs = create("", "pods", pod("Web_1"));
    assert_eq!(
        errs,
        vec![
            r#"metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#
        ]
    );
}

#[test]
fn invalid_message_wraps_causes() {
    let res = r("", "pods");
    let mut p = pod("Web_1");
    defaults::apply(res, &mut p);
    let causes = validate_create(res, &p);
    let msg = invalid_message(&res.qualified_kind(), "Web_1", &causes);
    assert!(
        msg.starts_with(
            r#"Pod "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase RFC 1123"#
        ),
        "{msg}"
    );
    assert_eq!(causes[0].reason, "FieldValueInvalid");
    assert_eq!(causes[0].field, "metadata.name");
    let two = vec![Cause::required("a", ""), Cause::required("b", "")];
    assert_eq!(
        invalid_message("Deployment.apps", "x", &two),
        r#"Deployment.apps "x" is invalid: [a: Required value, b: Required value]"#
    );
}

#[test]
fn name_or_generate_name_required() {
    let mut p = pod("");
    p["metadata"].as_object_mut().unwrap().remove("name");
    assert_eq!(
        create("", "pods", p.clone()),
        vec!["metadata.name: Required value: name or generateName is required"]
    );
    p["metadata"]["generateName"] = json!("web-");
    assert!(create("", "pods", p).is_empty());
}

#[test]
fn namespaces_and_services_use_label_rules() {
    let errs = create("", "namespaces", json!({"metadata": {"name": "a.b"}}));
    assert!(errs[0].contains("a lowercase RFC 1123 label"), "{errs:?}");
    let svc =
        json!({"metadata": {"name": "1svc", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}});
    assert!(create("", "services", svc)[0].contains("a DNS-1035 label"));
}

#[test]
fn rbac_names_are_path_segments() {
    let role = json!({"metadata": {"name": "system:controller:x", "namespace": "d"}, "rules": []});
    assert!(create("rbac.authorization.k8s.io", "roles", role).is_empty());
    let bad = json!({"metadata": {"name": "a/b", "namespace": "d"}, "rules": []});
    assert_eq!(
        create("rbac.authorization.k8s.io", "roles", bad),
        vec![r#"metadata.name: Invalid value: "a/b": may not contain '/'"#]
    );
}

#[test]
fn namespace_required_for_namespaced_kinds_and_forbidden_otherwise() {
    let cm = json!({"metadata": {"name": "c"}});
    assert_eq!(
        create("", "configmaps", cm),
        vec!["metadata.namespace: Required value"]
    );
    let node = json!({"metadata": {"name": "n", "namespace": "x"}});
    assert_eq!(
        create("", "nodes", node),
        vec!["metadata.namespace: Forbidden: not allowed on this type"]
    );
}

#[test]
fn bad_labels_and_annotations() {
    let mut p = pod("p");
    p["metadata"]["labels"] = json!({"bad key": "ok", "ok": "bad value"});
    let errs = create("", "pods", p);
    assert_eq!(errs.len(), 2);
    assert!(
        errs.iter()
            .all(|e| e.starts_with("metadata.labels: Invalid value:"))
    );
    let mut p = pod("p");
    p["metadata"]["annotations"] = json!({"big": "x".repeat(300 * 1024)});
    assert_eq!(
        create("", "pods", p),
        vec!["metadata.annotations: Too long: must have at most 262144 bytes"]
    );
}

#[test]
fn pod_requires_containers_name_and_image() {
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{}]}});
    assert_eq!(
        create("", "pods", p),
        vec![
            "spec.containers[0].name: Required value",
            "spec.containers[0].image: Required value"
        ]
    );
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {}});
    assert_eq!(
        create("", "pods", p),
        vec!["spec.containers: Required value"]
    );
}

#[test]
fn pod_duplicate_container_names() {
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}});
    assert_eq!(
        create("", "pods", p),
        vec![r#"spec.containers[1].name: Duplicate value: "a""#]
    );
}

#[test]
fn pod_port_and_policy_values() {
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"restartPolicy": "Sometimes",
        "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]}]}});
    let errs = create("", "pods", p);
    assert!(errs.contains(&"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string()), "{errs:?}");
    assert!(errs.contains(&r#"spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#.to_string()), "{errs:?}");
    assert!(errs.contains(&r#"spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never""#.to_string()), "{errs:?}");
}

#[test]
fn volume_mounts_must_name_a_volume() {
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "a", "image": "x",
        "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]}});
    assert_eq!(
        create("", "pods", p),
        vec![r#"spec.containers[0].volumeMounts[0].name: Not found: "data""#]
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "a", "image": "x",
        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]}});
    assert_eq!(
        create("", "pods", p),
        vec![
            r#"spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1"#
        ]
    );
}

#[test]
fn pod_update_may_change_image() {
    let errs = edit("", "pods", pod("p"), |p| {
        p["spec"]["containers"][0]["image"] = json!("nginx:1.26")
    });
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn pod_update_may_not_change_other_spec_fields() {
    let errs = edit("", "pods", pod("p"), |p| {
        p["spec"]["containers"][0]["name"] = json!("other")
    });
    assert_eq!(
        errs,
        vec![format!("spec: Forbidden: {}", pod::POD_UPDATE_FORBIDDEN)]
    );
    assert!(
        errs[0].contains("pod updates may not change fields other than `spec.containers[*].image`")
    );
}

#[test]
fn pod_update_may_add_tolerations_but_not_remove() {
    let add = edit("", "pods", pod("p"), |p| {
        p["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "b", "operator": "Exists"}))
    });
    assert!(add.is_empty(), "{add:?}");
    let mut tolerating = pod("p");
    tolerating["spec"]["tolerations"] = json!([{"key": "a", "operator": "Exists"}]);
    let remove = edit("", "pods", tolerating, |p| {
        p["spec"]["tolerations"] = json!([])
    });
    assert_eq!(remove.len(), 1);
}

#[test]
fn pod_replace_without_default_tolerations_is_fine() {
    let errs = edit("", "pods", pod("p"), |p| {
        p["spec"].as_object_mut().unwrap().remove("tolerations");
    });
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn pod_update_of_labels_is_fine() {
    assert!(
        edit("", "pods", pod("p"), |p| p["metadata"]["labels"] =
            json!({"a": "b"}))
        .is_empty()
    );
}

#[test]
fn service_ports_required_and_checked() {
    let svc =
        json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"selector": {"app": "x"}}});
    assert_eq!(
        create("", "services", svc),
        vec!["spec.ports: Required value"]
    );
    let headless =
        json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"clusterIP": "None"}});
    assert!(create("", "services", headless).is_empty());
    let two = json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"ports": [{"port": 80}, {"port": 0, "name": "b"}]}});
    let errs = create("", "services", two);
    assert!(
        errs.contains(&"spec.ports[0].name: Required value".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(
            &"spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"
                .to_string()
        ),
        "{errs:?}"
    );
}

#[test]
fn external_name_service_needs_name() {
    let svc =
        json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": "ExternalName"}});
    assert_eq!(
        create("", "services", svc),
        vec!["spec.externalName: Required value"]
    );
}

#[test]
fn service_cluster_ip_is_immutable() {
    let mut old = json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.10"}});
    let mut new = old.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.11");
    assert_eq!(
        update("", "services", old.clone(), new),
        vec![r#"spec.clusterIP: Invalid value: "10.96.0.11": field is immutable"#]
    );
    old["spec"]["type"] = json!("ClusterIP");
}

#[test]
fn configmap_keys_and_immutability() {
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "v"}});
    assert!(
        create("", "configmaps", cm)[0]
            .starts_with(r#"data[bad key]: Invalid value: "bad key": a valid config key"#)
    );
    let old =
        json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "1"}, "immutable": true});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    assert_eq!(
        update("", "configmaps", old, new),
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
}

#[test]
fn secret_type_is_immutable_and_tls_needs_keys() {
    let old = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"});
    let mut new = old.clone();
    new["type"] = json!("kubernetes.io/tls");
    new["data"] = json!({"tls.crt": "YQ==", "tls.key": "YQ=="});
    assert_eq!(
        update("", "secrets", old, new),
        vec![r#"type: Invalid value: "kubernetes.io/tls": field is immutable"#]
    );
    let tls = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}});
    assert_eq!(
        create("", "secrets", tls),
        vec!["data[tls.key]: Required value"]
    );
}

#[test]
fn pvc_requires_access_modes_and_storage() {
    let pvc = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {}});
    assert_eq!(
        create("", "persistentvolumeclaims", pvc),
        vec![
            "spec.accessModes: Required value: at least 1 access mode is required",
            "spec.resources[storage]: Required value"
        ]
    );
}

#[test]
fn pvc_spec_is_immutable_except_requests() {
    let old = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let mut grow = old.clone();
    grow["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    assert!(update("", "persistentvolumeclaims", old.clone(), grow).is_empty());
    let mut modes = old.clone();
    modes["spec"]["accessModes"] = json!(["ReadWriteMany"]);
    assert_eq!(update("", "persistentvolumeclaims", old, modes).len(), 1);
}

#[test]
fn namespace_name_is_immutable() {
    let old = json!({"metadata": {"name": "a"}});
    let new = json!({"metadata": {"name": "b"}});
    let errs = update("", "namespaces", old, new);
    assert!(
        errs.contains(&r#"metadata.name: Invalid value: "b": field is immutable"#.to_string()),
        "{errs:?}"
    );
}

#[test]
fn rbac_rules_and_role_ref() {
    let role =
        json!({"metadata": {"name": "r", "namespace": "d"}, "rules": [{"resources": ["pods"]}]});
    assert_eq!(
        create("rbac.authorization.k8s.io", "roles", role),
        vec![
            "rules[0].verbs: Required value: verbs must contain at least one value",
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group"
        ]
    );
    let rb = json!({"metadata": {"name": "b", "namespace": "d"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "d"}]});
    assert!(create("rbac.authorization.k8s.io", "rolebindings", rb.clone()).is_empty());
    let mut changed = rb.clone();
    changed["roleRef"]["name"] = json!("other");
    assert_eq!(
        update("rbac.authorization.k8s.io", "rolebindings", rb, changed),
        vec![
            r#"roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: cannot change roleRef"#
        ]
    );
}

#[test]
fn hpa_bounds() {
    let h = json!({"apiVersion": "autoscaling/v2", "metadata": {"name": "h", "namespace": "d"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"}, "minReplicas": 3, "maxReplicas": 2}});
    assert_eq!(
        create("autoscaling", "horizontalpodautoscalers", h),
        vec!["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]
    );
}

#[test]
fn ingress_paths() {
    let ing = json!({"metadata": {"name": "i", "namespace": "d"}, "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
        {"path": "x", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    assert_eq!(
        create("networking.k8s.io", "ingresses", ing),
        vec!["spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified"]
    );
}

#[test]
fn decode_check_reports_wrong_types() {
    let e = decode_check(
        r("apps", "deployments"),
        &json!({"spec": {"replicas": "3"}}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"#
    );
    assert!(decode_check(r("apps", "deployments"), &deployment()).is_ok());
    assert!(matches!(
        decode_check(r("", "pods"), &json!([1])),
        Err(DecodeError::NotAnObject { .. })
    ));
}

#[test]
fn unknown_fields_and_strict_message() {
    let mut p = pod("p");
    p["spec"]["foo"] = json!(1);
    let unknown = unknown_fields(r("", "pods"), &p);
    assert_eq!(unknown, vec!["spec.foo"]);
    assert_eq!(
        strict_error_message(&unknown),
        r#"strict decoding error: unknown field "spec.foo""#
    );
}

#[test]
fn go_repr_forms() {
    assert_eq!(go_repr(&json!("a\"b")), r#""a\"b""#);
    assert_eq!(
        go_repr(&json!({"b": "2", "a": "1"})),
        r#"map[string]string{"a":"1", "b":"2"}"#
    );
    assert_eq!(go_repr(&json!(["x", "y"])), r#"[]string{"x", "y"}"#);
    assert_eq!(go_repr(&json!(5)), "5");
}

#[test]
fn priority_classes_reserve_system_prefix_and_cap_value() {
    let pc = |name: &str, value: i64| json!({"metadata": {"name": name}, "value": value});
    assert!(create("scheduling.k8s.io", "priorityclasses", pc("high", 1000)).is_empty());
    assert!(
        create(
            "scheduling.k8s.io",
            "priorityclasses",
            pc("system-node-critical", 2_000_001_000)
        )
        .is_empty()
    );
    let errs = create("scheduling.k8s.io", "priorityclasses", pc("system-mine", 5));
    assert!(
        errs[0].starts_with(
            "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved"
        ),
        "{errs:?}"
    );
    let errs = create(
        "scheduling.k8s.io",
        "priorityclasses",
        pc("huge", 2_000_000_000),
    );
    assert_eq!(
        errs,
        vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    );
    let errs = update(
        "scheduling.k8s.io",
        "priorityclasses",
        pc("high", 1),
        pc("high", 2),
    );
    assert_eq!(
        errs,
        vec!["value: Forbidden: may not be changed in an update."]
    );
}

#[test]
fn quota_and_limit_range_quantities() {
    let q = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "10", "requests.cpu": "lots"}}});
    let errs = create("", "resourcequotas", q);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            r#"spec.hard[requests.cpu]: Invalid value: "lots": quantities must match"#
        ),
        "{errs:?}"
    );
    let lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}});
    assert!(create("", "limitranges", lr).is_empty());
}

#[test]
fn lease_duration_must_be_positive() {
    let l = json!({"metadata": {"name": "n", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        create("coordination.k8s.io", "leases", l),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
}

#[test]
fn ingress_class_needs_controller() {
    let ic = json!({"metadata": {"name": "nginx"}, "spec": {}});
    assert_eq!(
        create("networking.k8s.io", "ingressclasses", ic),
        vec!["spec.controller: Required value"]
    );
}

#[test]
fn network_policy_peers_need_a_selector() {
    let np = json!({"metadata": {"name": "n", "namespace": "d"}, "spec": {"podSelector": {}, "ingress": [{"from": [{}]}]}});
    assert_eq!(
        create("networking.k8s.io", "networkpolicies", np),
        vec!["spec.ingress[0].from[0]: Required value: must specify a peer"]
    );
}

#[test]
fn bad_quantity_is_a_decode_error_without_json_prefix() {
    let mut p = pod("p");
    p["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "1GB"}});
    let e = decode_check(r("", "pods"), &p).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"#
    );
}

#[test]
fn scale_bodies_are_type_checked() {
    let e = decode_check_as(
        "autoscaling",
        "v1",
        "Scale",
        &json!({"spec": {"replicas": "two"}}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32"#
    );
}

#[test]
fn core_events_must_share_namespace_with_object() {
    let ev = json!({"metadata": {"name": "e", "namespace": "a"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "b"}, "type": "Normal"});
    assert_eq!(
        create("", "events", ev),
        vec![r#"involvedObject.namespace: Invalid value: "b": does not match event.namespace"#]
    );
}

#[test]
fn events_k8s_io_events_need_reporting_fields() {
    let res = registry().find("events.k8s.io", "v1", "events").unwrap();
    let ev = json!({"metadata": {"name": "e", "namespace": "a"}, "eventTime": "2024-01-01T00:00:00.000000Z",
        "reportingController": "example.com/ctl", "reportingInstance": "i", "action": "Act", "reason": "R", "type": "Normal"});
    assert!(validate_create(res, &ev).is_empty());
    let bad = json!({"metadata": {"name": "e", "namespace": "a"}, "type": "Info"});
    let errs: Vec<String> = validate_create(res, &bad)
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(
        errs.contains(&"eventTime: Required value".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(
            &r#"type: Unsupported value: "Info": supported values: "Normal", "Warning""#
                .to_string()
        ),
        "{errs:?}"
    );
}

#[test]
fn probes_need_exactly_one_handler() {
    let mut p = pod("p");
    p["spec"]["containers"][0]["livenessProbe"] = json!({"periodSeconds": 5});
    p["spec"]["containers"][0]["readinessProbe"] =
        json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}});
    let errs = create("", "pods", p);
    assert!(
        errs.contains(
            &"spec.containers[0].livenessProbe: Required value: must specify a handler type"
                .to_string()
        ),
        "{errs:?}"
    );
    assert!(errs.contains(&"spec.containers[0].readinessProbe: Forbidden: may not specify more than 1 handler type".to_string()), "{errs:?}");
}

#[test]
fn liveness_success_threshold_must_be_one() {
    let mut p = pod("p");
    p["spec"]["containers"][0]["livenessProbe"] =
        json!({"httpGet": {"port": 8080}, "successThreshold": 2});
    assert_eq!(
        create("", "pods", p),
        vec!["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]
    );
}

#[test]
fn volumes_need_one_source_and_its_required_fields() {
    let mut p = pod("p");
    p["spec"]["volumes"] = json!([{"name": "a", "configMap": {}}, {"name": "b", "emptyDir": {}, "hostPath": {"path": "/x"}}]);
    let errs = create("", "pods", p);
    assert!(
        errs.contains(&"spec.volumes[0].configMap.name: Required value".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(
            &"spec.volumes[1]: Forbidden: may not specify more than 1 volume type".to_string()
        ),
        "{errs:?}"
    );
}

#[test]
fn pod_hostname_must_be_a_label() {
    let mut p = pod("p");
    p["spec"]["hostname"] = json!("Bad_Host");
    let errs = create("", "pods", p);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0]
            .starts_with(r#"spec.hostname: Invalid value: "Bad_Host": a lowercase RFC 1123 label"#),
        "{errs:?}"
    );
}
