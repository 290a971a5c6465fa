//! The kubelet HTTPS API: `/containerLogs`, `/exec`, `/attach`, `/portforward`, served to
//! clients with a certificate of the cluster CA that [`default_authz`] (or the caller's
//! check) accepts.

mod exec;
mod portforward;
mod tls;
mod upgrade;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tower::ServiceExt;

use crate::backend::{BackendError, ContainerRef, StreamingBackend};
use crate::logs::{self, LogOptions};

pub use tls::{ClientCert, default_authz, server_tls_config};

/// Shared state of the routes.
pub(crate) type Backend = Arc<dyn StreamingBackend>;

/// A plain-text error answer, as the kubelet gives them.
pub(crate) fn text_error(code: u16, msg: impl Into<String>) -> Response {
    let mut resp = Response::new(Body::from(format!("{}\n", msg.into())));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

pub(crate) fn backend_error(e: &BackendError) -> Response {
    text_error(e.code(), e.to_string())
}

/// The kubelet API routes over `backend` (merge more routes into it as needed).
pub fn router(backend: Arc<dyn StreamingBackend>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .route(
            "/exec/{ns}/{pod}/{container}",
            get(exec::exec).post(exec::exec),
        )
        .route(
            "/attach/{ns}/{pod}/{container}",
            get(exec::attach).post(exec::attach),
        )
        .route(
            "/portforward/{ns}/{pod}",
            get(portforward::portforward).post(portforward::portforward),
        )
        .with_state(backend)
}

async fn container_logs(
    State(backend): State<Backend>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let opts = match LogOptions::from_query(req.uri().query()) {
        Ok(o) => o,
        Err(msg) => return text_error(400, msg),
    };
    let target = ContainerRef {
        namespace,
        pod,
        container,
    };
    let source = match backend.log_source(&target, opts.previous).await {
        Ok(s) => s,
        Err(e) => return backend_error(&e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(logs::stream(source, opts, tx));
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<_, Infallible>));
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// Bind `addr` and serve the kubelet API forever (see [`serve_on`]).
pub async fn serve(
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    backend: Arc<dyn StreamingBackend>,
    authz: fn(&ClientCert) -> bool,
) -> crate::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, tls, router(backend), authz).await;
    Ok(())
}

/// Serve `app` over TLS on `listener` forever. Requests without a client certificate get
/// 401, those whose certificate `authz` refuses get 403.
pub async fn serve_on(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    authz: fn(&ClientCert) -> bool,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "kubelet API accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "kubelet API TLS handshake failed");
                    return;
                }
            };
            let cert = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| ClientCert::from_der(c.as_ref()));
            let verdict = match &cert {
                None => Some((401, "Unauthorized".to_string())),
                Some(c) if !authz(c) => Some((
                    403,
                    format!(
                        "Forbidden (user={}, verb=get, resource=nodes, subresource=proxy)",
                        c.common_name
                    ),
                )),
                Some(_) => None,
            };
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    let verdict = verdict.clone();
                    async move {
                        if let Some((code, msg)) = verdict {
                            return Ok::<_, Infallible>(text_error(code, msg));
                        }
                        app.oneshot(req.map(Body::new)).await
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades()
                .await
            {
                tracing::debug!(%peer, error = %e, "kubelet API connection ended with an error");
            }
        });
    }
}
