//! The pod sandbox init: holds the pod's namespaces and reaps zombies.

use nix::sched::CloneFlags;
use nix::unistd::ForkResult;

use super::SandboxInitSpec;
use crate::error::{Error, Result};
use crate::sys;

/// `__runtime sandbox-init <json>`: prints `ok <pid>` or `err <message>` on stdout.
pub fn main(arg: &str) -> i32 {
    match setup(arg) {
        Ok(()) => 0,
        Err(e) => {
            println!("err {e}");
            1
        }
    }
}

fn setup(arg: &str) -> Result<()> {
    let spec: SandboxInitSpec = serde_json::from_str(arg)
        .map_err(|e| Error::InvalidArgument(format!("sandbox spec: {e}")))?;
    let mut flags = CloneFlags::CLONE_NEWIPC;
    if !spec.host_network {
        flags |= CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS;
    }
    nix::sched::unshare(flags).map_err(|e| Error::nix(format!("unshare({flags:?})"), e))?;
    if !spec.host_network {
        if !spec.hostname.is_empty() {
            nix::unistd::sethostname(&spec.hostname)
                .map_err(|e| Error::nix(format!("sethostname({:?})", spec.hostname), e))?;
        }
        sys::loopback_up()?;
    }
    nix::sched::unshare(CloneFlags::CLONE_NEWPID)
        .map_err(|e| Error::nix("unshare(CLONE_NEWPID)", e))?;
    // SAFETY: the helper is single-threaded.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::nix("fork sandbox init", e))? {
        ForkResult::Parent { child } => {
            println!("ok {child}");
            Ok(())
        }
        ForkResult::Child => reap_forever(),
    }
}

fn reap_forever() -> ! {
    // SAFETY: single-threaded child; only fd and signal syscalls.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
        libc::chdir(c"/".as_ptr());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            let mut sig = 0;
            libc::sigwait(&set, &mut sig);
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        }
    }
}
