//! A fake node: "containers" are local processes, logs are files the test writes, pod
//! ports are local ports.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use skiff_runtime::{AttachSession, ExecOptions, ExecSession};
use skiff_streaming::logs::LogSource;
use skiff_streaming::{BackendError, ContainerRef, StreamingBackend};
use tokio::net::TcpStream;

/// The fake node.
pub struct FakeBackend {
    /// Log file of every container.
    pub log: PathBuf,
    /// Previous instance's log.
    pub previous_log: PathBuf,
    pub running: Arc<AtomicBool>,
}

fn check(t: &ContainerRef) -> Result<(), BackendError> {
    if t.pod != "p" || t.container != "app" {
        return Err(BackendError::NotFound(format!(
            "container {:?} not found in pod {:?}",
            t.container, t.pod
        )));
    }
    Ok(())
}

#[async_trait]
impl StreamingBackend for FakeBackend {
    async fn log_source(
        &self,
        target: &ContainerRef,
        previous: bool,
    ) -> Result<LogSource, BackendError> {
        check(target)?;
        let running = self.running.clone();
        Ok(LogSource {
            path: if previous {
                self.previous_log.clone()
            } else {
                self.log.clone()
            },
            running: Box::new(move || {
                let r = running.load(Ordering::SeqCst) && !previous;
                Box::pin(async move { r })
            }),
        })
    }

    async fn exec(
        &self,
        target: &ContainerRef,
        cmd: Vec<String>,
        opts: ExecOptions,
    ) -> Result<ExecSession, BackendError> {
        check(target)?;
        let (prog, args) = cmd
            .split_first()
            .ok_or_else(|| BackendError::BadRequest("empty command".into()))?;
        let mut child = tokio::process::Command::new(prog)
            .args(args)
            .stdin(if opts.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BackendError::Internal(format!("starting {prog}: {e}")))?;
        let stdin = child
            .stdin
            .take()
            .map(|s| Box::pin(s) as skiff_runtime::Writer);
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::pin(s) as skiff_runtime::Reader);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::pin(s) as skiff_runtime::Reader);
        Ok(ExecSession {
            stdin,
            stdout,
            stderr,
            resize: Box::new(|_, _| {}),
            exit: Box::pin(async move {
                let status = child
                    .wait()
                    .await
                    .map_err(|e| skiff_runtime::Error::FailedPrecondition(e.to_string()))?;
                Ok(status.code().unwrap_or(-1))
            }),
        })
    }

    async fn attach(&self, target: &ContainerRef) -> Result<AttachSession, BackendError> {
        check(target)?;
        // The "main process" prints a line and exits a moment later.
        let mut child = tokio::process::Command::new("sh")
            .args([
                "-c",
                "sleep 0.3; echo attached; echo to-stderr >&2; sleep 0.2",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BackendError::Internal("no stdout".into()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| BackendError::Internal("no stderr".into()))?;
        tokio::spawn(async move { child.wait().await });
        Ok(AttachSession {
            stdin: None,
            stdout: Box::pin(stdout),
            stderr: Box::pin(stderr),
        })
    }

    async fn port_forward(
        &self,
        _namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<TcpStream, BackendError> {
        if pod != "p" {
            return Err(BackendError::NotFound(format!("pod {pod:?} not found")));
        }
        TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))
    }
}
