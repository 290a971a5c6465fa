//! Exec session: enter a running container's namespaces and cgroup, run a process, relay its exit code.

use std::os::fd::RawFd;
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
    let pty = if spec.process.tty {
        Some(container_pty()?)
    } else {
        None
    };
    // SAFETY: the helper is single-threaded.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::nix("fork exec process", e))? {
        ForkResult::Parent { child } => match pty {
            Some((master, slave)) => {
                sys::close(slave);
                Ok(relay(child.as_raw(), master))
            }
            None => Ok(sys::wait_exit_code(child.as_raw())?.0),
        },
        ForkResult::Child => {
            if let Some((master, slave)) = pty {
                // SAFETY: new session with the container-side pty as controlling terminal.
                unsafe {
                    libc::close(master);
                    libc::setsid();
                    libc::ioctl(slave, libc::TIOCSCTTY, 0);
                    for fd in 0..3 {
                        libc::dup2(slave, fd);
                    }
                    if slave > 2 {
                        libc::close(slave);
                    }
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

/// Allocate a pty from the container's own devpts (so `tty` names it inside the container).
fn container_pty() -> Result<(RawFd, RawFd)> {
    // SAFETY: opening the container's ptmx and its peer; plain fd syscalls.
    unsafe {
        let master = libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if master < 0 {
            return Err(Error::last_sys("open /dev/ptmx in container"));
        }
        if libc::unlockpt(master) != 0 {
            return Err(Error::last_sys("unlockpt"));
        }
        let slave = libc::ioctl(master, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY);
        if slave < 0 {
            return Err(Error::last_sys("ioctl(TIOCGPTPEER)"));
        }
        // Our own stdin is the caller's pty: raw, so only the container side does line discipline.
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
        }
        Ok((master, slave))
    }
}

fn copy_winsize(from: RawFd, to: RawFd, last: &mut (u16, u16)) {
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ on terminals we hold.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 && (ws.ws_row, ws.ws_col) != *last {
            *last = (ws.ws_row, ws.ws_col);
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Copy our stdin to the pty master and the master to our stdout until the child exits.
fn relay(child: i32, master: RawFd) -> i32 {
    let mut buf = [0u8; 16 * 1024];
    let mut stdin_open = true;
    let mut code: Option<i32> = None;
    let mut size = (0, 0);
    loop {
        copy_winsize(0, master, &mut size);
        let mut fds = vec![libc::pollfd {
            fd: master,
            events: libc::POLLIN,
            revents: 0,
        }];
        if stdin_open && code.is_none() {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: fds is a valid array.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                if code.is_some() { 20 } else { 100 },
            )
        };
        if n == 0 && code.is_some() {
            break;
        }
        if fds[0].revents != 0 {
            match sys::read(master, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = sys::write_all(1, &buf[..n]);
                }
                _ => {
                    if code.is_some() {
                        break;
                    }
                }
            }
        }
        if fds.len() > 1 && fds[1].revents != 0 {
            match sys::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = sys::write_all(master, &buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
        if code.is_none() {
            let mut st = 0;
            // SAFETY: non-blocking wait for our child.
            if unsafe { libc::waitpid(child, &mut st, libc::WNOHANG) } == child {
                code = Some(sys::decode_status(st).0);
            }
        }
    }
    code.unwrap_or(255)
}
