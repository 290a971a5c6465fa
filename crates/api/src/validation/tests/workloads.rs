//! Validation of workload kinds: deployments, stateful sets, jobs, cron jobs.

use super::*;

#[test]
fn valid_deployment_passes() {
    assert!(create("apps", "deployments", deployment()).is_empty());
}

#[test]
fn deployment_selector_must_match_template() {
    let mut d = deployment();
    d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    assert_eq!(
        create("apps", "deployments", d),
        vec![
            r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`"#
        ]
    );
}

#[test]
fn deployment_selector_required_and_non_empty() {
    let mut d = deployment();
    d["spec"].as_object_mut().unwrap().remove("selector");
    assert_eq!(
        create("apps", "deployments", d.clone()),
        vec!["spec.selector: Required value"]
    );
    d["spec"]["selector"] = json!({});
    assert_eq!(
        create("apps", "deployments", d),
        vec![
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
        ]
    );
}

#[test]
fn deployment_negative_replicas_and_restart_policy() {
    let mut d = deployment();
    d["spec"]["replicas"] = json!(-1);
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    let errs = create("apps", "deployments", d);
    assert!(errs.contains(
        &"spec.replicas: Invalid value: -1: must be greater than or equal to 0".to_string()
    ));
    assert!(errs.contains(&r#"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#.to_string()));
}

#[test]
fn deployment_selector_is_immutable() {
    let old = deployment();
    let mut new = deployment();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
    new["spec"]["template"]["metadata"]["labels"]["v"] = json!("2");
    assert_eq!(
        update("apps", "deployments", old, new),
        vec![
            r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#
        ]
    );
}

#[test]
fn deployment_scale_update_is_valid() {
    let old = deployment();
    let mut new = deployment();
    new["spec"]["replicas"] = json!(5);
    assert!(update("apps", "deployments", old, new).is_empty());
}

#[test]
fn statefulset_forbids_changing_service_name() {
    let mut old = deployment();
    old["spec"]["serviceName"] = json!("a");
    let mut new = old.clone();
    new["spec"]["serviceName"] = json!("b");
    let errs = update("apps", "statefulsets", old, new);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with(
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"
    ));
}

#[test]
fn job_requires_never_or_on_failure() {
    let j = json!({"metadata": {"name": "j", "namespace": "d", "uid": "u"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    assert_eq!(
        create("batch", "jobs", j),
        vec![
            r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
        ]
    );
}

#[test]
fn job_template_is_immutable() {
    let old = json!({"metadata": {"name": "j", "namespace": "d", "uid": "u"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}});
    let res = r("batch", "jobs");
    let mut stored = old.clone();
    defaults::apply(res, &mut stored);
    strategy::prepare_for_create(res, &mut stored);
    assert!(validate_create(res, &stored).is_empty());
    let mut new = stored.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("y");
    let errs: Vec<String> = validate_update(res, &new, &stored)
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        errs,
        vec!["spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"]
    );
}

#[test]
fn cronjob_schedule_checks() {
    let cj = |sched: &str| {
        json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"schedule": sched,
        "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}}}}})
    };
    assert!(create("batch", "cronjobs", cj("*/5 * * * *")).is_empty());
    assert!(create("batch", "cronjobs", cj("@hourly")).is_empty());
    assert!(create("batch", "cronjobs", cj("0 9 * * mon-fri")).is_empty());
    let errs = create("batch", "cronjobs", cj("foo"));
    assert_eq!(
        errs,
        vec![r#"spec.schedule: Invalid value: "foo": expected exactly 5 fields, found 1: foo"#]
    );
    assert_eq!(create("batch", "cronjobs", cj("61 * * * *")).len(), 1);
}

#[test]
fn cronjob_names_are_limited_to_52() {
    let name = "a".repeat(53);
    let cj = json!({"metadata": {"name": name, "namespace": "d"}, "spec": {"schedule": "* * * * *",
        "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}});
    let errs = create("batch", "cronjobs", cj);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].ends_with("must be no more than 52 characters"));
}

#[test]
fn statefulset_containers_may_mount_their_claim_templates() {
    let mut s = deployment();
    s["kind"] = json!("StatefulSet");
    s["spec"]["serviceName"] = json!("web");
    s["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "www", "mountPath": "/data"}]);
    assert_eq!(
        create("apps", "statefulsets", s.clone()),
        vec![r#"spec.template.spec.containers[0].volumeMounts[0].name: Not found: "www""#]
    );
    s["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "www"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}}]);
    assert!(create("apps", "statefulsets", s).is_empty());
}
