//! A real `skiff server`, a local registry with busybox, the real runtime on a private root
//! and cgroup parent, and the kubelet in-process; everything is removed on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use skiff_kubelet::{KubeletConfig, NoopNetwork};
use skiff_runtime::{Runtime, RuntimeConfig, RuntimeService};
use skiff_testkit::registry::Registry;
use skiff_testkit::{Kubectl, SkiffServer, oci};

pub struct Cluster {
    pub server: SkiffServer,
    pub registry: Registry,
    pub image: String,
    pub client: kube::Client,
    runtime: Option<Arc<Runtime>>,
    pub kubectl: Kubectl,
    pub node: String,
    pub config: KubeletConfig,
    kubelet: Option<tokio::task::JoinHandle<()>>,
    root: PathBuf,
    cgroup_parent: String,
    _tmp: tempfile::TempDir,
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG")
                .unwrap_or_else(|_| "skiff_kubelet=info".into()),
        )
        .with_test_writer()
        .try_init();
}

impl Cluster {
    pub async fn start(name: &str) -> Cluster {
        install_crypto();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("skiff-kubelet-{name}-"))
            .tempdir()
            .unwrap();
        let server = SkiffServer::start().expect("skiff server (cargo build -p skiff first)");
        let registry = Registry::start().unwrap();
        let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
        oci::push(&img, &registry.addr(), "busybox:latest").unwrap();
        let image = format!("{}/busybox:latest", registry.addr());

        let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();

        let suffix: String = tmp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .chars()
            .rev()
            .take(6)
            .collect::<String>()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let root = tmp.path().join("runtime");
        let cgroup_parent = format!("skiff-kubelet-test-{name}-{suffix}");
        let runtime = open_runtime(&root, &cgroup_parent, tmp.path());
        let node = format!("node-{name}-{suffix}");
        let mut config =
            KubeletConfig::new(&node, "127.0.0.1".parse().unwrap(), tmp.path().join("data"));
        config.is_server = true;
        let kubectl = Kubectl::new("1.33", &server.kubeconfig());
        let mut c = Cluster {
            server,
            registry,
            image,
            client,
            runtime: Some(runtime),
            kubectl,
            node,
            config,
            kubelet: None,
            root,
            cgroup_parent,
            _tmp: tmp,
        };
        c.start_kubelet();
        c
    }

    /// The runtime the kubelet uses.
    pub fn rt(&self) -> &Arc<Runtime> {
        self.runtime.as_ref().expect("runtime open")
    }

    pub fn start_kubelet(&mut self) {
        let rt: Arc<dyn RuntimeService> = self.rt().clone();
        let images: Arc<dyn skiff_runtime::ImageService> = self.rt().clone();
        let fut = skiff_kubelet::run(
            self.config.clone(),
            self.client.clone(),
            rt,
            images,
            Arc::new(NoopNetwork("127.0.0.1".parse().unwrap())),
        );
        self.kubelet = Some(tokio::spawn(async move {
            if let Err(e) = fut.await {
                eprintln!("kubelet exited: {e:#}");
            }
        }));
    }

    /// Stop the in-process kubelet and reopen the runtime from disk, as a restart does.
    pub async fn restart_kubelet(&mut self) {
        if let Some(k) = self.kubelet.take() {
            k.abort();
            let _ = k.await;
        }
        // Every task of the old agent lets go of the runtime before it is opened again.
        let old = self.runtime.take().expect("runtime open");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&old) > 1 {
            assert!(
                Instant::now() < deadline,
                "the stopped agent still holds the runtime"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(old);
        self.runtime = Some(open_runtime(
            &self.root,
            &self.cgroup_parent,
            self._tmp.path(),
        ));
        self.start_kubelet();
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Apply a manifest (YAML) with kubectl; `NODE` and `IMAGE` are substituted.
    pub fn apply(&self, yaml: &str) {
        let y = yaml
            .replace("NODE", &self.node)
            .replace("IMAGE", &self.image);
        self.kubectl.ok_stdin(&["apply", "-f", "-"], Some(&y));
    }

    pub async fn pod(&self, name: &str) -> Pod {
        self.pods().get(name).await.unwrap()
    }

    /// Wait until `f` holds for the pod, at most `secs`; panics with the last pod seen.
    pub async fn wait_pod(
        &self,
        name: &str,
        secs: u64,
        what: &str,
        f: impl Fn(&Pod) -> bool,
    ) -> Pod {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let p = self.pods().get_opt(name).await.unwrap();
            if let Some(p) = &p
                && f(p)
            {
                return p.clone();
            }
            if Instant::now() > deadline {
                panic!(
                    "pod {name}: {what} not reached in {secs}s; last: {}",
                    serde_json::to_string_pretty(&p.map(|p| p.status)).unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Run a command in a pod's container through the runtime.
    pub async fn exec(&self, pod: &str, container: &str, cmd: &[&str]) -> (i32, String) {
        let p = self.pod(pod).await;
        let id = container_id(&p, container).expect("container id");
        let r = self
            .rt()
            .exec_sync(
                &id,
                cmd.iter().map(|s| s.to_string()).collect(),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        let mut out = r.stdout;
        out.extend(r.stderr);
        (r.exit_code, String::from_utf8_lossy(&out).to_string())
    }

    pub fn events(&self, pod: &str) -> String {
        self.kubectl.ok(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={pod}"),
            "-o",
            "custom-columns=REASON:.reason,MESSAGE:.message,SOURCE:.source.component,COUNT:.count",
        ])
    }

    fn recorded_pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for (sub, file, keys) in [
            ("sandboxes", "sandbox.json", &["init_pid"][..]),
            ("containers", "container.json", &["pid", "shim_pid"][..]),
        ] {
            let Ok(rd) = std::fs::read_dir(self.root.join(sub)) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path().join(file)) else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                for k in keys {
                    if let Some(p) = v.get(*k).and_then(|p| p.as_i64())
                        && skiff_runtime::sys::proc_alive(p as i32, None)
                    {
                        pids.push(p as i32);
                    }
                }
            }
        }
        pids
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for c in [
            "memory",
            "cpu",
            "cpuacct",
            "pids",
            "unified",
            "cpu,cpuacct",
            "",
        ] {
            let base = Path::new("/sys/fs/cgroup")
                .join(c)
                .join(&self.cgroup_parent);
            if base.is_dir() {
                collect_dirs(&base, &mut out);
            }
        }
        out
    }
}

fn open_runtime(root: &Path, cgroup_parent: &str, tmp: &Path) -> Arc<Runtime> {
    let mut cfg = RuntimeConfig::new(root);
    cfg.helper_exe = skiff_testkit::workspace_bin("skiff");
    cfg.cgroup_parent = cgroup_parent.to_string();
    let store = skiff_images::ImageStore::open(tmp.join("images")).unwrap();
    Arc::new(Runtime::open(cfg, Arc::new(store)).unwrap())
}

fn collect_dirs(d: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_dirs(&e.path(), out);
            }
        }
    }
    out.push(d.to_path_buf());
}

/// The runtime ID of a container from the pod's status (`skiff://<id>`).
pub fn container_id(p: &Pod, name: &str) -> Option<String> {
    let st = p.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .chain(st.init_container_statuses.iter().flatten())
        .find(|c| c.name == name)?
        .container_id
        .as_ref()
        .map(|s| s.trim_start_matches("skiff://").to_string())
}

pub fn cstatus(p: &Pod, name: &str) -> Option<k8s_openapi::api::core::v1::ContainerStatus> {
    let st = p.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .chain(st.init_container_statuses.iter().flatten())
        .find(|c| c.name == name)
        .cloned()
}

pub fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn condition(p: &Pod, t: &str) -> Option<String> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(k) = self.kubelet.take() {
            k.abort();
        }
        for _ in 0..3 {
            for pid in self.recorded_pids() {
                // SAFETY: killing processes this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            for d in self.cgroup_dirs() {
                if let Ok(t) = std::fs::read_to_string(d.join("cgroup.procs")) {
                    for p in t.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                        // SAFETY: killing processes inside this test's cgroups.
                        unsafe { libc::kill(p, libc::SIGKILL) };
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let tmp = self._tmp.path().to_string_lossy().to_string();
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .filter(|m| m.starts_with(&tmp))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        for _ in 0..100 {
            for d in self.cgroup_dirs() {
                let _ = std::fs::remove_dir(&d);
            }
            if self.cgroup_dirs().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
