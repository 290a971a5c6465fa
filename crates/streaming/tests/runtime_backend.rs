//! kubectl 1.27 and 1.33 against a real container: `RuntimeBackend` over Skiff's runtime
//! (busybox rootfs), behind the kubelet API and the API server. Needs root.
//!
//! No libtest harness: this binary is also the runtime's re-executed helper.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_images::ImageConfig;
use skiff_runtime::{
    ContainerConfig, ContainerState, PodSandboxConfig, RootfsSource, Runtime, RuntimeConfig,
    RuntimeService, StaticImages,
};
use skiff_streaming::{RuntimeBackend, SandboxResolver};
use skiff_testkit::{Kubectl, free_port};

use support::{Background, Cluster};

const IMAGE: &str = "test/busybox:latest";

fn busybox_rootfs(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let root = dir.join("busybox");
    for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))?;
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()?;
    for name in String::from_utf8_lossy(&list.stdout).lines() {
        if name != "busybox" {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(name))?;
        }
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    std::fs::write(root.join("etc/group"), "root:x:0:\n")?;
    Ok(root)
}

fn main() {
    if let Some(code) = skiff_runtime::helper::dispatch_from_args() {
        std::process::exit(code);
    }
    // Answer test runners' listing (`--list --format terse`) as libtest does.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("kubectl_against_a_real_container: test");
        }
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        println!("runtime_backend: skipped (needs root)");
        return;
    }
    match run() {
        Ok(()) => println!("test kubectl_against_a_real_container ... ok"),
        Err(e) => {
            eprintln!("test kubectl_against_a_real_container ... FAILED: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let rootfs = busybox_rootfs(tmp.path())?;
    let images = Arc::new(StaticImages::new().with(
        IMAGE,
        RootfsSource {
            lower_dirs: vec![rootfs],
        },
        ImageConfig {
            env: vec!["PATH=/bin".into()],
            cmd: vec!["sh".into()],
            ..Default::default()
        },
    ));
    let mut cfg = RuntimeConfig::new(tmp.path().join("root"));
    cfg.helper_exe = std::env::current_exe()?;
    let cgroup_parent = format!("skiff-test-streaming-{}", std::process::id());
    cfg.cgroup_parent = cgroup_parent.clone();
    let tokio_rt = tokio::runtime::Runtime::new()?;
    let runtime: Arc<dyn RuntimeService> =
        Arc::new(Runtime::open(cfg, images).context("opening the runtime")?);
    let sandbox_config = PodSandboxConfig {
        name: "p".into(),
        namespace: "default".into(),
        uid: "uid-p".into(),
        hostname: "p".into(),
        log_directory: Some(tmp.path().join("logs")),
        ..Default::default()
    };
    let sandbox = tokio_rt.block_on(runtime.run_pod_sandbox(sandbox_config.clone()))?;
    let result = with_sandbox(&tokio_rt, &runtime, &sandbox, &sandbox_config);
    let _ = tokio_rt.block_on(runtime.stop_pod_sandbox(&sandbox));
    let _ = tokio_rt.block_on(runtime.remove_pod_sandbox(&sandbox));
    // The per-test cgroup parent, in every hierarchy it was made in.
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            let _ = std::fs::remove_dir(e.path().join(&cgroup_parent));
        }
    }
    let _ = std::fs::remove_dir(std::path::Path::new("/sys/fs/cgroup").join(&cgroup_parent));
    result
}

fn with_sandbox(
    tokio_rt: &tokio::runtime::Runtime,
    runtime: &Arc<dyn RuntimeService>,
    sandbox: &str,
    sandbox_config: &PodSandboxConfig,
) -> anyhow::Result<()> {
    let container = ContainerConfig {
        name: "app".into(),
        image: IMAGE.into(),
        command: vec![
            "sh".into(),
            "-c".into(),
            "echo started; echo to-stderr >&2; nc -ll -p 8080 -e cat & exec sleep 1000".into(),
        ],
        log_path: "app/0.log".into(),
        ..Default::default()
    };
    let id = tokio_rt.block_on(runtime.create_container(sandbox, container, sandbox_config))?;
    tokio_rt.block_on(runtime.start_container(&id))?;
    let st = tokio_rt.block_on(runtime.container_status(&id))?;
    if st.state != ContainerState::Running {
        bail!("container is {:?}", st.state);
    }

    let sb = sandbox.to_string();
    let resolve: SandboxResolver =
        Arc::new(move |ns, pod| (ns == "default" && pod == "p").then(|| sb.clone()));
    let backend = Arc::new(RuntimeBackend::new(runtime.clone(), resolve));
    let cluster = Cluster::start(backend)?;
    // Let the container write its first lines and start listening.
    std::thread::sleep(Duration::from_millis(500));
    for v in skiff_testkit::kubectl::VERSIONS {
        let k = Kubectl::new(v, &cluster.server.kubeconfig());
        check(&k).with_context(|| format!("kubectl {v}"))?;
    }
    Ok(())
}

fn check(k: &Kubectl) -> anyhow::Result<()> {
    let logs = k.ok(&["logs", "p"]);
    if logs != "started\nto-stderr\n" {
        bail!("logs: {logs:?}");
    }
    let out = k.run(&["exec", "p", "--", "sh", "-c", "hostname; exit 7"]);
    if String::from_utf8_lossy(&out.stdout) != "p\n" || out.status.code() != Some(7) {
        bail!(
            "exec: {:?} {:?} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let echoed = k.ok_stdin(&["exec", "-i", "p", "--", "cat"], Some("in the box\n"));
    if echoed != "in the box\n" {
        bail!("exec -i: {echoed:?}");
    }
    // A terminal: kubectl runs under script(1) so that its stdin is a tty of a known size.
    let cmd = format!(
        "stty rows 33 cols 111; {} exec -it p -- sh -c 'tty; sleep 1; echo rows-cols $(stty size); exit 4'",
        k.bin.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("KUBECONFIG", &k.kubeconfig)
        .stdin(std::process::Stdio::null())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The terminal size reaches the container through the resize channel/stream (kubectl
    // sends it once connected, so the command waits a moment before asking).
    if !text.contains("/dev/pts/")
        || !text.contains("rows-cols 33 111")
        || out.status.code() != Some(4)
    {
        bail!(
            "exec -it: {:?} {text:?} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Port-forward into the pod's network namespace.
    let local = free_port()?;
    let mapping = format!("{local}:8080");
    let pf = Background::start(k, &["port-forward", "pod/p", &mapping])?;
    pf.expect("Forwarding from")?;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", local))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(b"through the netns\n")?;
    let mut got = vec![0u8; 18];
    s.read_exact(&mut got)?;
    if got != b"through the netns\n" {
        bail!("port-forward echoed {:?}", String::from_utf8_lossy(&got));
    }
    Ok(())
}
