use super::*;
use serde_json::json;

fn pod(container: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "prod", "uid": "u-1",
                     "labels": {"app": "web", "tier": "front"},
                     "annotations": {"note": "hi"}},
        "spec": {"nodeName": "n1", "serviceAccountName": "sa", "enableServiceLinks": false,
                 "containers": [container]}
    }))
    .unwrap()
}

fn sources() -> Sources {
    let mut s = Sources::default();
    s.configmaps.insert(
        "cfg".into(),
        serde_json::from_value(json!({"data": {"color": "blue", "size": "L"}})).unwrap(),
    );
    s.secrets.insert(
        "sec".into(),
        serde_json::from_value(json!({"data": {"password": "czNjcmV0"}})).unwrap(),
    );
    s
}

fn resolve(c: serde_json::Value) -> Result<Vec<(String, String)>> {
    let p = pod(c);
    let container = p.spec.as_ref().unwrap().containers[0].clone();
    container_env(
        &p,
        &container,
        &sources(),
        &Runtime {
            pod_ips: vec!["10.42.0.5".parse().unwrap()],
            host_ip: Some("192.168.1.2".parse().unwrap()),
        },
    )
}

#[test]
fn env_from_with_prefix_then_env_overrides() {
    let env = resolve(json!({"name": "c", "envFrom": [
        {"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
        {"secretRef": {"name": "sec"}}],
        "env": [{"name": "CFG_color", "value": "red"}]}))
    .unwrap();
    assert_eq!(
        env,
        vec![
            ("CFG_color".to_string(), "red".to_string()),
            ("CFG_size".into(), "L".into()),
            ("password".into(), "s3cret".into()),
        ]
    );
}

#[test]
fn value_from_refs_and_fields() {
    let env = resolve(json!({"name": "c", "env": [
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
        {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": true}}},
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "MSG", "value": "$(COLOR)-$(NAME)-$$(COLOR)-$(MISSING)"}]}))
    .unwrap();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("COLOR"), Some("blue"));
    assert_eq!(get("PW"), Some("s3cret"));
    assert_eq!(get("OPT"), None);
    assert_eq!(get("NAME"), Some("web"));
    assert_eq!(get("NS"), Some("prod"));
    assert_eq!(get("APP"), Some("web"));
    assert_eq!(get("NOTE"), Some("hi"));
    assert_eq!(get("NODE"), Some("n1"));
    assert_eq!(get("SA"), Some("sa"));
    assert_eq!(get("IP"), Some("10.42.0.5"));
    assert_eq!(get("HOST"), Some("192.168.1.2"));
    assert_eq!(get("MSG"), Some("blue-web-$(COLOR)-$(MISSING)"));
}

#[test]
fn missing_sources_are_config_errors_with_upstream_text() {
    let e = resolve(json!({"name": "c", "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]}))
    .unwrap_err();
    assert_eq!(e.to_string(), "configmap \"gone\" not found");
    let e = resolve(json!({"name": "c", "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]}))
    .unwrap_err();
    assert_eq!(e.to_string(), "couldn't find key k in ConfigMap prod/cfg");
    let e = resolve(json!({"name": "c", "envFrom": [{"secretRef": {"name": "s2"}}]})).unwrap_err();
    assert_eq!(e.to_string(), "secret \"s2\" not found");
}

#[test]
fn resource_field_refs_divide_and_default_to_allocatable() {
    let p = pod(
        json!({"name": "c", "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}),
    );
    let c = p.spec.as_ref().unwrap().containers[0].clone();
    let mut src = sources();
    src.node_allocatable.insert("cpu".into(), "2".into());
    let sel = |res: &str, div: Option<&str>| ResourceFieldSelector {
        container_name: None,
        resource: res.into(),
        divisor: div.map(|d| k8s_openapi::apimachinery::pkg::api::resource::Quantity(d.into())),
    };
    assert_eq!(
        resource_value(&p, Some(&c), &sel("limits.memory", Some("1Mi")), &src).unwrap(),
        "64"
    );
    assert_eq!(
        resource_value(&p, Some(&c), &sel("requests.cpu", Some("1m")), &src).unwrap(),
        "250"
    );
    assert_eq!(
        resource_value(&p, Some(&c), &sel("limits.cpu", None), &src).unwrap(),
        "2"
    );
}

#[test]
fn commands_expand_against_env() {
    let p = pod(json!({"name": "c", "command": ["echo", "$(A)"], "args": ["$$(A)", "$(B)"]}));
    let c = &p.spec.as_ref().unwrap().containers[0];
    let (cmd, args) = expand_command(c, &[("A".into(), "1".into())]);
    assert_eq!(cmd, vec!["echo", "1"]);
    assert_eq!(args, vec!["$(A)", "$(B)"]);
}

#[test]
fn service_links_as_docker_links() {
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "my-db", "namespace": "prod"},
        "spec": {"clusterIP": "10.43.0.9", "ports": [{"name": "sql", "port": 5432, "protocol": "TCP"}]}
    }))
    .unwrap();
    let env = service_links("prod", &[svc]).items;
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("MY_DB_SERVICE_HOST"), Some("10.43.0.9"));
    assert_eq!(get("MY_DB_SERVICE_PORT"), Some("5432"));
    assert_eq!(get("MY_DB_SERVICE_PORT_SQL"), Some("5432"));
    assert_eq!(get("MY_DB_PORT"), Some("tcp://10.43.0.9:5432"));
    assert_eq!(get("MY_DB_PORT_5432_TCP_ADDR"), Some("10.43.0.9"));
    assert_eq!(get("MY_DB_PORT_5432_TCP_PROTO"), Some("tcp"));
}
