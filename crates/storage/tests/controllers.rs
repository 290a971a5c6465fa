//! The binder and the local-path provisioner against a real `skiff server` (controllers
//! disabled there, run in this process), driven by real kubectl.
//! Needs `cargo build -p skiff` first (the testkit spawns target/debug/skiff).

use std::time::{Duration, Instant};

use skiff_testkit::{Kubectl, SkiffServer};

struct Cluster {
    k: Kubectl,
    storage: tempfile::TempDir,
    // Dropped before the server: stops the controllers.
    _rt: tokio::runtime::Runtime,
    _server: SkiffServer,
}

fn cluster() -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = SkiffServer::start_with(&["--disable-controllers"]).expect("start skiff server");
    let k = Kubectl::new("1.33", &server.kubeconfig());
    let storage = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig();
    let dir = storage.path().display().to_string();
    rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        let client = kube::Client::try_from(cfg).expect("client");
        skiff_storage::bootstrap(&client, &dir)
            .await
            .expect("bootstrap");
        let options = skiff_storage::Options {
            local_node: Some("n1".into()),
        };
        tokio::spawn(skiff_storage::run_with(
            client,
            options,
            Duration::from_secs(2),
        ));
    });
    Cluster {
        k,
        storage,
        _rt: rt,
        _server: server,
    }
}

impl Cluster {
    fn get(&self, args: &[&str], path: &str) -> String {
        let jp = format!("jsonpath={path}");
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", &jp]);
        String::from_utf8_lossy(&self.k.run(&all).stdout)
            .trim()
            .to_string()
    }

    fn apply(&self, yaml: &str) {
        self.k.ok_stdin(&["apply", "-f", "-"], Some(yaml));
    }

    fn events(&self, name: &str) -> String {
        self.k.ok(&[
            "get",
            "events",
            "-A",
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ])
    }
}

fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    check()
}

fn volume(name: &str, size: &str, policy: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity:\n    storage: {size}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: {policy}\n  storageClassName: \"\"\n  hostPath:\n    path: /tmp/{name}\n{extra}"
    )
}

fn claim(name: &str, size: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  storageClassName: \"\"\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n{extra}"
    )
}

#[test]
fn claims_bind_to_the_smallest_fitting_volume_and_release_it_by_policy() {
    let c = cluster();
    c.apply(&volume("big", "10Gi", "Retain", ""));
    c.apply(&volume("small", "1Gi", "Delete", ""));
    c.apply(&volume("tiny", "10Mi", "Retain", ""));
    assert!(eventually(20, || c.get(&["pv", "tiny"], "{.status.phase}")
        == "Available"));
    c.apply(&claim("a", "500Mi", ""));
    assert!(eventually(20, || c.get(&["pvc", "a"], "{.status.phase}") == "Bound"));
    assert_eq!(c.get(&["pvc", "a"], "{.spec.volumeName}"), "small");
    assert_eq!(c.get(&["pv", "small"], "{.status.phase}"), "Bound");
    assert_eq!(c.get(&["pv", "small"], "{.spec.claimRef.name}"), "a");
    // Pre-bound by name: the user picks the volume.
    c.apply(&claim("b", "1Mi", "  volumeName: big\n"));
    assert!(eventually(20, || c.get(&["pv", "big"], "{.status.phase}") == "Bound"));
    assert_eq!(c.get(&["pvc", "b"], "{.status.phase}"), "Bound");
    assert_eq!(
        c.get(
            &["pvc", "b"],
            "{.metadata.annotations.pv\\.kubernetes\\.io/bound-by-controller}"
        ),
        "",
        "the user bound it"
    );
    // Retain keeps a released volume; Delete of a static hostPath volume fails as upstream.
    c.k.ok(&["delete", "pvc", "b", "a"]);
    assert!(eventually(20, || c.get(&["pv", "big"], "{.status.phase}")
        == "Released"));
    assert!(eventually(20, || c
        .get(&["pv", "small"], "{.status.phase}")
        == "Failed"));
    assert!(
        c.events("small").contains("VolumeFailedDelete"),
        "{}",
        c.events("small")
    );
    // A released volume is not given to a new claim.
    c.apply(&claim("c", "5Gi", ""));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(c.get(&["pvc", "c"], "{.status.phase}"), "Pending");
    assert!(
        c.events("c")
            .contains("no persistent volumes available for this claim and no storage class is set")
    );
}

#[test]
fn local_path_claims_are_provisioned_on_their_node_and_deleted_with_them() {
    let c = cluster();
    assert_eq!(
        c.get(&["storageclass", "local-path"], "{.volumeBindingMode}"),
        "WaitForFirstConsumer"
    );
    let pvc = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: www\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Mi\n";
    c.apply(pvc);
    assert_eq!(
        c.get(&["pvc", "www"], "{.spec.storageClassName}"),
        "local-path"
    );
    assert!(eventually(20, || c
        .events("www")
        .contains("WaitForFirstConsumer")));
    assert_eq!(
        c.get(&["pv"], "{.items[*].metadata.name}"),
        "",
        "nothing before a node is chosen"
    );
    // What the scheduler does once it picks a node for the claim's pod.
    c.k.ok(&[
        "annotate",
        "pvc",
        "www",
        "volume.kubernetes.io/selected-node=n1",
    ]);
    assert!(eventually(20, || c.get(&["pvc", "www"], "{.status.phase}") == "Bound"));
    let uid = c.get(&["pvc", "www"], "{.metadata.uid}");
    let pv = format!("pvc-{uid}");
    assert_eq!(c.get(&["pvc", "www"], "{.spec.volumeName}"), pv);
    assert_eq!(
        c.get(
            &["pv", &pv],
            "{.metadata.annotations.pv\\.kubernetes\\.io/provisioned-by}"
        ),
        "rancher.io/local-path"
    );
    assert_eq!(
        c.get(&["pv", &pv], "{.spec.persistentVolumeReclaimPolicy}"),
        "Delete"
    );
    let dir = c.storage.path().join(format!("{pv}_default_www"));
    assert_eq!(
        c.get(&["pv", &pv], "{.spec.hostPath.path}"),
        dir.display().to_string()
    );
    assert!(dir.is_dir(), "made on this node");
    let events = c.events("www");
    assert!(events.contains("ExternalProvisioning"), "{events}");
    assert!(
        events.contains(&format!("Successfully provisioned volume {pv}")),
        "{events}"
    );
    c.k.ok(&["delete", "pvc", "www"]);
    assert!(eventually(30, || !c
        .k
        .run(&["get", "pv", &pv])
        .status
        .success()));
    assert!(!dir.exists());
}
