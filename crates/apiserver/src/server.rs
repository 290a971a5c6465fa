//! HTTPS serving: TLS accept loop, authentication, routing to discovery, OpenAPI and REST.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::authn::{Authenticator, UserInfo};
use crate::request::{Query, Route, route};
use crate::rest::{self, Api, Ctx, Reply};
use crate::status::ApiError;
use crate::{discovery, openapi};

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Everything a connection needs.
pub struct Server {
    pub api: Arc<Api>,
    pub authn: Authenticator,
    pub tls: TlsAcceptor,
    pub joiner: crate::join::Joiner,
    /// Client for the kubelets behind pods/log, exec, attach and portforward.
    pub kubelet: crate::proxy::KubeletClient,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

fn json_response(code: u16, value: &Value) -> Response<Body> {
    respond(code, "application/json", value.to_string())
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// The `/version` document.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": concat!("v1.33.0+skiff-", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": "linux/amd64"
    })
}

impl Server {
    /// Accept connections forever.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let server = self.clone();
            tokio::spawn(async move { server.connection(tcp, peer).await });
        }
    }

    async fn connection(self: Arc<Self>, tcp: tokio::net::TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let tls = match self.tls.accept(tcp).await {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
        };
        let cert_user = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| self.authn.authenticate(Some(leaf.as_ref()), None));
        let server = self.clone();
        let service = hyper::service::service_fn(move |req| {
            let server = server.clone();
            let user = cert_user.clone();
            async move { Ok::<_, Infallible>(server.handle(user, req).await) }
        });
        let io = hyper_util::rt::TokioIo::new(tls);
        let builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        if let Err(e) = builder.serve_connection_with_upgrades(io, service).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }

    async fn handle(&self, cert_user: Option<UserInfo>, req: Request<Incoming>) -> Response<Body> {
        let started = std::time::Instant::now();
        let method = req.method().clone();
        let uri = req.uri().clone();
        let resp = self.dispatch(cert_user, req).await;
        tracing::debug!(%method, %uri, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
        resp
    }

    async fn dispatch(
        &self,
        cert_user: Option<UserInfo>,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let path = req.uri().path().to_string();
        let r = route(&path);
        match r {
            Route::Healthz | Route::Livez | Route::Readyz => {
                return respond(200, "text/plain", "ok");
            }
            Route::Version => return json_response(200, &version()),
            Route::CaCerts => return respond(200, "text/plain", self.joiner.cacerts().to_string()),
            Route::Join => return self.join(req).await,
            _ => {}
        }
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let user = match cert_user {
            Some(u) => Some(u),
            None => {
                let auth = header(header::AUTHORIZATION);
                self.authn
                    .authenticate_request(None, Some(auth.as_str()).filter(|a| !a.is_empty()))
                    .ok()
                    .flatten()
            }
        };
        if user.is_none() {
            return error_response(&ApiError::unauthorized());
        }
        let accept = header(header::ACCEPT);
        match r {
            Route::CoreVersions | Route::GroupList => {
                let kind = if r == Route::CoreVersions {
                    discovery::AggregatedKind::Core
                } else {
                    discovery::AggregatedKind::Apis
                };
                if let Some((version, content_type)) = discovery::negotiate(&accept) {
                    return respond(
                        200,
                        content_type,
                        discovery::aggregated(kind, version).to_string(),
                    );
                }
                let doc = if r == Route::CoreVersions {
                    discovery::api_versions()
                } else {
                    discovery::api_group_list()
                };
                json_response(200, &doc)
            }
            Route::Group(g) => match discovery::api_group(&g) {
                Some(doc) => json_response(200, &doc),
                None => error_response(&ApiError::not_found_path()),
            },
            Route::ResourceList { group, version } => {
                match discovery::api_resource_list(&group, &version) {
                    Some(doc) => json_response(200, &doc),
                    None => error_response(&ApiError::not_found_path()),
                }
            }
            Route::OpenApiV2 => {
                if openapi::wants_v2_protobuf(&accept) {
                    respond(
                        200,
                        openapi::V2_PROTOBUF_CONTENT_TYPE,
                        openapi::v2_protobuf(),
                    )
                } else {
                    respond(200, "application/json", openapi::v2_json())
                }
            }
            Route::OpenApiV3Root => json_response(200, &openapi::v3_root()),
            Route::OpenApiV3(p) => match openapi::v3_document(&p) {
                Some(doc) => respond(200, "application/json", doc),
                None => error_response(&ApiError::not_found_path()),
            },
            Route::Resource(rr) => self.resource(rr, req, &accept).await,
            // Public routes were answered before authentication.
            Route::NotFound
            | Route::Healthz
            | Route::Livez
            | Route::Readyz
            | Route::Version
            | Route::CaCerts
            | Route::Join => error_response(&ApiError::not_found_path()),
        }
    }

    async fn resource(
        &self,
        rr: crate::request::ResourceRequest,
        req: Request<Incoming>,
        accept: &str,
    ) -> Response<Body> {
        if crate::proxy::is_streaming(&rr) {
            return crate::proxy::serve(&self.api, &self.kubelet, &rr, req).await;
        }
        let query = Query::parse(req.uri().query());
        let method = req.method().clone();
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_string();
        let manager = query
            .get("fieldManager")
            .map(str::to_string)
            .unwrap_or_else(|| manager_from_agent(&user_agent));
        let body = if method == Method::GET {
            Bytes::new()
        } else {
            match Limited::new(req.into_body(), rest::MAX_BODY)
                .collect()
                .await
            {
                Ok(b) => b.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return error_response(&ApiError::too_large());
                }
                Err(e) => {
                    return error_response(&ApiError::bad_request(format!(
                        "reading request body: {e}"
                    )));
                }
            }
        };
        let ctx = Ctx {
            req: &rr,
            query: &query,
            accept,
            content_type: &content_type,
            manager,
        };
        match rest::handle(&self.api, &ctx, &method, &body).await {
            Ok(Reply::Object(code, obj)) => json_response(code, &obj),
            Ok(Reply::Watch(stream)) => {
                let frames = stream.map(|b| Ok::<_, Infallible>(Frame::data(b)));
                let mut resp = Response::new(BodyExt::boxed_unsync(StreamBody::new(frames)));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, private"),
                );
                resp
            }
            Err(e) => error_response(&e),
        }
    }
}

impl Server {
    async fn join(&self, req: Request<Incoming>) -> Response<Body> {
        if req.method() != Method::POST {
            return error_response(&ApiError::method_not_allowed(req.method().as_str()));
        }
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return error_response(&ApiError::too_large()),
        };
        match self.joiner.join(auth.as_deref(), &body) {
            Ok(bundle) => json_response(200, &bundle),
            Err(e) => error_response(&e),
        }
    }
}

/// Upstream's default field manager: the user agent's program name.
fn manager_from_agent(agent: &str) -> String {
    let name = agent.split('/').next().unwrap_or(agent);
    if name.is_empty() {
        "unknown".into()
    } else {
        name.chars().take(128).collect()
    }
}
