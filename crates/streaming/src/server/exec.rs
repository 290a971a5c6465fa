//! `/exec` and `/attach`: a process's stdio bridged to WebSocket channels or SPDY streams,
//! its exit code reported on the error channel.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use skiff_runtime::{AttachSession, ExecOptions, ExecSession, Reader, Writer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::upgrade::{self, Kind, Upgraded};
use super::{Backend, backend_error, text_error};
use crate::backend::ContainerRef;
use crate::channel::{self, Encoded, Incoming, Protocol, TerminalSize};
use crate::spdy::{Session, SpdyStream, StreamWriter};

/// SPDY stream protocols for exec/attach, most preferred first.
const SPDY_PROTOCOLS: [&str; 4] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];
/// How long a client has to open its SPDY streams.
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long output may still arrive after the process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Which streams a request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "True" | "TRUE")
}

/// Parse the query; both the kubelet names (`input`, `output`, `error`) and the API names
/// (`stdin`, `stdout`, `stderr`) are accepted.
pub(crate) fn params(query: Option<&str>) -> Params {
    let mut p = Params::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "command" => p.command.push(v.into_owned()),
            "stdin" | "input" => p.stdin = truthy(&v),
            "stdout" | "output" => p.stdout = truthy(&v),
            "stderr" | "error" => p.stderr = truthy(&v),
            "tty" => p.tty = truthy(&v),
            _ => {}
        }
    }
    if p.tty {
        // A terminal merges stderr into stdout.
        p.stderr = false;
    }
    p
}

/// A running process (exec) or a container's main process (attach).
pub(crate) struct Proc {
    stdin: Option<Writer>,
    stdout: Option<Reader>,
    stderr: Option<Reader>,
    resize: Box<dyn Fn(u16, u16) + Send + Sync>,
    exit: Option<BoxFuture<'static, skiff_runtime::Result<i32>>>,
}

impl From<ExecSession> for Proc {
    fn from(s: ExecSession) -> Self {
        Proc {
            stdin: s.stdin,
            stdout: s.stdout,
            stderr: s.stderr,
            resize: s.resize,
            exit: Some(s.exit),
        }
    }
}

impl From<AttachSession> for Proc {
    fn from(s: AttachSession) -> Self {
        Proc {
            stdin: s.stdin,
            stdout: Some(s.stdout),
            stderr: Some(s.stderr),
            resize: Box::new(|_, _| {}),
            exit: None,
        }
    }
}

pub(crate) async fn exec(
    State(backend): State<Backend>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let p = params(req.uri().query());
    if p.command.is_empty() {
        return text_error(
            400,
            "you must specify at least one command for the container",
        );
    }
    if let Some(resp) = check(&req, &p) {
        return resp;
    }
    let target = ContainerRef {
        namespace,
        pod,
        container,
    };
    let opts = ExecOptions {
        tty: p.tty,
        stdin: p.stdin,
    };
    match backend.exec(&target, p.command.clone(), opts).await {
        Ok(s) => serve_streams(req, p, s.into()).await,
        Err(e) => backend_error(&e),
    }
}

pub(crate) async fn attach(
    State(backend): State<Backend>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let p = params(req.uri().query());
    if let Some(resp) = check(&req, &p) {
        return resp;
    }
    let target = ContainerRef {
        namespace,
        pod,
        container,
    };
    match backend.attach(&target).await {
        Ok(s) => serve_streams(req, p, s.into()).await,
        Err(e) => backend_error(&e),
    }
}

fn check(req: &Request, p: &Params) -> Option<Response> {
    if !p.stdin && !p.stdout && !p.stderr {
        return Some(text_error(
            400,
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    if upgrade::kind(req) == Kind::None {
        return Some(upgrade::upgrade_required());
    }
    None
}

async fn serve_streams(req: Request, p: Params, proc: Proc) -> Response {
    match upgrade::kind(&req) {
        Kind::WebSocket => {
            let (mut parts, _) = req.into_parts();
            match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                Ok(ws) => ws
                    .protocols(channel::PROTOCOLS)
                    .on_upgrade(move |socket| run_ws(socket, p, proc)),
                Err(rejection) => rejection.into_response(),
            }
        }
        Kind::Spdy => {
            let protocol = match upgrade::negotiate(&req, &SPDY_PROTOCOLS) {
                Ok(p) => p,
                Err(msg) => return text_error(403, msg),
            };
            let chosen = protocol.clone();
            upgrade::spdy(req, protocol, move |io| run_spdy(io, chosen, p, proc))
        }
        Kind::None => upgrade::upgrade_required(),
    }
}

enum WsOut {
    Data(u8, Bytes),
    Close,
}

/// Where one output channel goes.
#[derive(Clone)]
enum Out {
    Ws { tx: mpsc::Sender<WsOut>, ch: u8 },
    Spdy(StreamWriter),
}

impl Out {
    async fn send(&self, data: &[u8]) -> bool {
        match self {
            Out::Ws { tx, ch } => tx
                .send(WsOut::Data(*ch, Bytes::copy_from_slice(data)))
                .await
                .is_ok(),
            Out::Spdy(w) => w.write(data).await,
        }
    }

    async fn finish(&self) {
        if let Out::Spdy(w) = self {
            w.finish().await;
        }
    }
}

/// The client side of a session, whatever the transport.
struct Io {
    stdin: Option<mpsc::Receiver<Bytes>>,
    resize: Option<mpsc::Receiver<TerminalSize>>,
    stdout: Option<Out>,
    stderr: Option<Out>,
    error: Option<Out>,
    protocol: Protocol,
}

fn pump(reader: Option<Reader>, out: Option<Out>) -> Option<tokio::task::JoinHandle<()>> {
    let mut reader = reader?;
    Some(tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // A pty answers EIO once the process is gone: that is the end too.
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(o) = &out
                && !o.send(&buf[..n]).await
            {
                break;
            }
        }
    }))
}

/// Bridge `proc` and `io` until the process ends; then report its status.
async fn run(proc: Proc, io: Io) {
    let Proc {
        stdin,
        stdout,
        stderr,
        resize,
        exit,
    } = proc;
    if let Some(mut rx) = io.stdin {
        let mut stdin = stdin;
        tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                let Some(w) = stdin.as_mut() else { continue };
                if w.write_all(&b).await.is_err() || w.flush().await.is_err() {
                    stdin = None;
                }
            }
            if let Some(mut w) = stdin {
                let _ = w.shutdown().await;
            }
        });
    }
    if let Some(mut rx) = io.resize {
        tokio::spawn(async move {
            while let Some(size) = rx.recv().await {
                resize(size.height, size.width);
            }
        });
    }
    let pumps: Vec<_> = [
        pump(stdout, io.stdout.clone()),
        pump(stderr, io.stderr.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let drain = async move {
        for p in pumps {
            let _ = p.await;
        }
    };
    let status: Value = match exit {
        Some(exit) => {
            let code = exit.await;
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
            match code {
                Ok(0) => channel::success_status(),
                Ok(c) => channel::exit_status(c),
                Err(e) => channel::failure_status(&e.to_string()),
            }
        }
        None => {
            drain.await;
            channel::success_status()
        }
    };
    if let Some(err) = &io.error
        && let Some(payload) = channel::error_payload(io.protocol, &status)
    {
        err.send(&payload).await;
    }
    for o in [&io.stdout, &io.stderr, &io.error].into_iter().flatten() {
        o.finish().await;
    }
}

async fn run_ws(socket: WebSocket, p: Params, proc: Proc) {
    let protocol = Protocol::from_name(socket.protocol().and_then(|v| v.to_str().ok()));
    let (mut sink, mut stream) = socket.split();
    let (wtx, mut wrx) = mpsc::channel::<WsOut>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = wrx.recv().await {
            let msg = match m {
                WsOut::Data(ch, b) => match channel::encode(protocol, ch, &b) {
                    Encoded::Binary(v) => Message::Binary(v.into()),
                    Encoded::Text(s) => Message::Text(s.into()),
                },
                WsOut::Close => {
                    let close = CloseFrame {
                        code: 1000,
                        reason: "".into(),
                    };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    // An empty message on the first output channel tells the client all is set up.
    let first = if p.stdout {
        channel::STDOUT
    } else if p.stderr {
        channel::STDERR
    } else {
        channel::ERROR
    };
    let _ = wtx.send(WsOut::Data(first, Bytes::new())).await;

    let (stdin_tx, stdin_rx) = if p.stdin {
        let (tx, rx) = mpsc::channel(64);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let (resize_tx, resize_rx) = if p.tty {
        let (tx, rx) = mpsc::channel(8);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    tokio::spawn(async move {
        let mut stdin_tx = stdin_tx;
        let mut resize_buf = Vec::new();
        while let Some(Ok(msg)) = stream.next().await {
            let incoming = match msg {
                Message::Binary(b) => channel::decode_binary(protocol, &b),
                Message::Text(t) => channel::decode_text(t.as_str()),
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            match incoming {
                Ok(Some(Incoming::Data(channel::STDIN, d))) => {
                    if let Some(tx) = &stdin_tx
                        && tx.send(Bytes::from(d)).await.is_err()
                    {
                        stdin_tx = None;
                    }
                }
                Ok(Some(Incoming::Data(channel::RESIZE, d))) => {
                    resize_buf.extend_from_slice(&d);
                    for size in channel::parse_resizes(&mut resize_buf) {
                        if let Some(tx) = &resize_tx {
                            let _ = tx.send(size).await;
                        }
                    }
                }
                Ok(Some(Incoming::Close(channel::STDIN))) => stdin_tx = None,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "bad message from the exec client");
                    break;
                }
            }
        }
    });
    let out = |ch| Out::Ws {
        tx: wtx.clone(),
        ch,
    };
    let io = Io {
        stdin: stdin_rx,
        resize: resize_rx,
        stdout: p.stdout.then(|| out(channel::STDOUT)),
        stderr: p.stderr.then(|| out(channel::STDERR)),
        error: Some(out(channel::ERROR)),
        protocol,
    };
    run(proc, io).await;
    let _ = wtx.send(WsOut::Close).await;
    drop(wtx);
    let _ = writer.await;
}

async fn run_spdy(io: Upgraded, protocol: Option<String>, p: Params, proc: Proc) {
    let mut session = Session::start(io);
    let v2_or_later = protocol.as_deref().is_some_and(|v| v != "channel.k8s.io");
    let resize_supported = v2_or_later && protocol.as_deref() != Some("v2.channel.k8s.io");
    let expected = 1
        + usize::from(p.stdin)
        + usize::from(p.stdout)
        + usize::from(p.stderr)
        + usize::from(p.tty && resize_supported);
    let deadline = tokio::time::Instant::now() + STREAM_CREATION_TIMEOUT;
    let mut streams: HashMap<String, SpdyStream> = HashMap::new();
    while streams.len() < expected {
        match tokio::time::timeout_at(deadline, session.accept()).await {
            Ok(Some(s)) => {
                let kind = s.header("streamtype").unwrap_or("").to_string();
                streams.insert(kind, s);
            }
            Ok(None) => break,
            Err(_) => {
                tracing::debug!(
                    got = streams.len(),
                    expected,
                    "timed out waiting for exec streams"
                );
                break;
            }
        }
    }
    let resize_rx = streams.remove("resize").map(|mut s| {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some(b) = s.data.recv().await {
                buf.extend_from_slice(&b);
                for size in channel::parse_resizes(&mut buf) {
                    let _ = tx.send(size).await;
                }
            }
        });
        rx
    });
    let io = Io {
        stdin: streams.remove("stdin").map(|s| s.data),
        resize: resize_rx,
        stdout: streams.remove("stdout").map(|s| Out::Spdy(s.writer)),
        stderr: streams.remove("stderr").map(|s| Out::Spdy(s.writer)),
        error: streams.remove("error").map(|s| Out::Spdy(s.writer)),
        protocol: if protocol.as_deref() == Some("v4.channel.k8s.io") {
            Protocol::V4
        } else {
            Protocol::V1
        },
    };
    run(proc, io).await;
    session.close(Duration::from_secs(10)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_accept_both_spellings() {
        let p = params(Some(
            "command=sh&command=-c&command=echo+hi&input=1&output=1&error=1",
        ));
        assert_eq!(p.command, vec!["sh", "-c", "echo hi"]);
        assert!(p.stdin && p.stdout && p.stderr && !p.tty);
        let p = params(Some("command=ls&stdout=true&stderr=true&tty=true"));
        assert!(p.stdout && p.tty);
        assert!(!p.stderr, "a tty has no separate stderr");
        assert!(!params(None).stdout);
    }
}
