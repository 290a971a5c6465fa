//! HTTP Upgrade handling: which protocol a request asks for, SPDY protocol negotiation, and
//! the 101 answer.

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use hyper_util::rt::TokioIo;

use super::text_error;

/// The upgraded connection of a SPDY request.
pub(crate) type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// The transport a streaming request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    WebSocket,
    Spdy,
    None,
}

pub(crate) fn kind(req: &Request) -> Kind {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if upgrade.eq_ignore_ascii_case("websocket") {
        Kind::WebSocket
    } else if upgrade
        .split(',')
        .any(|p| p.trim().eq_ignore_ascii_case(crate::spdy::UPGRADE))
    {
        Kind::Spdy
    } else {
        Kind::None
    }
}

/// The 400 answer to a streaming request that is not an upgrade.
pub(crate) fn upgrade_required() -> Response {
    text_error(400, "Upgrade request required")
}

/// Pick the first of `supported` (server preference) that the client offers in
/// `X-Stream-Protocol-Version`; `Ok(None)` when the client offers none; the message of a
/// 403 answer when nothing matches.
pub(crate) fn negotiate(req: &Request, supported: &[&str]) -> Result<Option<String>, String> {
    let offered: Vec<String> = req
        .headers()
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if offered.is_empty() {
        return Ok(None);
    }
    match supported.iter().find(|s| offered.iter().any(|o| o == *s)) {
        Some(p) => Ok(Some(p.to_string())),
        None => Err(format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports {supported:?}"
        )),
    }
}

/// Answer 101 for SPDY/3.1 and run `f` on the upgraded connection.
pub(crate) fn spdy<F, Fut>(mut req: Request, protocol: Option<String>, f: F) -> Response
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(on) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return text_error(
            500,
            "unable to upgrade: connection does not support upgrades",
        );
    };
    tokio::spawn(async move {
        match on.await {
            Ok(up) => f(TokioIo::new(up)).await,
            Err(e) => tracing::debug!(error = %e, "SPDY upgrade failed"),
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::UPGRADE,
        HeaderValue::from_static(crate::spdy::UPGRADE),
    );
    if let Some(p) = protocol
        && let Ok(v) = HeaderValue::from_str(&p)
    {
        h.insert("x-stream-protocol-version", v);
    }
    resp
}
