use serde_json::{Value, json};

use super::*;

fn claim(extra: Value) -> PersistentVolumeClaim {
    let mut v = json!({"metadata": {"name": "c", "namespace": "ns", "uid": "u1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn volume(name: &str, size: &str, extra: Value) -> PersistentVolume {
    let mut v = json!({"metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "capacity": {"storage": size},
                 "hostPath": {"path": "/tmp/x"}},
        "status": {"phase": "Available"}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn node(name: &str) -> Node {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn name(v: Option<&PersistentVolume>) -> Option<&str> {
    v.and_then(|v| v.metadata.name.as_deref())
}

#[test]
fn the_smallest_available_volume_that_is_big_enough_wins() {
    let vols = vec![
        volume("big", "10Gi", json!({})),
        volume("small", "500Mi", json!({})),
        volume("fit", "2Gi", json!({})),
        volume("pending", "1Gi", json!({"status": {"phase": "Pending"}})),
    ];
    assert_eq!(
        name(find_match(&claim(json!({})), &vols, false, None)),
        Some("fit")
    );
}

#[test]
fn class_access_modes_selector_and_volume_mode_must_agree() {
    let c = claim(json!({"spec": {"storageClassName": "fast"}}));
    let vols = vec![volume("plain", "1Gi", json!({}))];
    assert!(
        find_match(&c, &vols, false, None).is_none(),
        "class differs"
    );
    let vols = vec![volume(
        "fast",
        "1Gi",
        json!({"spec": {"storageClassName": "fast"}}),
    )];
    assert_eq!(name(find_match(&c, &vols, false, None)), Some("fast"));
    let rwx = claim(json!({"spec": {"accessModes": ["ReadWriteMany"]}}));
    assert!(find_match(&rwx, &[volume("v", "1Gi", json!({}))], false, None).is_none());
    let sel = claim(json!({"spec": {"selector": {"matchLabels": {"tier": "db"}}}}));
    let vols = vec![
        volume(
            "web",
            "1Gi",
            json!({"metadata": {"labels": {"tier": "web"}}}),
        ),
        volume("db", "5Gi", json!({"metadata": {"labels": {"tier": "db"}}})),
    ];
    assert_eq!(name(find_match(&sel, &vols, false, None)), Some("db"));
    let block = claim(json!({"spec": {"volumeMode": "Block"}}));
    assert!(find_match(&block, &[volume("v", "1Gi", json!({}))], false, None).is_none());
}

#[test]
fn a_volume_pre_bound_to_the_claim_is_chosen_and_others_claimed_are_skipped() {
    let mine = json!({"spec": {"claimRef": {"namespace": "ns", "name": "c"}}, "status": {"phase": "Pending"}});
    let theirs = json!({"spec": {"claimRef": {"namespace": "ns", "name": "other", "uid": "u2"}}});
    let vols = vec![
        volume("a-theirs", "1Gi", theirs),
        volume("b-free", "1Gi", json!({})),
        volume("c-mine", "8Gi", mine),
    ];
    assert_eq!(
        name(find_match(&claim(json!({})), &vols, false, None)),
        Some("c-mine")
    );
    let stale = json!({"spec": {"claimRef": {"namespace": "ns", "name": "c", "uid": "old"}}});
    let vols = vec![volume("stale", "1Gi", stale)];
    assert!(
        find_match(&claim(json!({})), &vols, false, None).is_none(),
        "an earlier claim of that name"
    );
}

#[test]
fn delayed_claims_match_only_with_a_node_that_the_volume_admits() {
    let pinned = json!({"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}}});
    let vols = vec![volume("local", "1Gi", pinned)];
    let c = claim(json!({}));
    assert!(find_match(&c, &vols, true, None).is_none());
    assert_eq!(
        name(find_match(&c, &vols, true, Some(&node("n1")))),
        Some("local")
    );
    assert!(find_match(&c, &vols, true, Some(&node("n2"))).is_none());
    assert!(node_affinity_fits(
        &volume("any", "1Gi", json!({})),
        &node("n2")
    ));
}

#[test]
fn sizes_and_classes_read_from_spec_or_beta_annotation() {
    let c = claim(
        json!({"metadata": {"annotations": {ANN_BETA_STORAGE_CLASS: "beta"}},
                         "spec": {"storageClassName": "spec", "resources": {"requests": {"storage": "1Mi"}}}}),
    );
    assert_eq!(claim_class(&c), "beta");
    assert_eq!(requested_bytes(&c), 1 << 20);
    assert_eq!(
        capacity_bytes(&volume("v", "2Gi", json!({}))),
        Some(2 << 30)
    );
    assert_eq!(capacity_bytes(&volume("v", "lots", json!({}))), None);
}
