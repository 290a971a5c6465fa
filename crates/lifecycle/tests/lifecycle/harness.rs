//! A server, kubectl and the lifecycle controllers running in this process.

use std::time::{Duration, Instant};

use skiff_lifecycle::Config;
use skiff_testkit::{Kubectl, SkiffServer};

pub struct Cluster {
    pub k: Kubectl,
    /// Runs the controllers; dropped before the server.
    pub rt: tokio::runtime::Runtime,
    pub client: kube::Client,
    // Dropped last: kills the server.
    _server: SkiffServer,
}

/// Start a server and run the lifecycle controllers with `config` against it.
pub fn cluster(config: Config) -> Cluster {
    cluster_for("1.33", config)
}

/// [`cluster`] driven by kubectl `version`.
pub fn cluster_for(version: &str, config: Config) -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = SkiffServer::start_with(&["--disable-controllers"]).expect("start skiff server");
    let k = Kubectl::new(version, &server.kubeconfig());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig();
    let client = rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
        let mut cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        // kube-rs retries 429 for up to minutes by default; tests want to see it.
        cfg.default_retry = false;
        kube::Client::try_from(cfg).expect("client")
    });
    rt.spawn(skiff_lifecycle::run_with(client.clone(), config));
    Cluster {
        k,
        rt,
        client,
        _server: server,
    }
}

/// Short timings for tests.
pub fn fast() -> Config {
    Config {
        node_monitor_grace_period: Duration::from_secs(4),
        node_startup_grace_period: Duration::from_secs(6),
        node_monitor_period: Duration::from_millis(500),
        pod_gc_period: Duration::from_millis(500),
        resync_period: Duration::from_secs(2),
        ..Config::default()
    }
}

/// Poll `check` until it holds or `secs` pass; true when it held.
pub fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    check()
}

impl Cluster {
    /// `kubectl get` with a jsonpath, "" when the object is absent.
    pub fn jsonpath(&self, args: &[&str], path: &str) -> String {
        let jp = format!("jsonpath={path}");
        let mut all: Vec<&str> = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", &jp]);
        let out = self.k.run(&all);
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn exists(&self, args: &[&str]) -> bool {
        let mut all: Vec<&str> = vec!["get"];
        all.extend_from_slice(args);
        self.k.run(&all).status.success()
    }

    pub fn apply_json(&self, obj: &serde_json::Value) {
        self.k
            .ok_stdin(&["create", "-f", "-"], Some(&obj.to_string()));
    }

    pub fn uid(&self, args: &[&str]) -> String {
        self.jsonpath(args, "{.metadata.uid}")
    }
}

/// A ReplicaSet that no controller runs here: an owner for hand-made dependents.
pub fn replicaset(name: &str, replicas: i64) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": { "name": name, "namespace": "default" },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": name } },
                  "template": { "metadata": { "labels": { "app": name } },
                                "spec": { "containers": [{ "name": "c", "image": "busybox" }] } } }
    })
}

/// An ownerReference to a ReplicaSet.
pub fn owned_by(name: &str, uid: &str) -> serde_json::Value {
    serde_json::json!([{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "uid": uid,
                         "controller": true, "blockOwnerDeletion": true }])
}
