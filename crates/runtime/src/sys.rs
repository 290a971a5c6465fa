//! Thin syscall wrappers that name the syscall and path in their errors.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{Error, Result};

/// mount(2) with an error naming the file system type and target.
pub fn mount(
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    nix::mount::mount(src, target, fstype, flags, data).map_err(|e| {
        Error::nix(
            format!(
                "mount {} ({}) on {} flags {:?}",
                src.unwrap_or("none"),
                fstype.unwrap_or("bind/remount"),
                target.display(),
                flags
            ),
            e,
        )
    })
}

/// Bind `src` onto `target`, read-only when asked.
pub fn bind(src: &Path, target: &Path, readonly: bool) -> Result<()> {
    nix::mount::mount(
        Some(src),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        Error::nix(
            format!("bind mount {} on {}", src.display(), target.display()),
            e,
        )
    })?;
    if readonly {
        remount_ro(target)?;
    }
    Ok(())
}

/// Remount an existing mount point read-only.
pub fn remount_ro(target: &Path) -> Result<()> {
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(|e| Error::nix(format!("remount {} read-only", target.display()), e))
}

/// setns(2) into the namespace file `path`.
pub fn setns_path(path: &Path, kind: nix::sched::CloneFlags) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("open namespace", path, e))?;
    nix::sched::setns(&f, kind).map_err(|e| Error::nix(format!("setns {}", path.display()), e))
}

/// dup2(2).
pub fn dup2(old: RawFd, new: RawFd) -> Result<()> {
    // SAFETY: plain fd syscall.
    if unsafe { libc::dup2(old, new) } < 0 {
        return Err(Error::last_sys(format!("dup2({old}, {new})")));
    }
    Ok(())
}

/// A pipe whose ends are close-on-exec.
pub fn pipe_cloexec() -> Result<(RawFd, RawFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::last_sys("pipe2"));
    }
    Ok((fds[0], fds[1]))
}

/// close(2), ignoring errors.
pub fn close(fd: RawFd) {
    // SAFETY: closing an fd this process owns.
    unsafe { libc::close(fd) };
}

/// Write all of `data` to `fd`.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        // SAFETY: data is a valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// Read from `fd` into `buf`, retrying on EINTR; 0 = end of file.
pub fn read(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        // SAFETY: buf is a valid writable buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Read `fd` until end of file.
pub fn read_to_end(fd: RawFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Reset every signal's disposition to default and unblock all signals (before exec).
pub fn reset_signals() {
    // SAFETY: resetting dispositions and the mask of the calling (single-threaded) process.
    unsafe {
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Wait for `pid` and turn its status into a shell-style exit code (128+signal when killed).
pub fn wait_exit_code(pid: i32) -> Result<(i32, Option<i32>)> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::last_sys(format!("waitpid({pid})")));
        }
    }
    Ok(decode_status(status))
}

/// (exit code, terminating signal) from a wait status.
pub fn decode_status(status: i32) -> (i32, Option<i32>) {
    if libc::WIFEXITED(status) {
        (libc::WEXITSTATUS(status), None)
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        (128 + sig, Some(sig))
    } else {
        (255, None)
    }
}

/// Process start time (field 22 of /proc/<pid>/stat), to recognise a PID after a restart.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// Whether `pid` is alive, is not a zombie, and started at `start` (when known).
pub fn proc_alive(pid: i32, start: Option<u64>) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 2..].split(' ');
    if fields.next() == Some("Z") {
        return false;
    }
    match start {
        Some(s) => proc_start_time(pid) == Some(s),
        None => true,
    }
}

/// Execve `path` with `args` and `env`; returns only on failure.
pub fn execve(path: &str, args: &[String], env: &[String]) -> Error {
    let cstr = |s: &str| {
        CString::new(s.as_bytes())
            .map_err(|_| Error::InvalidArgument(format!("{s:?} contains a NUL byte")))
    };
    let prog = match cstr(path) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let argv: Result<Vec<CString>> = args.iter().map(|a| cstr(a)).collect();
    let envp: Result<Vec<CString>> = env.iter().map(|a| cstr(a)).collect();
    let (argv, envp) = match (argv, envp) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match nix::unistd::execve(&prog, &argv, &envp) {
        Err(e) => Error::nix(format!("exec {path:?}"), e),
    }
}

/// Bring the loopback interface up in the current network namespace.
pub fn loopback_up() -> Result<()> {
    // SAFETY: ioctl on a fresh socket with a zeroed, NUL-terminated ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(Error::last_sys("socket(AF_INET) for loopback"));
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) < 0 {
            let e = Error::last_sys("ioctl(SIOCGIFFLAGS, lo)");
            libc::close(fd);
            return Err(e);
        }
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) < 0 {
            let e = Error::last_sys("ioctl(SIOCSIFFLAGS, lo up)");
            libc::close(fd);
            return Err(e);
        }
        libc::close(fd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_with_its_start_time() {
        let me = std::process::id() as i32;
        let start = proc_start_time(me);
        assert!(start.is_some());
        assert!(proc_alive(me, start));
        assert!(!proc_alive(me, start.map(|s| s + 1)));
        assert!(!proc_alive(i32::MAX, None));
    }

    #[test]
    fn decode_status_reports_signals_as_128_plus() {
        assert_eq!(decode_status(3 << 8), (3, None));
        assert_eq!(decode_status(libc::SIGKILL), (137, Some(9)));
    }
}
