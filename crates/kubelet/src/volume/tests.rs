use super::*;
use serde_json::json;

fn pod(volumes: serde_json::Value, mounts: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "c", "volumeMounts": mounts,
                  "resources": {"limits": {"memory": "32Mi"}}}],
                 "volumes": volumes}
    }))
    .unwrap()
}

fn sources() -> Sources {
    let mut s = Sources::default();
    s.configmaps.insert(
        "cfg".into(),
        serde_json::from_value(json!({"data": {"k1": "v1", "k2": "v2"}})).unwrap(),
    );
    s.secrets.insert(
        "sec".into(),
        serde_json::from_value(json!({"data": {"pw": "aHVudGVyMg=="}})).unwrap(),
    );
    s
}

#[test]
fn configmap_secret_and_downward_volumes_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pod(
        json!([
            {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "k2", "path": "dir/two", "mode": 0o600}]}},
            {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}},
            {"name": "info", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}}]}},
            {"name": "proj", "projected": {"sources": [
                {"configMap": {"name": "cfg"}}, {"secret": {"name": "sec"}}]}},
            {"name": "scratch", "emptyDir": {}}
        ]),
        json!([]),
    );
    let vols = setup(&p, tmp.path(), &sources(), &env::Runtime::default()).unwrap();
    let read = |v: &str, f: &str| std::fs::read_to_string(vols[v].path.join(f)).unwrap();
    assert_eq!(read("cfg", "dir/two"), "v2");
    assert!(!vols["cfg"].path.join("k1").exists());
    let mode = std::fs::metadata(vols["cfg"].path.join("dir/two"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(read("sec", "pw"), "hunter2");
    assert_eq!(read("info", "labels"), "a=\"1\"\nb=\"2\"");
    assert_eq!(read("info", "mem"), "32");
    assert_eq!(read("proj", "k1"), "v1");
    assert_eq!(read("proj", "pw"), "hunter2");
    assert!(vols["scratch"].path.is_dir());
    assert!(!vols["scratch"].force_readonly);
    assert!(vols["cfg"].force_readonly);
    teardown(tmp.path()).unwrap();
    assert!(!tmp.path().exists());
}

#[test]
fn missing_configmap_fails_mount_with_upstream_text_unless_optional() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pod(
        json!([{"name": "cfg", "configMap": {"name": "x"}}]),
        json!([]),
    );
    let e = setup(&p, tmp.path(), &sources(), &env::Runtime::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"x\" not found"
    );
    let p = pod(
        json!([{"name": "cfg", "configMap": {"name": "x", "optional": true}}]),
        json!([]),
    );
    setup(&p, tmp.path(), &sources(), &env::Runtime::default()).unwrap();
    let p = pod(
        json!([{"name": "s", "secret": {"secretName": "nope"}}]),
        json!([]),
    );
    let e = setup(&p, tmp.path(), &sources(), &env::Runtime::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MountVolume.SetUp failed for volume \"s\" : secret \"nope\" not found"
    );
    teardown(tmp.path()).unwrap();
}

#[test]
fn mounts_honour_read_only_and_sub_path() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pod(
        json!([{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "data", "emptyDir": {}}]),
        json!([
            {"name": "cfg", "mountPath": "/etc/cfg"},
            {"name": "data", "mountPath": "/data", "subPath": "sub/dir"},
            {"name": "data", "mountPath": "/ro", "readOnly": true}
        ]),
    );
    let vols = setup(&p, tmp.path(), &sources(), &env::Runtime::default()).unwrap();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let mounts = container_mounts(c, &vols).unwrap();
    assert_eq!(mounts.len(), 3);
    assert!(mounts[0].readonly, "configMap volumes are read-only");
    assert!(!mounts[1].readonly);
    assert!(mounts[1].host_path.ends_with("sub/dir") && mounts[1].host_path.is_dir());
    assert!(mounts[2].readonly);
    let mut bad = c.clone();
    bad.volume_mounts.as_mut().unwrap()[0].name = "missing".into();
    assert!(container_mounts(&bad, &vols).is_err());
    teardown(tmp.path()).unwrap();
}
