//! VolumeBinding through the whole framework: missing and unbound claims, node affinity of
//! bound volumes, WaitForFirstConsumer claims with static or provisioned volumes.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::cache::Cache;
use crate::plugins::volume_binding::claims_to_bind;
use crate::testutil::{cache, failure, node, pod, schedule};
use crate::volumes::Volumes;

fn with_claim(name: &str, claim: &str) -> crate::podinfo::PodInfo {
    pod(
        name,
        "100m",
        "10Mi",
        json!({"spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}),
    )
}

fn claim(name: &str, class: &str, volume: Option<&str>) -> Value {
    json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
           "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Mi"}}, "volumeName": volume}})
}

fn volume(name: &str, class: &str, node: Option<&str>) -> Value {
    let mut v = json!({"metadata": {"name": name},
        "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                 "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/tmp/x"}},
        "status": {"phase": "Available"}});
    if let Some(n) = node {
        v["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [n]}]}]}});
    }
    v
}

fn class(name: &str, provisioner: &str, mode: &str) -> Value {
    json!({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode})
}

fn set(c: &mut Cache, claims: &[Value], volumes: &[Value], classes: &[Value]) {
    let mut v = Volumes::default();
    for x in claims {
        let o: k8s_openapi::api::core::v1::PersistentVolumeClaim =
            serde_json::from_value(x.clone()).expect("claim");
        v.claims.insert(crate::volumes::key_of(&o.metadata), o);
    }
    for x in volumes {
        let o: k8s_openapi::api::core::v1::PersistentVolume =
            serde_json::from_value(x.clone()).expect("volume");
        v.volumes.insert(crate::volumes::key_of(&o.metadata), o);
    }
    for x in classes {
        let o: k8s_openapi::api::storage::v1::StorageClass =
            serde_json::from_value(x.clone()).expect("class");
        v.classes.insert(crate::volumes::key_of(&o.metadata), o);
    }
    c.volumes = Arc::new(v);
}

fn two_nodes() -> Cache {
    cache(vec![
        node("a", "4", "8Gi", json!({})),
        node("b", "4", "8Gi", json!({})),
    ])
}

#[test]
fn a_missing_claim_or_an_unbound_immediate_one_keeps_the_pod_pending() {
    let mut c = two_nodes();
    let p = with_claim("p", "data");
    assert!(
        failure(&c, &p)
            .starts_with("0/2 nodes are available: persistentvolumeclaim \"data\" not found."),
        "{}",
        failure(&c, &p)
    );
    set(&mut c, &[claim("data", "", None)], &[], &[]);
    assert!(
        failure(&c, &p).starts_with(
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."
        )
    );
    let plain = pod("plain", "100m", "10Mi", json!({}));
    assert!(
        schedule(&c, &plain).is_ok(),
        "pods without claims are untouched"
    );
}

#[test]
fn a_bound_volume_pins_the_pod_to_its_node() {
    let mut c = two_nodes();
    set(
        &mut c,
        &[claim("data", "", Some("pv-b"))],
        &[volume("pv-b", "", Some("b"))],
        &[],
    );
    let p = with_claim("p", "data");
    for _ in 0..5 {
        assert_eq!(schedule(&c, &p).map(|d| d.node).ok().as_deref(), Some("b"));
    }
    assert!(claims_to_bind(&p, &c.volumes).is_empty());
    set(
        &mut c,
        &[claim("data", "", Some("pv-z"))],
        &[volume("pv-z", "", Some("z"))],
        &[],
    );
    assert!(
        failure(&c, &p).contains("2 node(s) had volume node affinity conflict"),
        "{}",
        failure(&c, &p)
    );
}

#[test]
fn delayed_claims_go_where_a_static_volume_fits_or_anywhere_a_provisioner_serves() {
    let mut c = two_nodes();
    let wait = class(
        "manual",
        "kubernetes.io/no-provisioner",
        "WaitForFirstConsumer",
    );
    set(
        &mut c,
        &[claim("data", "manual", None)],
        &[volume("pv-a", "manual", Some("a"))],
        std::slice::from_ref(&wait),
    );
    let p = with_claim("p", "data");
    for _ in 0..5 {
        assert_eq!(schedule(&c, &p).map(|d| d.node).ok().as_deref(), Some("a"));
    }
    assert_eq!(claims_to_bind(&p, &c.volumes), vec!["data".to_string()]);
    set(&mut c, &[claim("data", "manual", None)], &[], &[wait]);
    assert!(
        failure(&c, &p).contains("2 node(s) didn't find available persistent volumes to bind"),
        "{}",
        failure(&c, &p)
    );
    let local = class(
        "local-path",
        "rancher.io/local-path",
        "WaitForFirstConsumer",
    );
    set(&mut c, &[claim("data", "local-path", None)], &[], &[local]);
    assert!(schedule(&c, &p).is_ok());
    assert_eq!(claims_to_bind(&p, &c.volumes), vec!["data".to_string()]);
}
