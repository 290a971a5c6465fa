//! `/portforward`: SPDY streams (plain, or tunnelled in a WebSocket) paired per request id
//! into a data and an error stream, each pair forwarded to a port of the pod.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::upgrade::{self, Kind};
use super::{Backend, text_error};
use crate::backend::StreamingBackend;
use crate::spdy::{PORTFORWARD_PROTOCOL, PORTFORWARD_TUNNEL, Session, SpdyStream};

pub(crate) async fn portforward(
    State(backend): State<Backend>,
    Path((namespace, pod)): Path<(String, String)>,
    req: Request,
) -> Response {
    match upgrade::kind(&req) {
        Kind::WebSocket => {
            let (mut parts, _) = req.into_parts();
            match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                Ok(ws) => ws
                    .protocols([PORTFORWARD_TUNNEL])
                    .on_upgrade(move |socket| async move {
                        let io = crate::wsio::byte_stream(socket);
                        serve(io, backend, namespace, pod).await;
                    }),
                Err(rejection) => rejection.into_response(),
            }
        }
        Kind::Spdy => {
            let protocol = match upgrade::negotiate(&req, &[PORTFORWARD_PROTOCOL]) {
                Ok(p) => p,
                Err(msg) => return text_error(403, msg),
            };
            upgrade::spdy(req, protocol, move |io| serve(io, backend, namespace, pod))
        }
        Kind::None => text_error(400, "Upgrade request required"),
    }
}

/// Serve port-forward streams on the SPDY byte stream `io` until the client hangs up.
pub(crate) async fn serve<T>(
    io: T,
    backend: Arc<dyn StreamingBackend>,
    namespace: String,
    pod: String,
) where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut session = Session::start(io);
    let mut pending: HashMap<String, (Option<SpdyStream>, Option<SpdyStream>)> = HashMap::new();
    while let Some(stream) = session.accept().await {
        let port = stream.header("port").unwrap_or("").to_string();
        let key = match stream.header("requestid") {
            Some(id) => id.to_string(),
            None => format!("port:{port}"),
        };
        let slot = pending.entry(key.clone()).or_default();
        match stream.header("streamtype") {
            Some("error") => slot.0 = Some(stream),
            Some("data") => slot.1 = Some(stream),
            other => {
                tracing::debug!(?other, "unexpected port-forward stream type");
                stream.writer.reset().await;
                continue;
            }
        }
        if let Some((Some(_), Some(_))) = pending.get(&key)
            && let Some((Some(error), Some(data))) = pending.remove(&key)
        {
            let backend = backend.clone();
            let (ns, pod) = (namespace.clone(), pod.clone());
            tokio::spawn(forward(backend, ns, pod, port, error, data));
        }
    }
    session.close(Duration::from_secs(1)).await;
}

async fn forward(
    backend: Arc<dyn StreamingBackend>,
    namespace: String,
    pod: String,
    port: String,
    error: SpdyStream,
    mut data: SpdyStream,
) {
    let port_num = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            let msg = format!("invalid port {port:?}");
            error.writer.write(msg.as_bytes()).await;
            error.writer.finish().await;
            data.writer.finish().await;
            return;
        }
    };
    let tcp = match backend.port_forward(&namespace, &pod, port_num).await {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("error forwarding port {port_num} to pod {namespace}/{pod}: {e}");
            error.writer.write(msg.as_bytes()).await;
            error.writer.finish().await;
            data.writer.finish().await;
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let (mut rd, mut wr) = tcp.into_split();
    let up = async {
        while let Some(b) = data.data.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    };
    let writer = data.writer.clone();
    let down = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !writer.write(&buf[..n]).await {
                        break;
                    }
                }
            }
        }
    };
    // Like the CRI runtimes: once one direction is done, give the other a second, then
    // close both streams (the client waits for the error stream to end).
    tokio::pin!(up, down);
    tokio::select! {
        _ = &mut up => { let _ = tokio::time::timeout(Duration::from_secs(1), &mut down).await; }
        _ = &mut down => { let _ = tokio::time::timeout(Duration::from_secs(1), &mut up).await; }
    }
    data.writer.finish().await;
    error.writer.finish().await;
}
