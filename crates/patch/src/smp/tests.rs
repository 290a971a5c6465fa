//! Tests of the strategic merge patch.

use crate::{Error, strategic_merge_patch};
use serde_json::{Value, json};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "tier": "frontend"},
            "finalizers": ["a.example.com/x"],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                        },
                        {"name": "sidecar", "image": "busybox", "command": ["sleep", "3600"]}
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "k", "operator": "Exists"}]
                }
            }
        },
        "status": {"replicas": 2}
    })
}

fn smp(doc: &Value, patch: Value) -> Value {
    let bytes = serde_json::to_vec(&patch).unwrap_or_default();
    match strategic_merge_patch(doc, &bytes, "apps/v1", "Deployment") {
        Ok(v) => v,
        Err(e) => panic!("patch failed: {e}"),
    }
}

fn containers(v: &Value) -> &Vec<Value> {
    v.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .expect("containers")
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect()
}

#[test]
fn container_image_change_by_name() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}),
    );
    let cs = containers(&out);
    assert_eq!(names(cs), ["web", "sidecar"]);
    assert_eq!(cs[0]["image"], "nginx:1.26");
    assert_eq!(cs[0]["ports"][0]["containerPort"], 80);
    assert_eq!(cs[1]["image"], "busybox");
    assert_eq!(out["status"]["replicas"], 2);
}

#[test]
fn env_merges_by_name_and_new_items_append() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}
        ]}}}}),
    );
    let env = &containers(&out)[0]["env"];
    assert_eq!(
        env,
        &json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])
    );
}

#[test]
fn patch_delete_directive_removes_list_item() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"$patch": "delete", "name": "sidecar"}]
        }}}}),
    );
    assert_eq!(names(containers(&out)), ["web"]);
}

#[test]
fn set_element_order_reorders_and_merges() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
            "containers": [{"name": "web", "image": "nginx:1.27"}]
        }}}}),
    );
    let cs = containers(&out);
    assert_eq!(names(cs), ["sidecar", "web"]);
    assert_eq!(cs[1]["image"], "nginx:1.27");
    assert_eq!(cs[1]["env"][0]["name"], "A");
}

#[test]
fn kubectl_apply_removes_env_entry_and_label() {
    // The shape kubectl's three-way patch takes when an env var and a label leave the manifest.
    let out = smp(
        &deployment(),
        json!({
            "metadata": {
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":true}\n"},
                "labels": {"tier": null}
            },
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"$patch": "delete", "name": "B"}],
                    "name": "web"
                }]
            }}}
        }),
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{\"new\":true}\n"
    );
    assert_eq!(
        containers(&out)[0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    assert_eq!(names(containers(&out)), ["web", "sidecar"]);
}

#[test]
fn null_deletes_fields() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"labels": {"tier": null}}, "spec": {"strategy": null}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert!(out["spec"].get("strategy").is_none());
}

#[test]
fn new_values_lose_nested_nulls() {
    let mut doc = deployment();
    if let Some(m) = doc["metadata"].as_object_mut() {
        m.remove("labels");
    }
    let out = smp(&doc, json!({"metadata": {"labels": {"a": "1", "b": null}}}));
    assert_eq!(out["metadata"]["labels"], json!({"a": "1"}));
}

#[test]
fn finalizers_merge_as_set_and_delete_from_primitive_list() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"finalizers": ["b.example.com/y", "a.example.com/x"]}}),
    );
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["b.example.com/y", "a.example.com/x"])
    );
    let out = smp(
        &out,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b.example.com/y"]));
}

#[test]
fn atomic_lists_are_replaced() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "other", "operator": "Exists"}],
            "containers": [{"name": "sidecar", "command": ["sh"]}]
        }}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "other", "operator": "Exists"}])
    );
    assert_eq!(containers(&out)[1]["command"], json!(["sh"]));
}

#[test]
fn retain_keys_drops_other_strategy_fields() {
    let out = smp(
        &deployment(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn retain_keys_rejects_fields_not_listed() {
    let bytes = serde_json::to_vec(
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}),
    )
    .unwrap_or_default();
    let err = strategic_merge_patch(&deployment(), &bytes, "apps/v1", "Deployment");
    assert_eq!(
        err,
        Err(Error::BadRequest(
            "invalid patch format of retainKeys".into()
        ))
    );
}

#[test]
fn map_replace_directive() {
    let out = smp(
        &deployment(),
        json!({"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "other"}}}}),
    );
    assert_eq!(
        out["spec"]["selector"],
        json!({"matchLabels": {"app": "other"}})
    );
}

#[test]
fn list_replace_directive() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "x"}, {"$patch": "replace"}
        ]}}}}),
    );
    assert_eq!(
        containers(&out),
        &vec![json!({"name": "only", "image": "x"})]
    );
}

#[test]
fn missing_merge_key_is_an_error() {
    let bytes = serde_json::to_vec(
        &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
    )
    .unwrap_or_default();
    let err = strategic_merge_patch(&deployment(), &bytes, "apps/v1", "Deployment");
    assert!(
        matches!(err, Err(Error::BadRequest(m)) if m.contains("does not contain declared merge key: name"))
    );
}

#[test]
fn invalid_json_is_bad_request() {
    let err = strategic_merge_patch(&deployment(), b"{not json", "apps/v1", "Deployment");
    assert!(matches!(err, Err(Error::BadRequest(_))));
}

#[test]
fn ports_merge_by_container_port_and_volumes_by_name() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "containers": [{"name": "web", "ports": [{"containerPort": 443}]}],
            "volumes": [{"name": "cache", "emptyDir": {}}]
        }}}}),
    );
    // As upstream: patch items not found in the live list go before server-only items.
    let ports = &containers(&out)[0]["ports"];
    assert_eq!(
        ports,
        &json!([{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])
    );
    let volumes = out["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert_eq!(names(volumes), ["cache", "data"]);
}

#[test]
fn service_ports_merge_by_port() {
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "clusterIP": "10.0.0.10"
        }
    });
    let patch = json!({"spec": {
        "$setElementOrder/ports": [{"port": 443}, {"port": 80}],
        "ports": [{"name": "https", "port": 443, "targetPort": 8443}]
    }});
    let out =
        strategic_merge_patch(&svc, patch.to_string().as_bytes(), "v1", "Service").expect("patch");
    let ports = out["spec"]["ports"].as_array().expect("ports");
    assert_eq!(names(ports), ["https", "http"]);
    assert_eq!(out["spec"]["clusterIP"], "10.0.0.10");
}

#[test]
fn configmap_data_change_from_kubectl_apply() {
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}\n"}},
        "data": {"a": "1", "b": "2"}
    });
    let patch = json!({
        "data": {"a": "10", "b": null, "c": "3"},
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"10\",\"c\":\"3\"}}\n"}}
    });
    let out =
        strategic_merge_patch(&cm, patch.to_string().as_bytes(), "v1", "ConfigMap").expect("patch");
    assert_eq!(out["data"], json!({"a": "10", "c": "3"}));
}

#[test]
fn unknown_kind_replaces_lists() {
    let cr = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"items": [{"name": "a"}, {"name": "b"}], "size": 1}});
    let patch = json!({"spec": {"items": [{"name": "c"}]}});
    let out = strategic_merge_patch(
        &cr,
        patch.to_string().as_bytes(),
        "example.com/v1",
        "Widget",
    )
    .expect("patch");
    assert_eq!(out["spec"], json!({"items": [{"name": "c"}], "size": 1}));
}

#[test]
fn new_list_with_delete_directive_items_drops_them() {
    let mut doc = deployment();
    if let Some(spec) = doc
        .pointer_mut("/spec/template/spec")
        .and_then(Value::as_object_mut)
    {
        spec.remove("volumes");
    }
    let out = smp(
        &doc,
        json!({"spec": {"template": {"spec": {"volumes": [{"name": "x", "$patch": "delete"}, {"name": "y", "emptyDir": {}}]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "y", "emptyDir": {}}])
    );
}

#[test]
fn kubectl_apply_adds_container_in_order() {
    let mut doc = deployment();
    if let Some(cs) = doc
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    {
        cs.truncate(1);
    }
    let out = smp(
        &doc,
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "new"}],
            "containers": [{"image": "redis", "name": "new"}]
        }}}}),
    );
    assert_eq!(names(containers(&out)), ["web", "new"]);
}

#[test]
fn kubectl_apply_primitive_list_directives() {
    let mut doc = deployment();
    doc["metadata"]["finalizers"] = json!(["a", "b", "c"]);
    let out = smp(
        &doc,
        json!({"metadata": {
            "$setElementOrder/finalizers": ["c", "a", "d"],
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "finalizers": ["d"]
        }}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "d"]));
}

#[test]
fn volume_source_change_with_retain_keys() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/volumes": [{"name": "data"}],
            "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cfg"}, "name": "data"}]
        }}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cfg"}}])
    );
}

#[test]
fn owner_references_merge_by_uid() {
    let mut doc = deployment();
    doc["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "X", "name": "a", "uid": "1"}]);
    let out = smp(
        &doc,
        json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "b", "uid": "2"}]}}),
    );
    assert_eq!(
        out["metadata"]["ownerReferences"].as_array().map(Vec::len),
        Some(2)
    );
}
