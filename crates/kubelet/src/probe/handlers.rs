//! Probe and hook handlers: exec in the container, TCP connect (HTTP GET is in `http`).

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ExecAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use skiff_runtime::RuntimeService;

use super::http::run_http;
use super::{Endpoint, Outcome};

pub(super) fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid port {p}")),
        IntOrString::String(name) => {
            if let Ok(p) = name.parse::<u16>() {
                return Ok(p);
            }
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name))
        }
    }
}

/// Run an exec handler in the container.
pub async fn run_exec(
    rt: &dyn RuntimeService,
    id: &str,
    action: &ExecAction,
    timeout: Duration,
) -> Outcome {
    let cmd = action.command.clone().unwrap_or_default();
    match rt.exec_sync(id, cmd.clone(), timeout).await {
        Ok(r) => {
            let mut out = r.stdout;
            out.extend_from_slice(&r.stderr);
            let text = String::from_utf8_lossy(&out).trim_end().to_string();
            if r.exit_code == 0 {
                Outcome::Success
            } else {
                Outcome::Failure(text)
            }
        }
        Err(skiff_runtime::Error::Timeout(_)) => {
            Outcome::Failure(format!("command {:?} timed out", cmd.join(" ")))
        }
        Err(e) => Outcome::Failure(e.to_string()),
    }
}

pub(super) fn dial_error(addr: &SocketAddr, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "i/o timeout".to_string(),
        _ => e.to_string(),
    };
    format!("dial tcp {addr}: {what}")
}

/// Open a TCP connection within `timeout`.
pub async fn run_tcp(
    action: &TCPSocketAction,
    container: &Container,
    ep: Endpoint,
    timeout: Duration,
) -> Outcome {
    let port = match resolve_port(&action.port, container) {
        Ok(p) => p,
        Err(e) => return Outcome::Failure(e),
    };
    let ip = action
        .host
        .as_deref()
        .and_then(|h| h.parse().ok())
        .unwrap_or(ep.pod_ip);
    let addr = SocketAddr::new(ip, port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome::Success,
        Ok(Err(e)) => Outcome::Failure(dial_error(&addr, &e)),
        Err(_) => Outcome::Failure(format!("dial tcp {addr}: i/o timeout")),
    }
}

/// Run a probe's handler once.
pub async fn run_probe(
    rt: &dyn RuntimeService,
    id: &str,
    probe: &Probe,
    container: &Container,
    ep: Endpoint,
) -> Outcome {
    let timeout = Duration::from_secs(probe.timeout_seconds.unwrap_or(1).max(1) as u64);
    if let Some(e) = &probe.exec {
        run_exec(rt, id, e, timeout).await
    } else if let Some(h) = &probe.http_get {
        run_http(h, container, ep, timeout).await
    } else if let Some(t) = &probe.tcp_socket {
        run_tcp(t, container, ep, timeout).await
    } else {
        Outcome::Failure("probe has no handler Skiff supports".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::HTTPGetAction;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_and_http_handlers() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let code = if req.starts_with("GET /bad") {
                    500
                } else {
                    200
                };
                let _ = s
                    .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let c = Container {
            name: "c".into(),
            ports: Some(vec![k8s_openapi::api::core::v1::ContainerPort {
                name: Some("web".into()),
                container_port: port as i32,
                ..Default::default()
            }]),
            ..Default::default()
        };
        let ep = Endpoint {
            pod_ip: "127.0.0.1".parse().unwrap(),
        };
        let t = Duration::from_secs(1);
        let tcp = TCPSocketAction {
            port: IntOrString::String("web".into()),
            host: None,
        };
        assert_eq!(run_tcp(&tcp, &c, ep, t).await, Outcome::Success);
        let http = |path: &str| HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port as i32),
            ..Default::default()
        };
        assert_eq!(run_http(&http("/ok"), &c, ep, t).await, Outcome::Success);
        assert_eq!(
            run_http(&http("/bad"), &c, ep, t).await,
            Outcome::Failure("HTTP probe failed with statuscode: 500".into())
        );
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let tcp = TCPSocketAction {
            port: IntOrString::Int(closed as i32),
            host: None,
        };
        assert_eq!(
            run_tcp(&tcp, &c, ep, t).await,
            Outcome::Failure(format!(
                "dial tcp 127.0.0.1:{closed}: connect: connection refused"
            ))
        );
    }
}
