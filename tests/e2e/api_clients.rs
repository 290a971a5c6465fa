//! Independent clients agree: the official Python client and kube-rs do CRUD and watch.

use crate::cluster;

const PYTHON_SCRIPT: &str = r#"
import sys, threading
from kubernetes import client, config, watch
config.load_kube_config()
v1 = client.CoreV1Api()
apps = client.AppsV1Api()
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"client": "python"}), data={"a": "1"})
created = v1.create_namespaced_config_map("default", cm)
assert created.metadata.uid, "uid set"
got = v1.read_namespaced_config_map("py", "default")
assert got.data["a"] == "1"
listed = v1.list_namespaced_config_map("default", label_selector="client=python")
assert [i.metadata.name for i in listed.items] == ["py"], listed.items
events = []
def watcher(rv):
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("a")))
        if ev["type"] == "DELETED":
            w.stop()
t = threading.Thread(target=watcher, args=(listed.metadata.resource_version,))
t.start()
v1.patch_namespaced_config_map("py", "default", {"data": {"a": "2"}})
v1.delete_namespaced_config_map("py", "default")
t.join(20)
assert ("MODIFIED", "py", "2") in events and any(e[0] == "DELETED" for e in events), events
dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pyd"},
       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "pyd"}},
                "template": {"metadata": {"labels": {"app": "pyd"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
d = apps.create_namespaced_deployment("default", dep)
assert d.spec.strategy.type == "RollingUpdate", d.spec.strategy
try:
    v1.read_namespaced_pod("missing", "default")
    sys.exit("expected 404")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
print("python-client-ok")
"#;

#[test]
fn python_client_crud_and_watch() {
    let (s, _k) = cluster("1.33");
    let script = s.data_dir().join("client.py");
    std::fs::write(&script, PYTHON_SCRIPT).expect("write script");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .env("KUBECONFIG", s.kubeconfig())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("python-client-ok"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kube_rs_crud_and_watch() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{
        Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
    };

    let _ = rustls::crypto::ring::default_provider().install_default();
    let (s, _k) = cluster("1.33");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(s.kubeconfig()).expect("kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        let client = kube::Client::try_from(config).expect("client");
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "rs", "labels": { "client": "rust" } }, "data": { "a": "1" }
        }))
        .expect("configmap");
        let created = cms
            .create(&PostParams::default(), &cm)
            .await
            .expect("create");
        let rv = created.metadata.resource_version.clone().expect("rv");
        let listed = cms
            .list(&ListParams::default().labels("client=rust"))
            .await
            .expect("list");
        assert_eq!(listed.items.len(), 1);
        let mut stream = cms
            .watch(&WatchParams::default().timeout(10), &rv)
            .await
            .expect("watch")
            .boxed();
        cms.patch(
            "rs",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "data": { "a": "2" } })),
        )
        .await
        .expect("patch");
        cms.delete("rs", &DeleteParams::default())
            .await
            .expect("delete");
        let mut seen = Vec::new();
        while let Some(ev) = stream.try_next().await.expect("watch event") {
            match ev {
                WatchEvent::Modified(cm) => seen.push(format!(
                    "MODIFIED {}",
                    cm.data
                        .unwrap_or_default()
                        .get("a")
                        .cloned()
                        .unwrap_or_default()
                )),
                WatchEvent::Deleted(_) => {
                    seen.push("DELETED".into());
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(seen, ["MODIFIED 2", "DELETED"]);
        let missing = cms.get("rs").await.expect_err("deleted");
        assert!(
            matches!(missing, kube::Error::Api(ref s) if s.code == 404),
            "{missing:?}"
        );
    });
}
