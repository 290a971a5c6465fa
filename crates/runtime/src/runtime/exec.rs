//! Exec sessions (setns into a running container via the helper) and attach.

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

use futures::FutureExt;
use tokio::io::AsyncReadExt;

use super::Runtime;
use crate::error::{Error, IoContext, Result};
use crate::helper::{ExecSpec, MARKER};
use crate::service::{AttachSession, ExecOptions, ExecSession, ExecSyncResult};
use crate::sys;
use crate::types::ContainerState;

impl Runtime {
    fn exec_command(
        &self,
        id: &str,
        cmd: Vec<String>,
        tty: bool,
    ) -> Result<tokio::process::Command> {
        let rec = self.refresh_container(id)?;
        let pid = match (rec.state, rec.pid) {
            (ContainerState::Running, Some(pid)) if sys::proc_alive(pid, rec.pid_start) => pid,
            _ => {
                return Err(Error::FailedPrecondition(format!(
                    "container {id} is not running"
                )));
            }
        };
        if cmd.is_empty() {
            return Err(Error::InvalidArgument("exec needs a command".into()));
        }
        let mut process = rec.process.clone();
        process.args = cmd;
        process.tty = tty;
        let spec = ExecSpec {
            pid,
            cgroup_procs: self.cgroups.procs_files(&rec.cgroup_path),
            process,
        };
        let arg = serde_json::to_string(&spec)
            .map_err(|e| Error::Setup(format!("encode exec spec: {e}")))?;
        let mut c = tokio::process::Command::new(&self.cfg.helper_exe);
        c.arg(MARKER).arg("exec").arg(arg).kill_on_drop(true);
        Ok(c)
    }

    pub(crate) async fn do_exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        opts: ExecOptions,
    ) -> Result<ExecSession> {
        let mut c = self.exec_command(id, cmd, opts.tty)?;
        if opts.tty {
            let pty = nix::pty::openpty(None, None).map_err(|e| Error::nix("openpty", e))?;
            let slave = pty.slave;
            let dup = |fd: &OwnedFd| {
                fd.try_clone().map_err(|e| Error::Sys {
                    syscall: "dup pty".into(),
                    source: e,
                })
            };
            c.stdin(Stdio::from(dup(&slave)?))
                .stdout(Stdio::from(dup(&slave)?))
                .stderr(Stdio::from(slave));
            let mut child = c.spawn().ctx("spawn exec helper", &self.cfg.helper_exe)?;
            drop(c);
            let master = pty.master;
            let resize_fd = dup(&master)?;
            let reader = tokio::fs::File::from_std(std::fs::File::from(dup(&master)?));
            let writer = tokio::fs::File::from_std(std::fs::File::from(master));
            let exit = async move {
                let st = child.wait().await.map_err(|e| Error::Sys {
                    syscall: "wait exec".into(),
                    source: e,
                })?;
                Ok(exit_code(st))
            };
            return Ok(ExecSession {
                stdin: if opts.stdin {
                    Some(Box::pin(writer))
                } else {
                    None
                },
                stdout: Some(Box::pin(reader)),
                stderr: None,
                resize: Box::new(move |rows, cols| {
                    let ws = libc::winsize {
                        ws_row: rows,
                        ws_col: cols,
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    // SAFETY: TIOCSWINSZ on the pty master we hold.
                    unsafe { libc::ioctl(resize_fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
                }),
                exit: exit.boxed(),
            });
        }
        c.stdin(if opts.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().ctx("spawn exec helper", &self.cfg.helper_exe)?;
        let stdin = child
            .stdin
            .take()
            .map(|w| Box::pin(w) as crate::service::Writer);
        let stdout = child
            .stdout
            .take()
            .map(|r| Box::pin(r) as crate::service::Reader);
        let stderr = child
            .stderr
            .take()
            .map(|r| Box::pin(r) as crate::service::Reader);
        let exit = async move {
            let st = child.wait().await.map_err(|e| Error::Sys {
                syscall: "wait exec".into(),
                source: e,
            })?;
            Ok(exit_code(st))
        };
        Ok(ExecSession {
            stdin,
            stdout,
            stderr,
            resize: Box::new(|_, _| {}),
            exit: exit.boxed(),
        })
    }

    pub(crate) async fn do_exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecSyncResult> {
        let mut c = self.exec_command(id, cmd, false)?;
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().ctx("spawn exec helper", &self.cfg.helper_exe)?;
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let run = async {
            let mut o = Vec::new();
            let mut e = Vec::new();
            let ro = async {
                if let Some(r) = out.as_mut() {
                    let _ = r.read_to_end(&mut o).await;
                }
            };
            let re = async {
                if let Some(r) = err.as_mut() {
                    let _ = r.read_to_end(&mut e).await;
                }
            };
            tokio::join!(ro, re);
            let st = child.wait().await;
            (st, o, e)
        };
        let res = if timeout.is_zero() {
            Ok(run.await)
        } else {
            tokio::time::timeout(timeout, run).await
        };
        match res {
            Ok((st, stdout, stderr)) => {
                let st = st.map_err(|e| Error::Sys {
                    syscall: "wait exec".into(),
                    source: e,
                })?;
                Ok(ExecSyncResult {
                    exit_code: exit_code(st),
                    stdout,
                    stderr,
                })
            }
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    pub(crate) async fn do_attach(&self, id: &str) -> Result<AttachSession> {
        let rec = self.refresh_container(id)?;
        if rec.state != ContainerState::Running {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is not running"
            )));
        }
        let stdin = if rec.config.stdin {
            let fifo = self.container_dir(id).join("stdin");
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .ctx("open stdin fifo", &fifo)?;
            Some(Box::pin(tokio::fs::File::from_std(f)) as crate::service::Writer)
        } else {
            None
        };
        let (out, err) = crate::attach::follow_log(
            rec.log_path.clone(),
            self.container_dir(id).join("exit.json"),
        )?;
        Ok(AttachSession {
            stdin,
            stdout: Box::pin(out),
            stderr: Box::pin(err),
        })
    }
}

fn exit_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}
