use super::*;
use crate::registry;
use serde_json::json;

fn defaulted(group: &str, version: &str, plural: &str, mut obj: Value) -> Value {
    let res = registry().find(group, version, plural).unwrap();
    apply(res, &mut obj);
    obj
}

fn pod(obj: Value) -> Value {
    defaulted("", "v1", "pods", obj)
}

#[test]
fn pod_gets_spec_level_defaults() {
    let p = pod(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    );
    let s = &p["spec"];
    assert_eq!(s["restartPolicy"], "Always");
    assert_eq!(s["dnsPolicy"], "ClusterFirst");
    assert_eq!(s["terminationGracePeriodSeconds"], 30);
    assert_eq!(s["schedulerName"], "default-scheduler");
    assert_eq!(s["securityContext"], json!({}));
    assert_eq!(s["enableServiceLinks"], true);
    assert_eq!(s["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(s["priority"], 0);
}

#[test]
fn container_defaults() {
    let p = pod(
        json!({"spec": {"containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}),
    );
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["resources"], json!({}));
    assert_eq!(c["ports"][0]["protocol"], "TCP");
}

#[test]
fn image_pull_policy_follows_tag() {
    assert!(image_is_latest("nginx"));
    assert!(image_is_latest("nginx:latest"));
    assert!(image_is_latest("localhost:5000/busybox"));
    assert!(!image_is_latest("localhost:5000/busybox:1.36"));
    assert!(!image_is_latest("busybox@sha256:abcd"));
    let p = pod(json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}}));
    assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
}

#[test]
fn explicit_values_are_never_overwritten() {
    let p = pod(
        json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}}),
    );
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Never");
}

#[test]
fn probe_defaults() {
    let p = pod(json!({"spec": {"containers": [{"name": "c", "image": "x:1",
        "livenessProbe": {"httpGet": {"port": 80}}, "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5}}]}}));
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["periodSeconds"], 10);
    assert_eq!(c["livenessProbe"]["timeoutSeconds"], 1);
    assert_eq!(c["livenessProbe"]["successThreshold"], 1);
    assert_eq!(c["livenessProbe"]["failureThreshold"], 3);
    assert_eq!(c["livenessProbe"]["httpGet"]["scheme"], "HTTP");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/");
    assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
    assert!(c.get("startupProbe").is_none());
}

#[test]
fn volume_default_modes() {
    let p = pod(json!({"spec": {"containers": [], "volumes": [
        {"name": "a", "configMap": {"name": "cm"}}, {"name": "b", "secret": {"secretName": "s"}}, {"name": "c"}]}}));
    let v = &p["spec"]["volumes"];
    assert_eq!(v[0]["configMap"]["defaultMode"], 420);
    assert_eq!(v[1]["secret"]["defaultMode"], 420);
    assert_eq!(v[2]["emptyDir"], json!({}));
}

#[test]
fn requests_default_to_limits_on_pods() {
    let p = pod(json!({"spec": {"containers": [{"name": "c", "image": "x:1",
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}}}]}}));
    let r = &p["spec"]["containers"][0]["resources"]["requests"];
    assert_eq!(r["cpu"], "100m");
    assert_eq!(r["memory"], "64Mi");
}

#[test]
fn priority_left_to_admission_when_class_named() {
    let p = pod(json!({"spec": {"priorityClassName": "high", "containers": []}}));
    assert!(p["spec"].get("priority").is_none());
}

#[test]
fn deployment_defaults_and_template() {
    let d = defaulted(
        "apps",
        "v1",
        "deployments",
        json!({"spec": {"selector": {"matchLabels": {"app": "w"}},
        "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
    );
    let s = &d["spec"];
    assert_eq!(s["replicas"], 1);
    assert_eq!(
        s["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["progressDeadlineSeconds"], 600);
    let ps = &s["template"]["spec"];
    assert_eq!(ps["restartPolicy"], "Always");
    assert_eq!(ps["containers"][0]["imagePullPolicy"], "Always");
    // Only real pods get these.
    assert!(ps.get("enableServiceLinks").is_none());
    assert!(ps.get("priority").is_none());
}

#[test]
fn recreate_deployment_gets_no_rolling_update() {
    let d = defaulted(
        "apps",
        "v1",
        "deployments",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn replicaset_and_rc_defaults() {
    let rs = defaulted("apps", "v1", "replicasets", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    let rc = defaulted(
        "",
        "v1",
        "replicationcontrollers",
        json!({"metadata": {"name": "r"},
        "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}}}}),
    );
    assert_eq!(rc["spec"]["replicas"], 1);
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
}

#[test]
fn daemonset_defaults() {
    let ds = defaulted("apps", "v1", "daemonsets", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
}

#[test]
fn statefulset_defaults() {
    let s = defaulted(
        "apps",
        "v1",
        "statefulsets",
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}),
    );
    let sp = &s["spec"];
    assert_eq!(sp["replicas"], 1);
    assert_eq!(sp["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sp["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(sp["revisionHistoryLimit"], 10);
    assert_eq!(
        sp["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(
        sp["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(sp["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
}

#[test]
fn job_defaults() {
    let j = defaulted(
        "batch",
        "v1",
        "jobs",
        json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}),
    );
    let s = &j["spec"];
    assert_eq!(s["completions"], 1);
    assert_eq!(s["parallelism"], 1);
    assert_eq!(s["backoffLimit"], 6);
    assert_eq!(s["completionMode"], "NonIndexed");
    assert_eq!(s["suspend"], false);
    assert_eq!(s["podReplacementPolicy"], "TerminatingOrFailed");
    assert!(s.get("manualSelector").is_none());
    assert_eq!(s["template"]["spec"]["restartPolicy"], "Never");
}

#[test]
fn job_with_parallelism_only_leaves_completions_unset() {
    let j = defaulted("batch", "v1", "jobs", json!({"spec": {"parallelism": 3}}));
    assert!(j["spec"].get("completions").is_none());
    assert_eq!(j["spec"]["parallelism"], 3);
}

#[test]
fn cronjob_defaults() {
    let c = defaulted(
        "batch",
        "v1",
        "cronjobs",
        json!({"spec": {"schedule": "* * * * *",
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}}}),
    );
    let s = &c["spec"];
    assert_eq!(s["concurrencyPolicy"], "Allow");
    assert_eq!(s["suspend"], false);
    assert_eq!(s["successfulJobsHistoryLimit"], 3);
    assert_eq!(s["failedJobsHistoryLimit"], 1);
    assert_eq!(
        s["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
    assert!(s["jobTemplate"]["spec"].get("backoffLimit").is_none());
}

#[test]
fn service_defaults() {
    let s = defaulted(
        "",
        "v1",
        "services",
        json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}}),
    );
    let sp = &s["spec"];
    assert_eq!(sp["type"], "ClusterIP");
    assert_eq!(sp["sessionAffinity"], "None");
    assert_eq!(sp["ports"][0]["protocol"], "TCP");
    assert_eq!(sp["ports"][0]["targetPort"], 80);
    assert_eq!(sp["ports"][1]["targetPort"], "https");
    assert_eq!(sp["internalTrafficPolicy"], "Cluster");
    assert_eq!(sp["ipFamilyPolicy"], "SingleStack");
    assert_eq!(sp["ipFamilies"], json!(["IPv4"]));
    assert!(sp.get("externalTrafficPolicy").is_none());
}

#[test]
fn nodeport_and_loadbalancer_services_get_external_policy() {
    let s = defaulted(
        "",
        "v1",
        "services",
        json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
    );
    assert_eq!(s["spec"]["externalTrafficPolicy"], "Cluster");
    let lb = defaulted(
        "",
        "v1",
        "services",
        json!({"spec": {"type": "LoadBalancer"}}),
    );
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    let en = defaulted(
        "",
        "v1",
        "services",
        json!({"spec": {"type": "ExternalName", "externalName": "x.com"}}),
    );
    assert!(en["spec"].get("ipFamilies").is_none());
}

#[test]
fn secret_namespace_and_volume_defaults() {
    assert_eq!(defaulted("", "v1", "secrets", json!({}))["type"], "Opaque");
    let ns = defaulted(
        "",
        "v1",
        "namespaces",
        json!({"metadata": {"name": "team"}}),
    );
    // The "kubernetes" finalizer is a create-time strategy, not a default.
    assert!(ns.get("spec").is_none());
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    let pvc = defaulted("", "v1", "persistentvolumeclaims", json!({"spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    let pv = defaulted("", "v1", "persistentvolumes", json!({"spec": {}}));
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
}

#[test]
fn network_policy_types_default_from_rules() {
    let np = defaulted(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        json!({"spec": {"podSelector": {}, "egress": [{}]}}),
    );
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
}

#[test]
fn hpa_v2_defaults_cpu_metric_and_min_replicas() {
    let h = defaulted(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        json!({"apiVersion": "autoscaling/v2", "spec": {"maxReplicas": 3}}),
    );
    assert_eq!(h["spec"]["minReplicas"], 1);
    assert_eq!(
        h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    assert!(h["spec"].get("behavior").is_none());
    let v1 = defaulted(
        "autoscaling",
        "v1",
        "horizontalpodautoscalers",
        json!({"apiVersion": "autoscaling/v1", "spec": {"maxReplicas": 3}}),
    );
    assert!(v1["spec"].get("metrics").is_none());
}

#[test]
fn non_objects_are_left_alone() {
    let mut v = json!("x");
    apply(registry().find("", "v1", "pods").unwrap(), &mut v);
    assert_eq!(v, json!("x"));
}

#[test]
fn quantities_are_written_canonically() {
    let p = pod(json!({"spec": {"containers": [{"name": "c", "image": "x:1",
        "resources": {"limits": {"cpu": "1000m", "memory": "0.5Gi"}}}]}}));
    let r = &p["spec"]["containers"][0]["resources"];
    assert_eq!(r["limits"], json!({"cpu": "1", "memory": "512Mi"}));
    assert_eq!(r["requests"], json!({"cpu": "1", "memory": "512Mi"}));
}

#[test]
fn secret_string_data_is_folded_into_data() {
    let s = defaulted(
        "",
        "v1",
        "secrets",
        json!({"data": {"a": "YQ=="}, "stringData": {"b": "hello", "a": "x"}}),
    );
    assert_eq!(s["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
    assert!(s.get("stringData").is_none());
    assert_eq!(s["type"], "Opaque");
}
