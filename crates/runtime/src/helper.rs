//! Entry point of the re-executed runtime helper (container set-up, shims, sandbox init).
//!
//! The runtime never forks or enters namespaces from its own (multi-threaded) process: it
//! runs `<helper exe> __runtime <verb> <arg>` instead, where the helper exe is the `skiff`
//! binary (or a test binary) whose `main` calls [`dispatch_from_args`] first.

pub(crate) mod container_init;
pub(crate) mod exec;
pub(crate) mod sandbox_init;
pub(crate) mod shim;
pub(crate) mod zygote;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::log::Rotation;
use crate::spec::ProcessSpec;
use crate::types::Mount;

/// argv[1] that marks a helper invocation.
pub const MARKER: &str = "__runtime";

/// What the sandbox init needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxInitSpec {
    pub hostname: String,
    pub host_network: bool,
    /// Containers share the init's PID namespace (the init is its PID 1 and reaps orphans).
    pub share_pid: bool,
}

/// What the shim needs to set up, run and supervise one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimSpec {
    pub id: String,
    /// PID of the sandbox init whose net/ipc/uts (and pid when shared) namespaces to join.
    pub sandbox_pid: i32,
    pub share_pid: bool,
    pub cgroup_procs: Vec<PathBuf>,
    /// cgroup v2 directory to start the container in with `clone3(CLONE_INTO_CGROUP)`.
    #[serde(default)]
    pub clone_into_cgroup: Option<PathBuf>,
    /// Image layers, lowest first.
    pub lower_dirs: Vec<PathBuf>,
    pub upper_dir: PathBuf,
    pub work_dir: PathBuf,
    pub rootfs: PathBuf,
    /// Files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf.
    pub etc_files: Vec<(PathBuf, String)>,
    pub mounts: Vec<Mount>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub process: ProcessSpec,
    pub log_path: PathBuf,
    pub rotation: Rotation,
    pub exit_file: PathBuf,
    /// FIFO whose input is copied to the container's stdin (when it has one).
    pub stdin_fifo: Option<PathBuf>,
}

/// What an exec session needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecSpec {
    pub pid: i32,
    pub cgroup_procs: Vec<PathBuf>,
    pub process: ProcessSpec,
}

/// Exit status recorded by the shim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

/// When this process was re-executed as a runtime helper, run it and return its exit code.
/// Must be called first thing in `main`, before any thread is started.
pub fn dispatch_from_args() -> Option<i32> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(MARKER) {
        return None;
    }
    let verb = args.get(2).map(String::as_str).unwrap_or("");
    let arg = args.get(3).map(String::as_str).unwrap_or("");
    Some(match verb {
        "sandbox-init" => sandbox_init::main(arg),
        "shim" => shim::main(arg),
        "exec" => exec::main(arg),
        "zygote" => zygote::main(),
        other => {
            eprintln!("skiff runtime helper: unknown verb {other:?}");
            2
        }
    })
}
