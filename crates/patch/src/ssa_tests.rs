//! Tests of server-side apply and managed fields tracking.

use crate::{
    ApplyError, json_patch, server_side_apply, update_managed_fields, update_managed_fields_for,
};
use serde_json::{Value, json};

const T0: &str = "2026-01-01T10:00:00Z";
const T1: &str = "2026-01-01T11:00:00Z";
const T2: &str = "2026-01-01T12:00:00Z";

const DEPLOY_YAML: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
"#;

fn apply(live: Option<&Value>, config: &str, manager: &str, force: bool, now: &str) -> Value {
    match server_side_apply(
        live,
        config.as_bytes(),
        manager,
        force,
        "apps/v1",
        "Deployment",
        now,
    ) {
        Ok(v) => v,
        Err(e) => panic!("apply failed: {e}"),
    }
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

fn fields(obj: &Value, manager: &str, operation: &str) -> Value {
    entry(obj, manager, operation).map_or(Value::Null, |e| e["fieldsV1"].clone())
}

fn owns(obj: &Value, manager: &str, operation: &str, pointer: &str) -> bool {
    fields(obj, manager, operation).pointer(pointer).is_some()
}

#[test]
fn apply_creates_object_with_upstream_fields_v1() {
    let obj = apply(None, DEPLOY_YAML, "kubectl", false, T0);
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(obj["metadata"]["name"], "web");
    let list = entries(&obj);
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0],
        json!({
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {},
                                "f:containerPort": {}
                            }}
                        }}}
                    }
                }
            }
        })
    );
}

#[test]
fn apply_requires_identity() {
    let err = server_side_apply(
        None,
        b"metadata:\n  name: x\n",
        "m",
        false,
        "apps/v1",
        "Deployment",
        T0,
    );
    assert!(matches!(err, Err(ApplyError::Invalid(_))));
    let err = server_side_apply(
        None,
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {}\n",
        "m",
        false,
        "apps/v1",
        "Deployment",
        T0,
    );
    assert!(matches!(err, Err(ApplyError::Invalid(_))));
    let err = server_side_apply(
        None,
        b": : not yaml [",
        "m",
        false,
        "apps/v1",
        "Deployment",
        T0,
    );
    assert!(matches!(err, Err(ApplyError::Invalid(_))));
}

#[test]
fn reapply_is_a_no_op() {
    let obj = apply(None, DEPLOY_YAML, "kubectl", false, T0);
    let again = apply(Some(&obj), DEPLOY_YAML, "kubectl", false, T1);
    assert_eq!(again, obj);
    let outcome = crate::apply(
        Some(&obj),
        DEPLOY_YAML.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T1,
    )
    .expect("apply");
    assert!(!outcome.changed);
}

#[test]
fn apply_change_updates_object_and_time() {
    let obj = apply(None, DEPLOY_YAML, "kubectl", false, T0);
    let changed = DEPLOY_YAML.replace("nginx:1.25", "nginx:1.26");
    let out = apply(Some(&obj), &changed, "kubectl", false, T1);
    assert_eq!(
        out.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!("nginx:1.26"))
    );
    assert_eq!(
        entry(&out, "kubectl", "Apply").map(|e| e["time"].clone()),
        Some(json!(T1))
    );
}

fn created_by_client_side_apply() -> Value {
    let mut obj: Value = serde_saphyr::from_str(DEPLOY_YAML).expect("yaml");
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    update_managed_fields(
        None,
        &mut obj,
        "kubectl-client-side-apply",
        "Update",
        "apps/v1",
        "Deployment",
        T0,
    );
    obj
}

#[test]
fn update_on_create_records_changed_fields() {
    let obj = created_by_client_side_apply();
    let f = fields(&obj, "kubectl-client-side-apply", "Update");
    assert_eq!(f["f:metadata"]["f:labels"], json!({".": {}, "f:app": {}}));
    assert!(f["f:spec"].get(".").is_none());
    assert!(f["f:spec"]["f:template"].get(".").is_none());
    assert_eq!(f["f:spec"]["f:replicas"], json!({}));
    assert_eq!(f["f:spec"]["f:selector"], json!({}));
    let c = &f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
    assert_eq!(c["."], json!({}));
    assert_eq!(c["f:imagePullPolicy"], json!({}));
    assert!(f.get("f:apiVersion").is_none());
    assert!(f["f:metadata"].get("f:name").is_none());
}

#[test]
fn apply_conflicts_with_other_manager() {
    let obj = created_by_client_side_apply();
    let changed = DEPLOY_YAML.replace("replicas: 2", "replicas: 5");
    let err = server_side_apply(
        Some(&obj),
        changed.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T1,
    );
    let Err(e @ ApplyError::Conflicts(_)) = err else {
        panic!("expected a conflict, got {err:?}")
    };
    assert_eq!(
        e.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
    if let ApplyError::Conflicts(c) = &e {
        assert_eq!(c[0].manager, "kubectl-client-side-apply");
        assert_eq!(c[0].field, ".spec.replicas");
        assert_eq!(
            c[0].cause_message(),
            r#"conflict with "kubectl-client-side-apply" using apps/v1"#
        );
    }
}

#[test]
fn same_value_is_shared_without_conflict() {
    let obj = created_by_client_side_apply();
    let out = apply(Some(&obj), DEPLOY_YAML, "kubectl", false, T1);
    assert!(owns(&out, "kubectl", "Apply", "/f:spec/f:replicas"));
    assert!(owns(
        &out,
        "kubectl-client-side-apply",
        "Update",
        "/f:spec/f:replicas"
    ));
}

#[test]
fn multiple_conflicts_message() {
    let obj = created_by_client_side_apply();
    let changed = DEPLOY_YAML
        .replace("replicas: 2", "replicas: 5")
        .replace("nginx:1.25", "nginx:1.26");
    let err = server_side_apply(
        Some(&obj),
        changed.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T1,
    );
    let Err(e) = err else {
        panic!("expected conflicts")
    };
    assert_eq!(
        e.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
}

#[test]
fn force_takes_ownership() {
    let obj = created_by_client_side_apply();
    let changed = DEPLOY_YAML.replace("replicas: 2", "replicas: 5");
    let out = apply(Some(&obj), &changed, "kubectl", true, T1);
    assert_eq!(out["spec"]["replicas"], 5);
    assert!(owns(&out, "kubectl", "Apply", "/f:spec/f:replicas"));
    assert!(!owns(
        &out,
        "kubectl-client-side-apply",
        "Update",
        "/f:spec/f:replicas"
    ));
    assert!(owns(
        &out,
        "kubectl-client-side-apply",
        "Update",
        "/f:spec/f:selector"
    ));
    // Entries are ordered as upstream: Apply before Update.
    let ops: Vec<Value> = entries(&out)
        .iter()
        .map(|e| e["operation"].clone())
        .collect();
    assert_eq!(ops, [json!("Apply"), json!("Update")]);
}

#[test]
fn omitted_fields_are_removed_unless_owned_by_others() {
    let with_tier = DEPLOY_YAML.replace(
        "    app: web\nspec:",
        "    app: web\n    tier: frontend\nspec:",
    );
    let obj = apply(None, &with_tier, "kubectl", false, T0);
    assert_eq!(obj["metadata"]["labels"]["tier"], "frontend");
    let out = apply(Some(&obj), DEPLOY_YAML, "kubectl", false, T1);
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert!(!owns(
        &out,
        "kubectl",
        "Apply",
        "/f:metadata/f:labels/f:tier"
    ));

    // Another manager also applies the label: it stays.
    let other = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    tier: frontend
"#;
    let shared = apply(Some(&obj), other, "other", false, T1);
    let out = apply(Some(&shared), DEPLOY_YAML, "kubectl", false, T2);
    assert_eq!(out["metadata"]["labels"]["tier"], "frontend");
    assert!(owns(&out, "other", "Apply", "/f:metadata/f:labels/f:tier"));
}

#[test]
fn omitted_container_is_removed_with_defaulted_fields() {
    let two = DEPLOY_YAML.replace(
        "        - containerPort: 80\n",
        "        - containerPort: 80\n      - name: sidecar\n        image: busybox\n",
    );
    let mut obj = apply(None, &two, "kubectl", false, T0);
    // Defaulting by the server adds unowned fields.
    obj["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"] = json!("Always");
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    let out = apply(Some(&obj), DEPLOY_YAML, "kubectl", false, T1);
    let cs = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["name"], "web");
    assert_eq!(cs[0]["imagePullPolicy"], "IfNotPresent");
}

#[test]
fn update_moves_ownership_between_managers() {
    let obj = apply(None, DEPLOY_YAML, "kubectl", false, T0);
    let mut scaled = obj.clone();
    scaled["spec"]["replicas"] = json!(4);
    update_managed_fields(
        Some(&obj),
        &mut scaled,
        "kubectl-scale",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
    );
    assert!(owns(
        &scaled,
        "kubectl-scale",
        "Update",
        "/f:spec/f:replicas"
    ));
    assert!(!owns(&scaled, "kubectl", "Apply", "/f:spec/f:replicas"));
    assert_eq!(
        entry(&scaled, "kubectl-scale", "Update").map(|e| e["time"].clone()),
        Some(json!(T1))
    );
    // Re-applying the old value now conflicts with the updater.
    let err = server_side_apply(
        Some(&scaled),
        DEPLOY_YAML.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T2,
    );
    assert!(
        matches!(&err, Err(ApplyError::Conflicts(c)) if c.len() == 1 && c[0].manager == "kubectl-scale")
    );
}

#[test]
fn update_without_changes_keeps_entries() {
    let obj = created_by_client_side_apply();
    let mut same = obj.clone();
    update_managed_fields(
        Some(&obj),
        &mut same,
        "other",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
    );
    assert_eq!(same, obj);
}

#[test]
fn status_is_not_tracked_on_main_resource_but_is_on_status() {
    let obj = created_by_client_side_apply();
    let mut with_status = obj.clone();
    with_status["status"] = json!({"replicas": 2});
    update_managed_fields(
        Some(&obj),
        &mut with_status,
        "ctrl",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
    );
    assert!(entry(&with_status, "ctrl", "Update").is_none());
    let mut status = obj.clone();
    status["status"] = json!({"replicas": 2});
    update_managed_fields_for(
        Some(&obj),
        &mut status,
        "ctrl",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
        Some("status"),
    );
    let e = entry(&status, "ctrl", "Update").expect("entry");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
}

#[test]
fn client_supplied_empty_managed_fields_clear_tracking() {
    let obj = created_by_client_side_apply();
    let mut cleared = obj.clone();
    cleared["metadata"]["managedFields"] = json!([]);
    update_managed_fields(
        Some(&obj),
        &mut cleared,
        "kubectl",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
    );
    assert!(cleared["metadata"].get("managedFields").is_none());
}

#[test]
fn apply_configmap_and_service() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"1\"\n";
    let obj = server_side_apply(None, cm.as_bytes(), "kubectl", false, "v1", "ConfigMap", T0)
        .expect("apply");
    assert_eq!(
        fields(&obj, "kubectl", "Apply"),
        json!({"f:data": {"f:a": {}}})
    );
    let svc = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}"#;
    let obj = server_side_apply(None, svc.as_bytes(), "kubectl", false, "v1", "Service", T0)
        .expect("apply");
    assert_eq!(
        fields(&obj, "kubectl", "Apply"),
        json!({"f:spec": {
            "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}},
            "f:selector": {}
        }})
    );
}

#[test]
fn apply_merges_sets_and_keeps_unowned_items() {
    let mut obj = apply(None, DEPLOY_YAML, "kubectl", false, T0);
    obj["metadata"]["finalizers"] = json!(["x/y"]);
    let with_fin = DEPLOY_YAML.replace(
        "  name: web\n  labels:",
        "  name: web\n  finalizers:\n  - a/b\n  labels:",
    );
    let out = apply(Some(&obj), &with_fin, "kubectl", false, T1);
    assert_eq!(out["metadata"]["finalizers"], json!(["x/y", "a/b"]));
    assert!(owns(
        &out,
        "kubectl",
        "Apply",
        "/f:metadata/f:finalizers/v:\"a~1b\""
    ));
}

#[test]
fn untracked_object_is_owned_by_before_first_apply() {
    let live: Value = serde_saphyr::from_str(DEPLOY_YAML).expect("yaml");
    let changed = DEPLOY_YAML.replace("replicas: 2", "replicas: 3");
    let err = server_side_apply(
        Some(&live),
        changed.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T1,
    );
    let Err(e) = err else {
        panic!("expected a conflict")
    };
    assert_eq!(
        e.to_string(),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    let out = apply(Some(&live), &changed, "kubectl", true, T1);
    assert!(owns(
        &out,
        "before-first-apply",
        "Update",
        "/f:spec/f:selector"
    ));
    assert!(owns(&out, "kubectl", "Apply", "/f:spec/f:replicas"));
}

#[test]
fn apply_rejects_items_without_keys_and_duplicates() {
    let missing = DEPLOY_YAML.replace("      - name: web\n        image", "      - image");
    let err = server_side_apply(
        None,
        missing.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T0,
    );
    assert!(
        matches!(&err, Err(ApplyError::Invalid(m)) if m.contains("omits key field \"name\"")),
        "{err:?}"
    );
    let dup = DEPLOY_YAML.replace(
        "        - containerPort: 80\n",
        "        - containerPort: 80\n      - name: web\n        image: x\n",
    );
    let err = server_side_apply(
        None,
        dup.as_bytes(),
        "kubectl",
        false,
        "apps/v1",
        "Deployment",
        T0,
    );
    assert!(
        matches!(&err, Err(ApplyError::Invalid(m)) if m.contains("duplicate entries for key [name=\"web\"]")),
        "{err:?}"
    );
}

#[test]
fn kubectl_csa_upgrade_flow() {
    // kubectl apply --server-side on an object created by client-side apply: it rewrites
    // managedFields with a JSON patch (recorded from kubectl 1.33), then applies again.
    let mut live = created_by_client_side_apply();
    live["metadata"]["resourceVersion"] = json!("5");
    let upgraded = json!([{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:replicas": {}}}
    }]);
    let patch = json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": upgraded},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": "5"}
    ]);
    let mut patched = json_patch(&live, patch.to_string().as_bytes()).expect("json patch");
    update_managed_fields(
        Some(&live),
        &mut patched,
        "kubectl",
        "Update",
        "apps/v1",
        "Deployment",
        T1,
    );
    assert_eq!(patched["metadata"]["managedFields"], upgraded);
    let changed = DEPLOY_YAML.replace("replicas: 2", "replicas: 4");
    let out = apply(Some(&patched), &changed, "kubectl", false, T2);
    assert_eq!(out["spec"]["replicas"], 4);
    assert_eq!(entries(&out).len(), 1);
}
