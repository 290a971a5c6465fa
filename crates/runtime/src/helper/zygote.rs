//! A single-threaded helper that forks shims and sandbox inits on request, saving an exec
//! per start. Requests come as datagrams `verb\0arg` on fd 0, each carrying the socket the
//! child must report on (it becomes the child's stdout).

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use nix::unistd::ForkResult;

use super::{sandbox_init, shim};

/// `__runtime zygote`: serve requests on fd 0 until the runtime closes its end.
pub fn main() -> i32 {
    // Children are reaped automatically; each child restores SIGCHLD at once.
    // SAFETY: setting a signal disposition in this single-threaded process.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        // SAFETY: fd 0 is the control socket for the life of this process.
        let ctrl = unsafe { BorrowedFd::borrow_raw(0) };
        let msg = match recvmsg::<()>(
            ctrl.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 0,
        };
        let len = msg.bytes;
        let mut reply: Option<RawFd> = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    reply = fds.first().copied();
                }
            }
        }
        if len == 0 && reply.is_none() {
            return 0;
        }
        let Some(reply) = reply else { continue };
        let text = String::from_utf8_lossy(&buf[..len]).to_string();
        let (verb, arg) = text.split_once('\0').unwrap_or((text.as_str(), ""));
        // SAFETY: this process is single-threaded.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => {
                // SAFETY: resetting state inherited from the zygote in the fresh child.
                unsafe {
                    libc::signal(libc::SIGCHLD, libc::SIG_DFL);
                    libc::dup2(reply, 1);
                    libc::close(reply);
                    libc::close(0);
                    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                    if null > 0 {
                        libc::dup2(null, 0);
                        libc::close(null);
                    }
                }
                let code = match verb {
                    "shim" => shim::main(arg),
                    "sandbox-init" => sandbox_init::main(arg),
                    other => {
                        println!("err zygote: unknown verb {other:?}");
                        2
                    }
                };
                // SAFETY: leaving the forked child.
                unsafe { libc::_exit(code) }
            }
            Ok(ForkResult::Parent { .. }) => {}
            Err(e) => {
                let _ = crate::sys::write_all(reply, format!("err zygote fork: {e}\n").as_bytes());
            }
        }
        // SAFETY: closing our copy of the reply socket.
        unsafe { libc::close(reply) };
    }
}
