//! Pod streaming subresources (`pods/log`, `pods/exec`, `pods/attach`, `pods/portforward`):
//! checked against the pod, then proxied to the kubelet of the pod's node over TLS, with
//! HTTP upgrades (WebSocket, SPDY/3.1) passed through byte for byte.

mod client;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, BodyStream, Empty, Limited, StreamBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::request::{Query, ResourceRequest};
use crate::rest::{Api, decode};
use crate::server::Body;
use crate::status::{ApiError, ApiResult};

pub use client::{KUBELET_CLIENT_GROUP, KUBELET_CLIENT_USER, KubeletClient};

/// Port of the kubelet API when the Node does not say.
pub const DEFAULT_KUBELET_PORT: u16 = 10250;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Query parameters of pods/log passed on to the kubelet.
const LOG_PARAMS: [&str; 7] = [
    "follow",
    "previous",
    "timestamps",
    "sinceSeconds",
    "sinceTime",
    "tailLines",
    "limitBytes",
];
/// Request headers that matter to the kubelet's streaming endpoints.
const PASS_HEADERS: [&str; 8] = [
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "x-stream-protocol-version",
    "user-agent",
    "accept",
];

/// Whether `rr` names one of the pod streaming subresources this module serves.
pub fn is_streaming(rr: &ResourceRequest) -> bool {
    rr.res.group.is_empty()
        && rr.res.kind == "Pod"
        && rr.name.is_some()
        && matches!(
            rr.subresource.as_deref(),
            Some("log" | "exec" | "attach" | "portforward")
        )
}

fn respond_error(e: &ApiError) -> Response<Body> {
    let mut resp = Response::new(full(e.to_status().to_string()));
    *resp.status_mut() = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn full(b: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(b.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Serve a streaming subresource request (see [`is_streaming`]).
pub async fn serve(
    api: &Api,
    kubelet: &KubeletClient,
    rr: &ResourceRequest,
    req: Request<Incoming>,
) -> Response<Body> {
    match proxy(api, kubelet, rr, req).await {
        Ok(resp) => resp,
        Err(e) => respond_error(&e),
    }
}

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The container a request addresses, defaulted like upstream.
fn container(pod: &Value, name: &str, asked: Option<&str>) -> ApiResult<String> {
    let spec = pod.get("spec");
    let containers = names(spec.and_then(|s| s.get("containers")));
    let init = names(spec.and_then(|s| s.get("initContainers")));
    let ephemeral = names(spec.and_then(|s| s.get("ephemeralContainers")));
    match asked.filter(|c| !c.is_empty()) {
        Some(c) => {
            if containers
                .iter()
                .chain(&init)
                .chain(&ephemeral)
                .any(|n| n == c)
            {
                Ok(c.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None => match containers.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}"
            ))),
            many => {
                let mut msg = format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    many.join(" ")
                );
                if !init.is_empty() {
                    msg.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                Err(ApiError::bad_request(msg))
            }
        },
    }
}

/// The address and port of a Node's kubelet.
fn kubelet_endpoint(node: &Value) -> Option<(String, u16)> {
    let status = node.get("status")?;
    let addresses = status.get("addresses").and_then(Value::as_array)?;
    let find = |t: &str| {
        addresses
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(t))
            .and_then(|a| a.get("address").and_then(Value::as_str))
    };
    let host = find("InternalIP")
        .or_else(|| find("ExternalIP"))
        .or_else(|| find("Hostname"))?;
    let port = status
        .pointer("/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_KUBELET_PORT);
    Some((host.to_string(), port))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The kubelet path and query for this request.
fn kubelet_target(
    sub: &str,
    ns: &str,
    name: &str,
    container: &str,
    query: &Query,
    raw_query: Option<&str>,
) -> ApiResult<String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let path = match sub {
        "log" => {
            for k in LOG_PARAMS {
                if let Some(v) = query.get(k) {
                    params.push((k.into(), v.into()));
                }
            }
            format!(
                "/containerLogs/{}/{}/{}",
                enc(ns),
                enc(name),
                enc(container)
            )
        }
        "exec" | "attach" => {
            if sub == "exec" {
                let commands: Vec<&str> = query
                    .0
                    .iter()
                    .filter(|(k, _)| k == "command")
                    .map(|(_, v)| v.as_str())
                    .collect();
                if commands.is_empty() {
                    return Err(ApiError::bad_request(
                        "you must specify at least one command for the container",
                    ));
                }
                params.extend(
                    commands
                        .iter()
                        .map(|c| ("command".to_string(), c.to_string())),
                );
            }
            let (stdin, stdout, stderr, tty) = (
                query.flag("stdin"),
                query.flag("stdout"),
                query.flag("stderr"),
                query.flag("tty"),
            );
            if !stdin && !stdout && !stderr {
                return Err(ApiError::bad_request(
                    "you must specify at least 1 of stdin, stdout, stderr",
                ));
            }
            for (k, on) in [
                ("input", stdin),
                ("output", stdout),
                ("error", stderr),
                ("tty", tty),
            ] {
                if on {
                    params.push((k.into(), "1".into()));
                }
            }
            format!("/{sub}/{}/{}/{}", enc(ns), enc(name), enc(container))
        }
        _ => {
            let path = format!("/portforward/{}/{}", enc(ns), enc(name));
            return Ok(match raw_query.filter(|q| !q.is_empty()) {
                Some(q) => format!("{path}?{q}"),
                None => path,
            });
        }
    };
    if params.is_empty() {
        return Ok(path);
    }
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    Ok(format!("{path}?{q}"))
}

async fn proxy(
    api: &Api,
    kubelet: &KubeletClient,
    rr: &ResourceRequest,
    mut req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let sub = rr.subresource.as_deref().unwrap_or("");
    let (Some(name), Some(ns)) = (rr.name.as_deref(), rr.namespace.as_deref()) else {
        return Err(ApiError::not_found_path());
    };
    let method = req.method().clone();
    let allowed = if sub == "log" {
        method == Method::GET
    } else {
        method == Method::GET || method == Method::POST
    };
    if !allowed {
        return Err(ApiError::method_not_allowed(method.as_str()));
    }
    let kv = api
        .store
        .get(&rr.res.key(Some(ns), name))
        .await?
        .ok_or_else(|| ApiError::not_found(rr.res, name))?;
    let pod = decode(rr.res, &kv)?;
    let raw_query = req.uri().query().map(str::to_string);
    let query = Query::parse(raw_query.as_deref());
    let container = if sub == "portforward" {
        String::new()
    } else {
        container(&pod, name, query.get("container"))?
    };
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node_name.is_empty() {
        // Like upstream: a pod not yet on a node has an empty log, and nothing to exec in.
        if sub == "log" {
            let mut empty = Response::new(full(Bytes::new()));
            empty
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return Ok(empty);
        }
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let node_res = skiff_api::registry()
        .find("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("the nodes resource is not registered"))?;
    let node_kv = api
        .store
        .get(&node_res.key(None, node_name))
        .await?
        .ok_or_else(|| ApiError::not_found(node_res, node_name))?;
    let node = decode(node_res, &node_kv)?;
    let (host, port) = kubelet_endpoint(&node)
        .ok_or_else(|| ApiError::internal(format!("no address is known for node {node_name}")))?;
    let target = kubelet_target(sub, ns, name, &container, &query, raw_query.as_deref())?;

    // Dial the kubelet.
    let dial = format!("{host}:{port}");
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| {
            ApiError::internal(format!(
                "error dialing backend: dial tcp {dial}: i/o timeout"
            ))
        })?
        .map_err(|e| ApiError::internal(format!("error dialing backend: dial tcp {dial}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let server_name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| ApiError::internal(format!("invalid node address {host:?}: {e}")))?;
    let tls = kubelet
        .tls
        .connect(server_name, tcp)
        .await
        .map_err(|e| ApiError::internal(format!("error dialing backend: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| ApiError::internal(format!("error dialing backend: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "kubelet connection ended with an error");
        }
    });

    let upgrading = req.headers().contains_key(header::UPGRADE);
    let mut out = Request::builder().method(method).uri(&target);
    if let Some(h) = out.headers_mut() {
        if let Ok(v) = HeaderValue::from_str(&dial) {
            h.insert(header::HOST, v);
        }
        for name in PASS_HEADERS {
            for v in req.headers().get_all(name) {
                h.append(name, v.clone());
            }
        }
    }
    let out = out
        .body(Empty::<Bytes>::new())
        .map_err(|e| ApiError::internal(format!("building the kubelet request: {e}")))?;
    let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut req));
    let mut resp = sender
        .send_request(out)
        .await
        .map_err(|e| ApiError::internal(format!("error talking to the kubelet at {dial}: {e}")))?;

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let kubelet_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            match (client_upgrade.await, kubelet_upgrade.await) {
                (Ok(c), Ok(k)) => {
                    let mut c = TokioIo::new(c);
                    let mut k = TokioIo::new(k);
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut k).await;
                }
                (c, k) => tracing::debug!(
                    client = c.is_ok(),
                    kubelet = k.is_ok(),
                    "streaming upgrade failed"
                ),
            }
        });
        let mut answer = Response::new(full(Bytes::new()));
        *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *answer.headers_mut() = resp.headers().clone();
        return Ok(answer);
    }

    let status = resp.status();
    if sub == "log" && !status.is_success() {
        let body = Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let msg = String::from_utf8_lossy(&body).trim().to_string();
        return Err(kubelet_error(status.as_u16(), msg));
    }
    let mut answer_headers = http::HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
        if let Some(v) = resp.headers().get(&name) {
            answer_headers.insert(name, v.clone());
        }
    }
    let frames = BodyStream::new(resp.into_body())
        .take_while(|r| std::future::ready(r.is_ok()))
        .filter_map(|r| std::future::ready(r.ok()))
        .map(Ok::<_, Infallible>);
    let mut answer = Response::new(BodyExt::boxed_unsync(StreamBody::new(frames)));
    *answer.status_mut() = status;
    *answer.headers_mut() = answer_headers;
    Ok(answer)
}

/// A kubelet error answer as a Status with the kubelet's message.
fn kubelet_error(code: u16, msg: String) -> ApiError {
    let reason = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        _ => "InternalError",
    };
    ApiError::new(code, reason, msg)
}

#[cfg(test)]
mod tests;
