//! Inside the new container process: cgroup, mounts, pivot_root, credentials, exec.

use std::os::fd::RawFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

use super::ShimSpec;
use crate::caps;
use crate::error::{Error, IoContext, Result};
use crate::spec::{ProcessSpec, lookup_path};
use crate::sys;

/// Paths hidden from containers (as runc does).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths made read-only in containers.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Set up and exec the container; on failure write the error to `err_fd` and exit.
pub fn run(
    spec: &ShimSpec,
    stdio: [RawFd; 3],
    err_fd: RawFd,
    in_cgroup: bool,
    pty_sock: Option<RawFd>,
) -> ! {
    let e = match setup(spec, stdio, in_cgroup, pty_sock) {
        Ok(()) => exec_process(&spec.process, "/"),
        Err(e) => e,
    };
    let _ = sys::write_all(err_fd, e.to_string().as_bytes());
    // SAFETY: leaving the forked child.
    unsafe { libc::_exit(127) }
}

fn setup(
    spec: &ShimSpec,
    stdio: [RawFd; 3],
    in_cgroup: bool,
    pty_sock: Option<RawFd>,
) -> Result<()> {
    for (i, fd) in stdio.iter().enumerate() {
        sys::dup2(*fd, i as RawFd)?;
    }
    for f in spec.cgroup_procs.iter().filter(|_| !in_cgroup) {
        std::fs::write(f, "0").ctx("join cgroup", f)?;
    }
    nix::sched::unshare(CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::nix("unshare(CLONE_NEWNS)", e))?;
    sys::mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )?;
    // SAFETY: umask of this single-threaded process.
    unsafe { libc::umask(0) };
    mount_rootfs(spec)?;
    pivot(&spec.rootfs)?;
    if !spec.privileged {
        mask_paths()?;
    }
    if let Some(sock) = pty_sock {
        container_pty(sock)?;
    }
    if spec.readonly_rootfs {
        sys::remount_ro(Path::new("/"))?;
    }
    // SAFETY: umask of this single-threaded process.
    unsafe { libc::umask(0o022) };
    Ok(())
}

/// Allocate the container's terminal from its devpts, make it the controlling terminal and
/// stdio, and send the master to the shim.
fn container_pty(sock: RawFd) -> Result<()> {
    // SAFETY: plain fd syscalls on descriptors this process owns.
    unsafe {
        let master = libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if master < 0 {
            return Err(Error::last_sys("open /dev/ptmx"));
        }
        if libc::unlockpt(master) != 0 {
            return Err(Error::last_sys("unlockpt"));
        }
        let slave = libc::ioctl(master, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY);
        if slave < 0 {
            return Err(Error::last_sys("ioctl(TIOCGPTPEER)"));
        }
        if libc::setsid() < 0 {
            return Err(Error::last_sys("setsid"));
        }
        if libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
            return Err(Error::last_sys("ioctl(TIOCSCTTY)"));
        }
        for fd in 0..3 {
            sys::dup2(slave, fd)?;
        }
        libc::close(slave);
        let fds = [master];
        let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
        nix::sys::socket::sendmsg::<()>(
            sock,
            &[std::io::IoSlice::new(b"p")],
            &cmsg,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .map_err(|e| Error::nix("send pty master to the shim", e))?;
        libc::close(master);
        libc::close(sock);
    }
    Ok(())
}

fn overlay_opts(spec: &ShimSpec) -> Result<String> {
    let check = |p: &Path| -> Result<String> {
        let s = p.to_string_lossy().to_string();
        if s.contains(',') || s.contains(':') {
            return Err(Error::InvalidArgument(format!(
                "overlay path {s:?} contains ',' or ':'"
            )));
        }
        Ok(s)
    };
    if spec.lower_dirs.is_empty() {
        return Err(Error::InvalidArgument("image has no layers".into()));
    }
    let lowers: Result<Vec<String>> = spec.lower_dirs.iter().rev().map(|p| check(p)).collect();
    Ok(format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers?.join(":"),
        check(&spec.upper_dir)?,
        check(&spec.work_dir)?
    ))
}

fn mkdir_in(root: &Path, rel: &str, mode: u32) -> Result<PathBuf> {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(&p)
        .ctx("mkdir", &p)?;
    Ok(p)
}

fn mount_rootfs(spec: &ShimSpec) -> Result<()> {
    let root = &spec.rootfs;
    let opts = overlay_opts(spec)?;
    sys::mount(
        Some("overlay"),
        root,
        Some("overlay"),
        MsFlags::empty(),
        Some(&opts),
    )?;
    let nse = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys::mount(
        Some("proc"),
        &mkdir_in(root, "proc", 0o555)?,
        Some("proc"),
        nse,
        None,
    )?;
    let sys_flags = if spec.privileged {
        nse
    } else {
        nse | MsFlags::MS_RDONLY
    };
    sys::mount(
        Some("sysfs"),
        &mkdir_in(root, "sys", 0o555)?,
        Some("sysfs"),
        sys_flags,
        None,
    )?;
    let dev = mkdir_in(root, "dev", 0o755)?;
    sys::mount(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    make_devices(&dev)?;
    sys::mount(
        Some("devpts"),
        &mkdir_in(&dev, "pts", 0o755)?,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    sys::mount(
        Some("shm"),
        &mkdir_in(&dev, "shm", 0o1777)?,
        Some("tmpfs"),
        nse,
        Some("mode=1777,size=65536k"),
    )?;
    sys::mount(
        Some("mqueue"),
        &mkdir_in(&dev, "mqueue", 0o755)?,
        Some("mqueue"),
        nse,
        None,
    )?;
    for (src, name) in &spec.etc_files {
        let etc = mkdir_in(root, "etc", 0o755)?;
        let target = etc.join(name);
        ensure_file(&target)?;
        sys::bind(src, &target, false)?;
    }
    for m in &spec.mounts {
        let target = secure_join(root, &m.container_path)?;
        let meta = std::fs::metadata(&m.host_path).ctx("stat volume source", &m.host_path)?;
        if meta.is_dir() {
            std::fs::create_dir_all(&target).ctx("mkdir mount point", &target)?;
        } else {
            ensure_file(&target)?;
        }
        sys::bind(&m.host_path, &target, m.readonly)?;
    }
    Ok(())
}

/// Create an empty regular file at `p` (replacing a dangling symlink) when none is there.
fn ensure_file(p: &Path) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::remove_file(p).ctx("remove symlink", p)?;
        }
        Ok(_) => return Ok(()),
        Err(_) => {}
    }
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).ctx("mkdir", parent)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .ctx("create mount point", p)?;
    Ok(())
}

/// Join a container path under `root`, refusing `..`.
pub fn secure_join(root: &Path, path: &str) -> Result<PathBuf> {
    let mut out = root.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "mount path {path:?} must not contain '..'"
                )));
            }
        }
    }
    Ok(out)
}

fn make_devices(dev: &Path) -> Result<()> {
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let p = dev.join(name);
        nix::sys::stat::mknod(
            &p,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(major, minor),
        )
        .map_err(|e| Error::nix(format!("mknod {}", p.display()), e))?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        let p = dev.join(name);
        std::os::unix::fs::symlink(target, &p).ctx("symlink", &p)?;
    }
    Ok(())
}

fn pivot(root: &Path) -> Result<()> {
    nix::unistd::chdir(root).map_err(|e| Error::nix(format!("chdir {}", root.display()), e))?;
    nix::unistd::pivot_root(".", ".")
        .map_err(|e| Error::nix(format!("pivot_root {}", root.display()), e))?;
    nix::mount::umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::nix("umount old root", e))?;
    nix::unistd::chdir("/").map_err(|e| Error::nix("chdir /", e))
}

fn mask_paths() -> Result<()> {
    for p in MASKED_PATHS {
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                sys::mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY, None)?
            }
            Ok(_) => sys::bind(Path::new("/dev/null"), path, false)?,
            Err(_) => {}
        }
    }
    for p in READONLY_PATHS {
        let path = Path::new(p);
        if path.exists() {
            sys::bind(path, path, true)?;
        }
    }
    Ok(())
}

/// Switch to the process's identity and exec it; returns only on failure.
pub fn exec_process(p: &ProcessSpec, root: &str) -> Error {
    match prepare_process(p, root) {
        Ok(path) => sys::execve(&path, &p.args, &p.env),
        Err(e) => e,
    }
}

fn prepare_process(p: &ProcessSpec, root: &str) -> Result<String> {
    let cwd = Path::new(&p.cwd);
    if !cwd.is_dir() {
        std::fs::create_dir_all(cwd).ctx("create working directory", cwd)?;
        let _ = std::fs::set_permissions(cwd, std::fs::Permissions::from_mode(0o755));
    }
    let Some(arg0) = p.args.first() else {
        return Err(Error::InvalidArgument("empty command".into()));
    };
    let path = lookup_path(Path::new(root), arg0, &p.env).ok_or_else(|| {
        Error::Setup(format!(
            "exec: {arg0:?}: executable file not found in $PATH"
        ))
    })?;
    caps::drop_bounding(p.caps)?;
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(Error::last_sys("prctl(PR_SET_KEEPCAPS)"));
    }
    let groups: Vec<nix::unistd::Gid> = p
        .additional_gids
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&groups)
        .map_err(|e| Error::nix(format!("setgroups({:?})", p.additional_gids), e))?;
    let gid = nix::unistd::Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| Error::nix(format!("setresgid({})", p.gid), e))?;
    let uid = nix::unistd::Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| Error::nix(format!("setresuid({})", p.uid), e))?;
    caps::set_current(p.caps)?;
    if p.no_new_privs {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Error::last_sys("prctl(PR_SET_NO_NEW_PRIVS)"));
        }
    }
    nix::unistd::chdir(cwd).map_err(|e| Error::nix(format!("chdir {}", p.cwd), e))?;
    sys::reset_signals();
    Ok(path)
}
