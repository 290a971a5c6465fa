use super::*;
use crate::registry;

fn r(group: &str, plural: &str) -> &'static Resource {
    let v = if group == "autoscaling" { "v2" } else { "v1" };
    registry().find(group, v, plural).unwrap()
}

#[test]
fn create_resets_deployment_status_and_sets_generation() {
    let mut d = json!({"metadata": {"name": "w", "generation": 7}, "spec": {"replicas": 2}, "status": {"replicas": 9}});
    prepare_for_create(r("apps", "deployments"), &mut d);
    assert_eq!(d["status"], json!({}));
    assert_eq!(d["metadata"]["generation"], 1);
}

#[test]
fn create_gives_zero_status_shapes() {
    let mut rs = json!({"metadata": {"name": "a"}, "spec": {}});
    prepare_for_create(r("apps", "replicasets"), &mut rs);
    assert_eq!(rs["status"], json!({"replicas": 0}));
    let mut svc = json!({"metadata": {"name": "a"}, "spec": {}});
    prepare_for_create(r("", "services"), &mut svc);
    assert_eq!(svc["status"], json!({"loadBalancer": {}}));
    assert!(svc["metadata"].get("generation").is_none());
}

#[test]
fn create_pod_is_pending_with_qos_class() {
    let mut p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"phase": "Running"}});
    prepare_for_create(r("", "pods"), &mut p);
    assert_eq!(
        p["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );
}

#[test]
fn create_pod_adds_default_tolerations_once() {
    let mut p = json!({"metadata": {"name": "p"}, "spec": {"containers": [],
        "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]}});
    prepare_for_create(r("", "pods"), &mut p);
    let t = p["spec"]["tolerations"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["tolerationSeconds"], 5);
    assert_eq!(t[1]["key"], "node.kubernetes.io/not-ready");
    assert_eq!(t[1]["tolerationSeconds"], 300);
}

#[test]
fn create_keeps_node_status() {
    let mut n = json!({"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "2"}}});
    prepare_for_create(r("", "nodes"), &mut n);
    assert_eq!(n["status"]["capacity"]["cpu"], "2");
}

#[test]
fn create_namespace_is_active() {
    let mut ns = json!({"metadata": {"name": "x"}});
    prepare_for_create(r("", "namespaces"), &mut ns);
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    let mut other = json!({"metadata": {"name": "x"}, "spec": {"finalizers": ["example.com/f"]}});
    prepare_for_create(r("", "namespaces"), &mut other);
    assert_eq!(
        other["spec"]["finalizers"],
        json!(["example.com/f", "kubernetes"])
    );
}

#[test]
fn create_job_generates_selector_and_labels_from_uid() {
    let mut j = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {"containers": []}}}});
    prepare_for_create(r("batch", "jobs"), &mut j);
    assert_eq!(
        j["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    let l = &j["spec"]["template"]["metadata"]["labels"];
    assert_eq!(l["batch.kubernetes.io/controller-uid"], "u-1");
    assert_eq!(l["controller-uid"], "u-1");
    assert_eq!(l["batch.kubernetes.io/job-name"], "pi");
    assert_eq!(l["job-name"], "pi");
}

#[test]
fn create_job_without_uid_generates_one() {
    let mut j = json!({"metadata": {"name": "pi"}, "spec": {"template": {}}});
    prepare_for_create(r("batch", "jobs"), &mut j);
    let uid = j["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(
        j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        uid
    );
}

#[test]
fn create_job_with_manual_selector_is_untouched() {
    let mut j = json!({"metadata": {"name": "pi", "uid": "u"}, "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}}}});
    prepare_for_create(r("batch", "jobs"), &mut j);
    assert_eq!(j["spec"]["selector"], json!({"matchLabels": {"a": "b"}}));
}

#[test]
fn update_keeps_status_and_bumps_generation_on_spec_change() {
    let old = json!({"metadata": {"name": "w", "generation": 3, "uid": "u"}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
    let mut new = json!({"metadata": {"name": "w", "uid": "other"}, "spec": {"replicas": 2}, "status": {"replicas": 99}});
    prepare_for_update(r("apps", "deployments"), &mut new, &old);
    assert_eq!(new["status"], json!({"replicas": 1}));
    assert_eq!(new["metadata"]["generation"], 4);
    assert_eq!(new["metadata"]["uid"], "u");
}

#[test]
fn update_of_labels_only_keeps_generation() {
    let res = r("apps", "statefulsets");
    let mut old = json!({"metadata": {"name": "w", "generation": 3}, "spec": {"replicas": 1}});
    crate::defaults::apply(res, &mut old);
    let mut new = json!({"metadata": {"name": "w", "labels": {"a": "b"}}, "spec": {"replicas": 1}});
    prepare_for_update(res, &mut new, &old);
    assert_eq!(new["metadata"]["generation"], 3);
}

#[test]
fn deployment_annotation_change_bumps_generation() {
    let old = json!({"metadata": {"name": "w", "generation": 1}, "spec": {}});
    let mut new = json!({"metadata": {"name": "w", "annotations": {"x": "y"}}, "spec": {}});
    prepare_for_update(r("apps", "deployments"), &mut new, &old);
    assert_eq!(new["metadata"]["generation"], 2);
}

#[test]
fn update_of_kind_without_status_subresource_keeps_body() {
    let old = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
    let mut new = json!({"metadata": {"name": "c"}, "data": {"a": "2"}});
    prepare_for_update(r("", "configmaps"), &mut new, &old);
    assert_eq!(new["data"]["a"], "2");
    assert!(new["metadata"].get("generation").is_none());
}

#[test]
fn namespace_update_keeps_finalizers() {
    let old = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
    let mut new = json!({"metadata": {"name": "n"}, "spec": {}});
    prepare_for_update(r("", "namespaces"), &mut new, &old);
    assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(new["status"]["phase"], "Active");
}

#[test]
fn status_update_changes_only_status() {
    let old = json!({"metadata": {"name": "w", "labels": {"a": "1"}, "resourceVersion": "5", "generation": 2},
        "spec": {"replicas": 1}, "status": {}});
    let mut new = json!({"metadata": {"name": "w", "labels": {"a": "2"}, "resourceVersion": "5"},
        "spec": {"replicas": 7}, "status": {"replicas": 1, "observedGeneration": 2}});
    prepare_for_status_update(r("apps", "deployments"), &mut new, &old);
    assert_eq!(new["spec"]["replicas"], 1);
    assert_eq!(new["metadata"]["labels"]["a"], "1");
    assert_eq!(new["metadata"]["generation"], 2);
    assert_eq!(new["status"]["replicas"], 1);
    assert_eq!(new["metadata"]["resourceVersion"], "5");
}

#[test]
fn scale_of_deployment() {
    let d = json!({"metadata": {"name": "web", "namespace": "default", "resourceVersion": "9", "uid": "u"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}}, "status": {"replicas": 2}});
    let s = scale_of(r("apps", "deployments"), &d).unwrap();
    assert_eq!(s["kind"], "Scale");
    assert_eq!(s["apiVersion"], "autoscaling/v1");
    assert_eq!(s["metadata"]["name"], "web");
    assert_eq!(s["metadata"]["resourceVersion"], "9");
    assert_eq!(s["spec"]["replicas"], 3);
    assert_eq!(s["status"], json!({"replicas": 2, "selector": "app=web"}));
}

#[test]
fn scale_of_rc_uses_map_selector() {
    let rc = json!({"metadata": {"name": "r"}, "spec": {"replicas": 1, "selector": {"app": "x", "tier": "y"}}});
    let s = scale_of(r("", "replicationcontrollers"), &rc).unwrap();
    assert_eq!(s["status"]["selector"], "app=x,tier=y");
    assert_eq!(s["status"]["replicas"], 0);
}

#[test]
fn scale_of_expression_selector() {
    let d = json!({"metadata": {"name": "s"}, "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}}});
    let s = scale_of(r("apps", "statefulsets"), &d).unwrap();
    assert_eq!(s["status"]["selector"], "app in (a,b)");
}

#[test]
fn kinds_without_scale_have_none() {
    assert!(scale_of(r("", "pods"), &json!({})).is_none());
    assert_eq!(
        apply_scale(r("", "pods"), &mut json!({}), &json!({})),
        Err(StrategyError::NoScale)
    );
}

#[test]
fn apply_scale_sets_replicas() {
    let mut d = json!({"metadata": {"name": "w"}, "spec": {"replicas": 1}});
    apply_scale(
        r("apps", "deployments"),
        &mut d,
        &json!({"spec": {"replicas": 5}}),
    )
    .unwrap();
    assert_eq!(d["spec"]["replicas"], 5);
}

#[test]
fn apply_scale_rejects_negative_replicas() {
    let mut d = json!({"spec": {"replicas": 1}});
    let e = apply_scale(
        r("apps", "deployments"),
        &mut d,
        &json!({"spec": {"replicas": -1}}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(d["spec"]["replicas"], 1);
    let cause = e.cause().unwrap();
    assert_eq!(cause.reason, "FieldValueInvalid");
    assert_eq!(
        crate::validation::invalid_message("Scale.autoscaling", "web", &[cause]),
        "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn service_update_keeps_allocated_ip_and_node_ports() {
    let old = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
        "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}});
    let mut new = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}});
    prepare_for_update(r("", "services"), &mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], "10.96.0.7");
    assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.7"]));
    assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
}

#[test]
fn service_update_to_external_name_drops_nothing_extra() {
    let old = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.7"}});
    let mut new = json!({"metadata": {"name": "s"}, "spec": {"type": "ExternalName", "externalName": "x.com"}});
    prepare_for_update(r("", "services"), &mut new, &old);
    assert!(new["spec"].get("clusterIP").is_none());
}

#[test]
fn update_with_undefaulted_body_does_not_bump_generation() {
    let res = r("apps", "deployments");
    let body = json!({"metadata": {"name": "w"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    let mut old = body.clone();
    crate::defaults::apply(res, &mut old);
    prepare_for_create(res, &mut old);
    let mut new = body;
    prepare_for_update(res, &mut new, &old);
    assert_eq!(new["metadata"]["generation"], 1);
    assert_eq!(new["spec"]["replicas"], 1);
}

#[test]
fn finalized_namespace_is_not_given_its_finalizer_back() {
    let res = r("", "namespaces");
    let old = json!({"metadata": {"name": "n"}, "spec": {}, "status": {"phase": "Terminating"}});
    let mut new = json!({"metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {}});
    prepare_for_update(res, &mut new, &old);
    crate::defaults::apply(res, &mut new);
    assert!(new["spec"].get("finalizers").is_none());
}

#[test]
fn empty_metadata_lists_and_maps_are_dropped() {
    let mut o = json!({"metadata": {"name": "a", "finalizers": [], "labels": {},
        "annotations": {"k": "v"}, "ownerReferences": null}});
    super::drop_empty_metadata(&mut o);
    assert_eq!(
        o["metadata"],
        json!({"name": "a", "annotations": {"k": "v"}})
    );
}
