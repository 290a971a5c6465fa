//! Every hook, for every kind, survives malformed objects without panicking.

use serde_json::{Value, json};

use crate::{defaults, fields, registry, strategy, validation};

fn garbage() -> Vec<Value> {
    vec![
        json!(null),
        json!(7),
        json!("x"),
        json!([1, 2]),
        json!({}),
        json!({"metadata": 5, "spec": "x", "status": [1]}),
        json!({"metadata": {"name": 1, "labels": [1], "annotations": "a"}, "spec": [1]}),
        json!({"metadata": {"name": "a"}, "spec": {
            "containers": [1, "x", {"ports": [5, {"containerPort": "a"}], "resources": 3, "env": [1]}],
            "initContainers": {"a": 1}, "volumes": [1, {"configMap": 2}], "tolerations": "x",
            "template": {"metadata": 1, "spec": {"containers": 1}}, "selector": [1],
            "ports": [1, {"port": "x", "targetPort": []}], "strategy": 5, "updateStrategy": {"rollingUpdate": 1},
            "jobTemplate": {"spec": 1}, "metrics": 1, "behavior": 1, "rules": 1, "accessModes": 1,
            "resources": {"requests": 1}, "replicas": "many", "schedule": 5
        }, "rules": [1, {"verbs": 1}], "subjects": [1], "roleRef": 1, "data": [1], "type": 5,
           "involvedObject": 1, "regarding": 1, "addressType": 1, "endpoints": [1]}),
    ]
}

#[test]
fn hooks_never_panic_on_malformed_objects() {
    for res in registry().all() {
        for g in garbage() {
            let _ = validation::decode_check(res, &g);
            let _ = validation::unknown_fields(res, &g);
            let mut created = g.clone();
            defaults::apply(res, &mut created);
            strategy::prepare_for_create(res, &mut created);
            let _ = validation::validate_create(res, &created);
            for other in garbage() {
                let mut updated = other.clone();
                strategy::prepare_for_update(res, &mut updated, &created);
                let _ = validation::validate_update(res, &updated, &created);
                let mut status = other.clone();
                strategy::prepare_for_status_update(res, &mut status, &created);
                let mut scaled = created.clone();
                let _ = strategy::apply_scale(res, &mut scaled, &other);
            }
            let _ = strategy::scale_of(res, &created);
            for f in fields::supported_fields(res) {
                let _ = fields::field_value(res, &created, f);
            }
            let _ = crate::registry::convert_for_storage(res, created.clone());
            let _ = crate::registry::convert_from_storage(res, created);
        }
    }
}
