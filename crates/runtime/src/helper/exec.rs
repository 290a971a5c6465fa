//! Exec session: enter a running container's namespaces and cgroup, run a process, relay its exit code.

use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::unistd::ForkResult;

use super::ExecSpec;
use super::container_init::exec_process;
use crate::error::{Error, IoContext, Result};
use crate::sys;

/// Exit code used when the session could not be set up (the message goes to stderr).
pub const SETUP_FAILED: i32 = 126;

/// `__runtime exec <json>`: exits with the process's exit code.
pub fn main(arg: &str) -> i32 {
    match run(arg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("skiff exec: {e}");
            SETUP_FAILED
        }
    }
}

fn run(arg: &str) -> Result<i32> {
    let spec: ExecSpec =
        serde_json::from_str(arg).map_err(|e| Error::InvalidArgument(format!("exec spec: {e}")))?;
    let proc_dir = PathBuf::from(format!("/proc/{}", spec.pid));
    let open = |name: &str| {
        let p = proc_dir.join(name);
        std::fs::File::open(&p).ctx("open", p)
    };
    let namespaces = [
        (open("ns/ipc")?, CloneFlags::CLONE_NEWIPC, "ipc"),
        (open("ns/uts")?, CloneFlags::CLONE_NEWUTS, "uts"),
        (open("ns/net")?, CloneFlags::CLONE_NEWNET, "net"),
        (open("ns/pid")?, CloneFlags::CLONE_NEWPID, "pid"),
        (open("ns/mnt")?, CloneFlags::CLONE_NEWNS, "mnt"),
    ];
    let root = open("root")?;
    for f in &spec.cgroup_procs {
        std::fs::write(f, "0").ctx("join cgroup", f)?;
    }
    for (f, kind, name) in &namespaces {
        nix::sched::setns(f, *kind)
            .map_err(|e| Error::nix(format!("setns {name} of pid {}", spec.pid), e))?;
    }
    nix::unistd::fchdir(&root).map_err(|e| Error::nix("fchdir container root", e))?;
    nix::unistd::chroot(".").map_err(|e| Error::nix("chroot container root", e))?;
    // SAFETY: the helper is single-threaded.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::nix("fork exec process", e))? {
        ForkResult::Parent { child } => Ok(sys::wait_exit_code(child.as_raw())?.0),
        ForkResult::Child => {
            if spec.process.tty {
                // SAFETY: new session with the inherited pty as controlling terminal.
                unsafe {
                    libc::setsid();
                    libc::ioctl(0, libc::TIOCSCTTY, 0);
                }
            }
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            let e = exec_process(&spec.process, "/");
            eprintln!("skiff exec: {e}");
            let code = if e.to_string().contains("not found") {
                127
            } else {
                SETUP_FAILED
            };
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(code) }
        }
    }
}
