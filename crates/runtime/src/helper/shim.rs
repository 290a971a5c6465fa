//! Per-container shim: starts the container, copies its output to the CRI log, records its exit.

use std::os::fd::RawFd;
use std::path::Path;

use std::os::fd::IntoRawFd;

use nix::sched::CloneFlags;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg, socketpair,
};
use nix::unistd::ForkResult;

use super::{ExitRecord, ShimSpec, container_init};
use crate::error::{Error, IoContext, Result};
use crate::log::{LogWriter, Stream};
use crate::state::write_json_atomic;
use crate::sys;

/// `__runtime shim <container dir>`: prints `ok <container pid>` or `err <message>` on stdout.
pub fn main(arg: &str) -> i32 {
    let spec = match load(Path::new(arg)) {
        Ok(s) => s,
        Err(e) => {
            println!("err {e}");
            return 1;
        }
    };
    // The shim is the helper process itself (no extra fork): it starts its own session so
    // it outlives the runtime, which only reaps it if it is still around when it exits.
    match shim(&spec) {
        Ok(()) => 0,
        Err(e) => {
            println!("err {e}");
            1
        }
    }
}

fn load(dir: &Path) -> Result<ShimSpec> {
    let p = dir.join("shim.json");
    let text = std::fs::read(&p).ctx("read", &p)?;
    serde_json::from_slice(&text).map_err(|e| Error::Json { path: p, source: e })
}

struct Fds {
    /// Child side: stdin, stdout, stderr.
    child: [RawFd; 3],
    /// Shim side: stdout reader, stderr reader (same fd for a tty), stdin writer.
    out: RawFd,
    err: Option<RawFd>,
    stdin_w: Option<RawFd>,
    /// TTY containers: (shim end, container end) of the socket the pty master comes over.
    pty_sock: Option<(RawFd, RawFd)>,
}

fn make_fds(spec: &ShimSpec) -> Result<Fds> {
    if spec.process.tty {
        // The container allocates its pty from its own devpts (so `tty` names it) and sends
        // us the master over this socket.
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| Error::nix("socketpair for the container pty", e))?;
        // SAFETY: opening /dev/null as placeholder stdio until the pty exists.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if null < 0 {
            return Err(Error::last_sys("open /dev/null"));
        }
        return Ok(Fds {
            child: [null, null, null],
            out: -1,
            err: None,
            stdin_w: None,
            pty_sock: Some((ours.into_raw_fd(), theirs.into_raw_fd())),
        });
    }
    let (out_r, out_w) = sys::pipe_cloexec()?;
    let (err_r, err_w) = sys::pipe_cloexec()?;
    let (stdin_r, stdin_w) = if spec.stdin_fifo.is_some() {
        let (r, w) = sys::pipe_cloexec()?;
        (r, Some(w))
    } else {
        // SAFETY: opening /dev/null.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if null < 0 {
            return Err(Error::last_sys("open /dev/null"));
        }
        (null, None)
    };
    Ok(Fds {
        child: [stdin_r, out_w, err_w],
        out: out_r,
        err: Some(err_r),
        stdin_w,
        pty_sock: None,
    })
}

/// Receive one fd sent with SCM_RIGHTS; None when the sender went away first.
fn recv_fd(sock: RawFd) -> Option<RawFd> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC).ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            return fds.first().copied();
        }
    }
    None
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: building and applying a signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn join_sandbox(spec: &ShimSpec) -> Result<()> {
    let ns = |name: &str| std::path::PathBuf::from(format!("/proc/{}/ns/{name}", spec.sandbox_pid));
    sys::setns_path(&ns("ipc"), CloneFlags::CLONE_NEWIPC)?;
    sys::setns_path(&ns("uts"), CloneFlags::CLONE_NEWUTS)?;
    sys::setns_path(&ns("net"), CloneFlags::CLONE_NEWNET)?;
    if spec.share_pid {
        sys::setns_path(&ns("pid"), CloneFlags::CLONE_NEWPID)
    } else {
        nix::sched::unshare(CloneFlags::CLONE_NEWPID)
            .map_err(|e| Error::nix("unshare(CLONE_NEWPID)", e))
    }
}

enum Spawned {
    /// In the child; `placed` = already in the container's cgroup.
    Child {
        placed: bool,
    },
    Parent(i32),
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Fork the container process, straight into its cgroup when given one (v2), which spares
/// the migration (and its RCU grace period) a later `cgroup.procs` write would cost.
fn spawn_child(cgroup: Option<&Path>) -> Result<Spawned> {
    if let Some(dir) = cgroup
        && let Ok(f) = std::fs::File::open(dir)
    {
        use std::os::fd::AsRawFd;
        let mut args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: f.as_raw_fd() as u64,
            ..Default::default()
        };
        // SAFETY: clone3 without CLONE_VM behaves like fork; this process is single-threaded.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &mut args as *mut CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match r {
            0 => return Ok(Spawned::Child { placed: true }),
            pid if pid > 0 => return Ok(Spawned::Parent(pid as i32)),
            // Old kernel or not a v2 cgroup: fall back to fork + writing the pid.
            _ => {}
        }
    }
    // SAFETY: the shim is single-threaded.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::nix("fork container", e))? {
        ForkResult::Child => Ok(Spawned::Child { placed: false }),
        ForkResult::Parent { child } => Ok(Spawned::Parent(child.as_raw())),
    }
}

fn shim(spec: &ShimSpec) -> Result<()> {
    nix::unistd::setsid().map_err(|e| Error::nix("setsid", e))?;
    let mut log = LogWriter::open(&spec.log_path, spec.rotation).ctx("open log", &spec.log_path)?;
    let mut fds = make_fds(spec)?;
    let fifo = match &spec.stdin_fifo {
        Some(p) => Some(open_fifo(p)?),
        None => None,
    };
    join_sandbox(spec)?;
    let (err_r, err_w) = sys::pipe_cloexec()?;
    let sigset = block_signals();
    // SAFETY: the shim is single-threaded.
    let child = match spawn_child(spec.clone_into_cgroup.as_deref())? {
        Spawned::Child { placed } => {
            container_init::run(spec, fds.child, err_w, placed, fds.pty_sock.map(|(_, c)| c))
        }
        Spawned::Parent(pid) => pid,
    };
    sys::close(err_w);
    let mut closed = std::collections::BTreeSet::new();
    for fd in fds.child {
        if closed.insert(fd) {
            sys::close(fd);
        }
    }
    if let Some((ours, theirs)) = fds.pty_sock.take() {
        sys::close(theirs);
        if let Some(master) = recv_fd(ours) {
            fds.out = master;
            fds.stdin_w = Some(master);
        }
        sys::close(ours);
    }
    let failure = sys::read_to_end(err_r);
    sys::close(err_r);
    if !failure.is_empty() {
        let _ = sys::wait_exit_code(child);
        println!("err {}", String::from_utf8_lossy(&failure).trim());
        return Ok(());
    }
    println!("ok {child} {}", std::process::id());
    detach_stdio();
    let exit = supervise(child, &fds, fifo, &mut log, sigset);
    let rec = ExitRecord {
        exit_code: exit.0,
        signal: exit.1,
        finished_at: chrono::Utc::now(),
    };
    write_json_atomic(&spec.exit_file, &rec)?;
    if let Some(w) = fds.stdin_w.filter(|w| *w != fds.out) {
        sys::close(w);
    }
    Ok(())
}

fn detach_stdio() {
    // SAFETY: replacing our own stdio with /dev/null.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
}

/// Copy output to the log until the container exits; returns (exit code, signal).
fn open_fifo(p: &Path) -> Result<RawFd> {
    let _ = std::fs::remove_file(p);
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| Error::nix(format!("mkfifo {}", p.display()), e))?;
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::InvalidArgument(format!("{} contains NUL", p.display())))?;
    // SAFETY: opening a FIFO we just made; O_RDWR so it never reports end of file.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::last_sys(format!("open {}", p.display())));
    }
    Ok(fd)
}

fn supervise(
    child: i32,
    fds: &Fds,
    fifo: Option<RawFd>,
    log: &mut LogWriter,
    sigset: libc::sigset_t,
) -> (i32, Option<i32>) {
    // SAFETY: creating a signalfd for the signals blocked above.
    let sfd = unsafe { libc::signalfd(-1, &sigset, libc::SFD_CLOEXEC) };
    let mut streams: Vec<(RawFd, Stream)> = vec![(fds.out, Stream::Stdout)];
    if let Some(e) = fds.err {
        streams.push((e, Stream::Stderr));
    }
    let mut status: Option<(i32, Option<i32>)> = None;
    let mut buf = vec![0u8; 32 * 1024];
    let mut drain_deadline: Option<std::time::Instant> = None;
    loop {
        if streams.is_empty() && status.is_some() {
            break;
        }
        if let Some(d) = drain_deadline
            && std::time::Instant::now() > d
        {
            break;
        }
        let mut pfds: Vec<libc::pollfd> = streams
            .iter()
            .map(|(fd, _)| libc::pollfd {
                fd: *fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let fifo_idx = pfds.len();
        if let (Some(f), None) = (fifo, status) {
            pfds.push(libc::pollfd {
                fd: f,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if status.is_none() && sfd >= 0 {
            pfds.push(libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let timeout = if status.is_some() {
            50
        } else if sfd < 0 {
            100
        } else {
            -1
        };
        // SAFETY: pfds is a valid array.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            continue;
        }
        let mut gone = Vec::new();
        for (i, (fd, stream)) in streams.iter().enumerate() {
            if pfds[i].revents == 0 {
                continue;
            }
            match sys::read(*fd, &mut buf) {
                Ok(0) | Err(_) => gone.push(i),
                Ok(n) => {
                    let _ = log.write(*stream, &buf[..n]);
                }
            }
        }
        for i in gone.into_iter().rev() {
            let (fd, stream) = streams.remove(i);
            let _ = log.finish(stream);
            if Some(fd) != fds.stdin_w {
                sys::close(fd);
            }
        }
        if let (Some(f), Some(w)) = (fifo, fds.stdin_w)
            && status.is_none()
            && pfds[fifo_idx].revents != 0
            && let Ok(n) = sys::read(f, &mut buf)
            && n > 0
        {
            let _ = sys::write_all(w, &buf[..n]);
        }
        if status.is_none() {
            if sfd >= 0 && pfds.last().is_some_and(|p| p.revents != 0) {
                let mut info = [0u8; 128];
                if let Ok(128) = sys::read(sfd, &mut info) {
                    let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as i32;
                    if signo == libc::SIGUSR1 {
                        let _ = log.reopen();
                    }
                }
            }
            let mut st = 0;
            // SAFETY: non-blocking wait for our child.
            if unsafe { libc::waitpid(child, &mut st, libc::WNOHANG) } == child {
                status = Some(sys::decode_status(st));
                drain_deadline =
                    Some(std::time::Instant::now() + std::time::Duration::from_millis(500));
            }
        }
    }
    for (_, stream) in &streams {
        let _ = log.finish(*stream);
    }
    status.unwrap_or((255, None))
}
