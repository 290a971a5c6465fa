use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::plan::*;
use super::*;
use crate::matching::{ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER};

fn claim(extra: Value) -> PersistentVolumeClaim {
    let mut v = json!({"metadata": {"name": "www-web-0", "namespace": "default", "uid": "1234",
            "annotations": {ANN_STORAGE_PROVISIONER: PROVISIONER, ANN_SELECTED_NODE: "n1"}},
        "spec": {"storageClassName": "local-path", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Mi"}}}});
    if let (Some(a), Value::Object(b)) = (v.as_object_mut(), extra) {
        for (k, x) in b {
            a.insert(k, x);
        }
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn nodes() -> BTreeMap<String, k8s_openapi::api::core::v1::Node> {
    let n = serde_json::from_value(
        json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "host-1"}}}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    BTreeMap::from([("n1".to_string(), n)])
}

fn config() -> String {
    default_config("/var/lib/skiff/storage")
}

#[test]
fn a_claim_gets_a_directory_volume_pinned_to_its_node() {
    let class = crate::default_class();
    let pv = volume_for(
        &claim(json!({})),
        Some(&class),
        &nodes(),
        PROVISIONER,
        Some(&config()),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let v = serde_json::to_value(&pv).unwrap_or_default();
    assert_eq!(v["metadata"]["name"], "pvc-1234");
    assert_eq!(
        v["metadata"]["annotations"][ANN_PROVISIONED_BY],
        PROVISIONER
    );
    assert_eq!(
        v["spec"]["hostPath"]["path"],
        "/var/lib/skiff/storage/pvc-1234_default_www-web-0"
    );
    assert_eq!(v["spec"]["capacity"]["storage"], "1Mi");
    assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(v["spec"]["storageClassName"], "local-path");
    assert_eq!(v["spec"]["claimRef"]["uid"], "1234");
    assert_eq!(
        v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0],
        json!({"key": "kubernetes.io/hostname", "operator": "In", "values": ["host-1"]})
    );
    assert_eq!(
        provisioned_dir(&pv, PROVISIONER),
        Some((
            "/var/lib/skiff/storage/pvc-1234_default_www-web-0".to_string(),
            "n1".to_string()
        ))
    );
}

#[test]
fn claims_not_ours_or_not_yet_placed_are_left_alone() {
    let class = crate::default_class();
    let cfg = config();
    let run =
        |c: &PersistentVolumeClaim| volume_for(c, Some(&class), &nodes(), PROVISIONER, Some(&cfg));
    let unplaced = claim(
        json!({"metadata": {"name": "x", "namespace": "default", "uid": "1",
        "annotations": {ANN_STORAGE_PROVISIONER: PROVISIONER}}}),
    );
    assert_eq!(run(&unplaced).err(), Some(Skip::Quietly));
    let unasked = claim(json!({"metadata": {"name": "x", "namespace": "default", "uid": "1"}}));
    assert_eq!(run(&unasked).err(), Some(Skip::Quietly));
    assert!(!wants_volume(&unasked, Some(&class), PROVISIONER));
    assert!(wants_volume(&claim(json!({})), Some(&class), PROVISIONER));
    let bound = claim(json!({"spec": {"storageClassName": "local-path", "volumeName": "pv"}}));
    assert!(!wants_volume(&bound, Some(&class), PROVISIONER));
    assert!(!wants_volume(&claim(json!({})), None, PROVISIONER));
    let rwx = claim(
        json!({"spec": {"storageClassName": "local-path", "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "1Mi"}}}}),
    );
    assert!(matches!(run(&rwx), Err(Skip::Failed(m)) if m.contains("ReadWriteOnce")));
    let mut immediate = crate::default_class();
    immediate.volume_binding_mode = Some("Immediate".into());
    assert_eq!(
        volume_for(
            &unplaced,
            Some(&immediate),
            &nodes(),
            PROVISIONER,
            Some(&cfg)
        )
        .err(),
        Some(Skip::Failed(
            "configuration error, no node was specified".into()
        ))
    );
}

#[test]
fn the_path_map_gives_listed_nodes_their_own_directory() {
    let cfg = r#"{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["/opt/storage/"]},
                                 {"node":"n2","paths":["/mnt/fast"]}]}"#;
    assert_eq!(base_path(cfg, "n1").ok().as_deref(), Some("/opt/storage"));
    assert_eq!(base_path(cfg, "n2").ok().as_deref(), Some("/mnt/fast"));
    assert!(base_path(r#"{"nodePathMap":[]}"#, "n1").is_err());
    assert!(base_path("not json", "n1").is_err());
    assert!(base_path(r#"{"nodePathMap":[{"node":"n1","paths":["rel"]}]}"#, "n1").is_err());
}

#[test]
fn only_volume_directories_under_the_base_are_removed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = dir.path().join("storage");
    let vol = base.join("pvc-1_default_www");
    create_dir(&vol).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(vol.join("index.html"), "hi").unwrap_or_else(|e| panic!("{e}"));
    assert!(remove_volume_dir(&base, dir.path()).is_err());
    assert!(remove_volume_dir(&base, &base.join("other")).is_err());
    assert!(vol.exists());
    remove_volume_dir(&base, &vol).unwrap_or_else(|e| panic!("{e}"));
    assert!(!vol.exists());
    remove_volume_dir(&base, &vol).unwrap_or_else(|e| panic!("already gone: {e}"));
}

#[test]
fn only_released_delete_volumes_it_made_are_deleted() {
    let class = crate::default_class();
    let mut pv = volume_for(
        &claim(json!({})),
        Some(&class),
        &nodes(),
        PROVISIONER,
        Some(&config()),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!must_delete(&pv, PROVISIONER));
    pv.status = Some(k8s_openapi::api::core::v1::PersistentVolumeStatus {
        phase: Some("Released".into()),
        ..Default::default()
    });
    assert!(must_delete(&pv, PROVISIONER));
    assert!(!must_delete(&pv, "other.io/x"));
    if let Some(s) = pv.spec.as_mut() {
        s.persistent_volume_reclaim_policy = Some("Retain".into());
    }
    assert!(!must_delete(&pv, PROVISIONER));
}
