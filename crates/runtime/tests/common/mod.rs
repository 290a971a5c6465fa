//! Shared fixtures: a busybox rootfs, a runtime on a private root and cgroup parent, and a
//! guard that kills, unmounts and removes whatever a test leaves behind, even on failure.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use skiff_images::ImageConfig;
use skiff_runtime::{
    ContainerConfig, ContainerState, ContainerStatus, PodSandboxConfig, RootfsSource, Runtime,
    RuntimeConfig, RuntimeService, StaticImages,
};

pub const IMAGE: &str = "test/busybox:latest";

/// A rootfs of Debian's static busybox, built once per test binary.
pub fn busybox_rootfs() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // Shared by every test binary and run (read-only lower dir); built once, atomically.
        let dir = std::env::temp_dir().join("skiff-rt-busybox-v1");
        if dir.join("bin/busybox").exists() && dir.join("etc/group").exists() {
            return dir;
        }
        let tmp = std::env::temp_dir().join(format!("skiff-rt-busybox-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"] {
            std::fs::create_dir_all(tmp.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", tmp.join("bin/busybox")).unwrap();
        let list = std::process::Command::new("/bin/busybox").arg("--list").output().unwrap();
        for name in String::from_utf8_lossy(&list.stdout).lines() {
            if name != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", tmp.join("bin").join(name));
            }
        }
        std::fs::write(
            tmp.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(tmp.join("etc/group"), "root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another test binary won the race: use its copy.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        dir
    })
    .clone()
}

pub fn images() -> Arc<StaticImages> {
    Arc::new(StaticImages::new().with(
        IMAGE,
        RootfsSource {
            lower_dirs: vec![busybox_rootfs()],
        },
        ImageConfig {
            env: vec!["PATH=/bin".into()],
            cmd: vec!["sh".into()],
            ..Default::default()
        },
    ))
}

/// A test's runtime root and cgroup parent; cleans up everything on drop.
pub struct Env {
    pub root: PathBuf,
    pub cgroup_parent: String,
    _tmp: tempfile::TempDir,
}

impl Env {
    pub fn new(name: &str) -> Env {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("skiff-rt-{name}-"))
            .tempdir()
            .unwrap();
        let suffix: String = tmp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .chars()
            .rev()
            .take(6)
            .collect();
        Env {
            root: tmp.path().join("root"),
            cgroup_parent: format!("skiff-test-{name}-{suffix}"),
            _tmp: tmp,
        }
    }

    pub fn config(&self) -> RuntimeConfig {
        let mut cfg = RuntimeConfig::new(&self.root);
        cfg.helper_exe = PathBuf::from(env!("CARGO_BIN_EXE_skiff-runtime-helper"));
        cfg.cgroup_parent = self.cgroup_parent.clone();
        cfg
    }

    pub fn open(&self) -> Runtime {
        Runtime::open(self.config(), images()).unwrap()
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for c in ["memory", "cpu", "cpuacct", "pids", "unified", ""] {
            let base = Path::new("/sys/fs/cgroup")
                .join(c)
                .join(&self.cgroup_parent);
            if base.is_dir() {
                collect_dirs(&base, &mut out);
            }
        }
        out
    }

    /// PIDs recorded in state files (sandbox inits, shims, containers) that are still alive.
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

    fn mounts_under_root(&self) -> Vec<String> {
        let root = self.root.to_string_lossy().to_string();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&root))
            .map(String::from)
            .collect()
    }

    /// Assert nothing is left: no processes, no mounts, no cgroups below the parent.
    pub fn assert_clean(&self) {
        assert_eq!(
            self.recorded_pids(),
            Vec::<i32>::new(),
            "processes left behind"
        );
        assert_eq!(
            self.mounts_under_root(),
            Vec::<String>::new(),
            "mounts left behind"
        );
        let dirs: Vec<PathBuf> = self
            .cgroup_dirs()
            .into_iter()
            .filter(|d| {
                d.file_name()
                    .is_some_and(|n| n != self.cgroup_parent.as_str())
            })
            .collect();
        assert_eq!(dirs, Vec::<PathBuf>::new(), "cgroups left behind");
    }
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

impl Drop for Env {
    fn drop(&mut self) {
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
        for m in self.mounts_under_root() {
            if let Some(mp) = m.split(' ').nth(4) {
                let _ = nix::mount::umount2(mp, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        // Killed processes may linger as zombies until reaped: retry for a while.
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

pub fn sandbox_config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        name: name.into(),
        namespace: "default".into(),
        uid: format!("uid-{name}"),
        hostname: name.into(),
        ..Default::default()
    }
}

pub fn sh(name: &str, script: &str) -> ContainerConfig {
    ContainerConfig {
        name: name.into(),
        image: IMAGE.into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..Default::default()
    }
}

/// Create and start a container; returns its id.
pub async fn run(rt: &Runtime, sb: &str, cfg: ContainerConfig) -> String {
    let sbc = rt.pod_sandbox_status(sb).await.unwrap().config;
    let id = rt.create_container(sb, cfg, &sbc).await.unwrap();
    rt.start_container(&id).await.unwrap();
    id
}

/// Wait for the container to exit, at most `secs`.
pub async fn wait(rt: &Runtime, id: &str, secs: u64) -> ContainerStatus {
    let st = tokio::time::timeout(Duration::from_secs(secs), rt.wait_container(id))
        .await
        .expect("container did not exit in time")
        .unwrap();
    assert_eq!(st.state, ContainerState::Exited);
    st
}

/// Log lines of a container as (stream, text).
pub fn log_lines(st: &ContainerStatus) -> Vec<(String, String)> {
    std::fs::read_to_string(&st.log_path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let p = skiff_runtime::log::parse_line(l)
                .unwrap_or_else(|| panic!("not a CRI log line: {l:?}"));
            (p.stream.as_str().to_string(), p.text.to_string())
        })
        .collect()
}
