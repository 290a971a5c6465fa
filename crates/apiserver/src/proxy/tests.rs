use serde_json::json;

use super::*;

#[test]
fn container_defaults_like_upstream() {
    let one = json!({"spec": {"containers": [{"name": "app"}]}});
    assert_eq!(container(&one, "p", None).ok().as_deref(), Some("app"));
    assert_eq!(
        container(&one, "p", Some("app")).ok().as_deref(),
        Some("app")
    );
    let e = container(&one, "p", Some("nope")).expect_err("error");
    assert_eq!(e.code, 400);
    assert_eq!(e.message, "container nope is not valid for pod p");
    let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}});
    let e = container(&two, "p", None).expect_err("error");
    assert_eq!(
        e.message,
        "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"
    );
    assert_eq!(container(&two, "p", Some("i")).ok().as_deref(), Some("i"));
}

#[test]
fn kubelet_endpoint_prefers_internal_ip_and_defaults_port() {
    let node = json!({"status": {"addresses": [
        {"type": "Hostname", "address": "n1"},
        {"type": "InternalIP", "address": "10.0.0.5"}
    ], "daemonEndpoints": {"kubeletEndpoint": {"Port": 12345}}}});
    assert_eq!(kubelet_endpoint(&node), Some(("10.0.0.5".into(), 12345)));
    let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
    assert_eq!(
        kubelet_endpoint(&node),
        Some(("n1".into(), DEFAULT_KUBELET_PORT))
    );
    assert_eq!(kubelet_endpoint(&json!({"status": {}})), None);
}

#[test]
fn kubelet_targets() {
    let q = Query::parse(Some(
        "container=c&follow=true&tailLines=5&timestamps=true&pretty=1",
    ));
    assert_eq!(
        kubelet_target("log", "ns", "p", "c", &q, None)
            .ok()
            .as_deref(),
        Some("/containerLogs/ns/p/c?follow=true&timestamps=true&tailLines=5")
    );
    let q = Query::parse(Some(
        "command=sh&command=-c&command=echo+hi&container=c&stdin=true&stdout=true&stderr=true&tty=false",
    ));
    assert_eq!(
        kubelet_target("exec", "ns", "p", "c", &q, None)
            .ok()
            .as_deref(),
        Some("/exec/ns/p/c?command=sh&command=-c&command=echo+hi&input=1&output=1&error=1")
    );
    let q = Query::parse(Some("container=c&stdout=true"));
    assert!(kubelet_target("exec", "ns", "p", "c", &q, None).is_err());
    let q = Query::parse(Some("command=ls"));
    assert!(kubelet_target("exec", "ns", "p", "c", &q, None).is_err());
    let q = Query::parse(None);
    assert_eq!(
        kubelet_target("portforward", "ns", "p", "", &q, Some("ports=80"))
            .ok()
            .as_deref(),
        Some("/portforward/ns/p?ports=80")
    );
}
