//! Start-up latency of Skiff's runtime against runc and crun on the same busybox bundle.
//!
//! Usage: `skiff-runtime-bench [ITERATIONS]` as root. Prints medians and ratios as Markdown.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_images::ImageConfig;
use skiff_runtime::{
    ContainerConfig, PodSandboxConfig, RootfsSource, Runtime, RuntimeConfig, RuntimeService,
    StaticImages,
};

fn main() {
    if let Some(code) = skiff_runtime::helper::dispatch_from_args() {
        std::process::exit(code);
    }
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match rt {
        Ok(rt) => rt.block_on(bench(iterations)),
        Err(e) => Err(format!("tokio runtime: {e}")),
    };
    if let Err(e) = result {
        eprintln!("skiff-runtime-bench: {e}");
        std::process::exit(1);
    }
}

fn build_rootfs(dir: &Path) -> Result<(), String> {
    let e = |what: &str, err: std::io::Error| format!("{what}: {err}");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(dir.join(d)).map_err(|x| e("mkdir", x))?;
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).map_err(|x| e("copy busybox", x))?;
    for a in ["sh", "true", "echo", "sleep"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(a))
            .map_err(|x| e("symlink", x))?;
    }
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
        .map_err(|x| e("passwd", x))?;
    std::fs::write(dir.join("etc/group"), "root:x:0:\n").map_err(|x| e("group", x))
}

/// An OCI bundle from `runc spec`, running /bin/true, optionally joining namespaces of `join`.
fn write_bundle(dir: &Path, rootfs: &Path, join: Option<i32>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir bundle: {e}"))?;
    let out = Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .output()
        .map_err(|e| format!("runc spec: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "runc spec: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let p = dir.join("config.json");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("read config.json: {e}"))?;
    let mut cfg: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("parse config.json: {e}"))?;
    cfg["process"]["args"] = serde_json::json!(["/bin/true"]);
    cfg["process"]["terminal"] = serde_json::json!(false);
    cfg["root"] = serde_json::json!({"path": rootfs, "readonly": true});
    if let Some(pid) = join {
        cfg["linux"]["namespaces"] = serde_json::json!([
            {"type": "pid"},
            {"type": "mount"},
            {"type": "network", "path": format!("/proc/{pid}/ns/net")},
            {"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")},
            {"type": "uts", "path": format!("/proc/{pid}/ns/uts")},
        ]);
    }
    std::fs::write(&p, cfg.to_string()).map_err(|e| format!("write config.json: {e}"))
}

fn oci_run(tool: &str, bundle: &Path, id: &str) -> Result<Duration, String> {
    let t = Instant::now();
    let st = Command::new(tool)
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(id)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{tool} run: {e}"))?;
    let took = t.elapsed();
    if !st.success() {
        let _ = Command::new(tool).args(["delete", "-f", id]).status();
        return Err(format!("{tool} run {id} failed: {st}"));
    }
    let _ = Command::new(tool)
        .args(["delete", "-f", id])
        .stderr(std::process::Stdio::null())
        .status();
    Ok(took)
}

fn sandbox(i: usize) -> PodSandboxConfig {
    PodSandboxConfig {
        name: format!("bench-{i}"),
        namespace: "bench".into(),
        uid: format!("bench-{i}"),
        hostname: "bench".into(),
        ..Default::default()
    }
}

fn ctr() -> ContainerConfig {
    ContainerConfig {
        name: "true".into(),
        image: "bench".into(),
        command: vec!["/bin/true".into()],
        ..Default::default()
    }
}

async fn skiff_fresh(rt: &Runtime, i: usize) -> Result<Duration, String> {
    let t = Instant::now();
    let phases = std::env::var_os("SKIFF_BENCH_PHASES").is_some();
    let mut last = Instant::now();
    let mut mark = |what: &str| {
        if phases {
            eprint!("{what}={:.2} ", last.elapsed().as_secs_f64() * 1000.0);
            last = Instant::now();
        }
    };
    let cfg = sandbox(i);
    let sb = rt
        .run_pod_sandbox(cfg.clone())
        .await
        .map_err(|e| e.to_string())?;
    mark("sandbox");
    let id = rt
        .create_container(&sb, ctr(), &cfg)
        .await
        .map_err(|e| e.to_string())?;
    mark("create");
    rt.start_container(&id).await.map_err(|e| e.to_string())?;
    mark("start");
    let st = rt.wait_container(&id).await.map_err(|e| e.to_string())?;
    mark("wait");
    rt.remove_container(&id).await.map_err(|e| e.to_string())?;
    mark("rm-ctr");
    rt.remove_pod_sandbox(&sb)
        .await
        .map_err(|e| e.to_string())?;
    mark("rm-sb");
    if phases {
        eprintln!();
    }
    if st.exit_code != Some(0) {
        return Err(format!("skiff container exited with {:?}", st.exit_code));
    }
    Ok(t.elapsed())
}

async fn skiff_in_sandbox(
    rt: &Runtime,
    sb: &str,
    cfg: &PodSandboxConfig,
) -> Result<Duration, String> {
    let t = Instant::now();
    let id = rt
        .create_container(sb, ctr(), cfg)
        .await
        .map_err(|e| e.to_string())?;
    rt.start_container(&id).await.map_err(|e| e.to_string())?;
    let st = rt.wait_container(&id).await.map_err(|e| e.to_string())?;
    rt.remove_container(&id).await.map_err(|e| e.to_string())?;
    if st.exit_code != Some(0) {
        return Err(format!("skiff container exited with {:?}", st.exit_code));
    }
    Ok(t.elapsed())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

async fn bench(n: usize) -> Result<(), String> {
    // State under /run like crun's /run/crun (SKIFF_BENCH_DIR overrides).
    let base = std::env::var_os("SKIFF_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run"));
    let tmp = base.join(format!("skiff-runtime-bench-{}", std::process::id()));
    let rootfs = tmp.join("rootfs");
    build_rootfs(&rootfs)?;
    let mut cfg = RuntimeConfig::new(tmp.join("state"));
    cfg.cgroup_parent = format!("skiff-bench-{}", std::process::id());
    let images = StaticImages::new().with(
        "bench",
        RootfsSource {
            lower_dirs: vec![rootfs.clone()],
        },
        ImageConfig {
            env: vec!["PATH=/bin".into()],
            ..Default::default()
        },
    );
    let rt = Runtime::open(cfg.clone(), Arc::new(images)).map_err(|e| e.to_string())?;
    let held_cfg = sandbox(usize::MAX);
    let held = rt
        .run_pod_sandbox(held_cfg.clone())
        .await
        .map_err(|e| e.to_string())?;
    let held_pid = rt
        .pod_sandbox_status(&held)
        .await
        .map_err(|e| e.to_string())?
        .init_pid
        .unwrap_or(0);
    write_bundle(&tmp.join("fresh"), &rootfs, None)?;
    write_bundle(&tmp.join("joined"), &rootfs, Some(held_pid))?;

    let tools: Vec<&str> = ["crun", "runc"]
        .into_iter()
        .filter(|t| Command::new(t).arg("--version").output().is_ok())
        .collect();
    let mut fresh: Vec<(String, Vec<Duration>)> = vec![("skiff".into(), vec![])];
    let mut joined: Vec<(String, Vec<Duration>)> = vec![("skiff".into(), vec![])];
    for t in &tools {
        fresh.push((t.to_string(), vec![]));
        joined.push((t.to_string(), vec![]));
    }
    let res: Result<(), String> = async {
        for i in 0..n + 3 {
            let warm = i < 3;
            let d = skiff_fresh(&rt, i).await?;
            let j = skiff_in_sandbox(&rt, &held, &held_cfg).await?;
            if !warm {
                fresh[0].1.push(d);
                joined[0].1.push(j);
            }
            for (k, t) in tools.iter().enumerate() {
                let d = oci_run(t, &tmp.join("fresh"), &format!("skiff-bench-{t}-{i}"))?;
                let j = oci_run(t, &tmp.join("joined"), &format!("skiff-bench-{t}-j{i}"))?;
                if !warm {
                    fresh[k + 1].1.push(d);
                    joined[k + 1].1.push(j);
                }
            }
        }
        Ok(())
    }
    .await;
    let _ = rt.remove_pod_sandbox(&held).await;
    for c in ["memory", "cpu", "cpuacct", "pids"] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join(&cfg.cgroup_parent));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    res?;
    println!("Iterations: {n} (after 3 warm-up rounds), medians in ms.\n");
    for (title, rows) in [
        (
            "create + start + wait `/bin/true` in a fresh sandbox (new net/ipc/uts/pid/mount namespaces), then remove",
            &mut fresh,
        ),
        (
            "create + start + wait `/bin/true` in an existing sandbox (join net/ipc/uts; new pid/mount), then remove",
            &mut joined,
        ),
    ] {
        println!("### {title}\n\n| runtime | median (ms) | skiff speed-up |\n|---|---|---|");
        let ours = median(&mut rows[0].1);
        for (name, v) in rows.iter_mut() {
            let m = median(v);
            println!(
                "| {name} | {:.2} | {:.2}× |",
                m.as_secs_f64() * 1000.0,
                m.as_secs_f64() / ours.as_secs_f64().max(1e-9)
            );
        }
        println!();
    }
    Ok(())
}
