//! Client side of the helper zygote: one long-lived single-threaded helper that forks shims
//! and sandbox inits on request (no exec per start). Falls back to a fresh helper process.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Mutex;

use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use tokio::io::AsyncBufReadExt;

use crate::error::{Error, IoContext, Result};
use crate::helper::MARKER;

struct Conn {
    ctrl: OwnedFd,
    child: std::process::Child,
}

/// A lazily started zygote.
pub(crate) struct Zygote {
    exe: PathBuf,
    conn: Mutex<Option<Conn>>,
}

impl Zygote {
    pub(crate) fn new(exe: PathBuf) -> Self {
        Zygote {
            exe,
            conn: Mutex::new(None),
        }
    }

    fn spawn(&self) -> Result<Conn> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| Error::nix("socketpair(SOCK_SEQPACKET) for zygote", e))?;
        let child = std::process::Command::new(&self.exe)
            .arg(MARKER)
            .arg("zygote")
            .stdin(std::process::Stdio::from(theirs))
            .stdout(std::process::Stdio::null())
            .spawn()
            .ctx("spawn runtime zygote", &self.exe)?;
        Ok(Conn { ctrl: ours, child })
    }

    /// Send `verb arg` with a fresh reply socket; returns our end of it.
    fn send(&self, verb: &str, arg: &str) -> Result<std::os::unix::net::UnixStream> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| Error::Sys {
            syscall: "socketpair".into(),
            source: e,
        })?;
        let payload = format!("{verb}\0{arg}");
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            if guard
                .as_mut()
                .is_none_or(|c| !matches!(c.child.try_wait(), Ok(None)))
            {
                *guard = Some(self.spawn()?);
            }
            let Some(conn) = guard.as_ref() else { continue };
            let fds = [theirs.as_raw_fd()];
            let cmsg = [ControlMessage::ScmRights(&fds)];
            match sendmsg::<()>(
                conn.ctrl.as_raw_fd(),
                &[IoSlice::new(payload.as_bytes())],
                &cmsg,
                MsgFlags::empty(),
                None,
            ) {
                Ok(_) => return Ok(ours),
                Err(e) if attempt == 0 => {
                    tracing::warn!(error = %e, "runtime zygote gone; starting a new one");
                    *guard = None;
                }
                Err(e) => return Err(Error::nix("sendmsg to runtime zygote", e)),
            }
        }
        Err(Error::Setup("runtime zygote unavailable".into()))
    }

    /// Run `verb arg` in a child of the zygote and return its report line.
    pub(crate) async fn request(&self, verb: &str, arg: &str) -> Result<String> {
        let ours = self.send(verb, arg)?;
        ours.set_nonblocking(true).map_err(|e| Error::Sys {
            syscall: "set_nonblocking".into(),
            source: e,
        })?;
        let stream = tokio::net::UnixStream::from_std(ours).map_err(|e| Error::Sys {
            syscall: "register socket".into(),
            source: e,
        })?;
        let mut line = String::new();
        tokio::io::BufReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| Error::Sys {
                syscall: format!("read {verb} report from zygote"),
                source: e,
            })?;
        Ok(line)
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.get_mut().ok().and_then(|c| c.take()) {
            drop(c.ctrl);
            let _ = c.child.wait();
        }
    }
}
