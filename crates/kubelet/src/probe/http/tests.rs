use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;

/// Answers 500 for paths starting with `/bad`, 200 otherwise.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
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
    let _ = s.shutdown().await;
}

/// An HTTPS server with a self-signed certificate for a name the probe never asks for.
async fn https_server() -> u16 {
    let key = rcgen::generate_simple_self_signed(vec!["not-this-host.example".to_string()])
        .expect("self-signed certificate");
    let cert = key.cert.der().clone();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], der)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    answer(tls).await;
                }
            });
        }
    });
    port
}

async fn http_server() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(answer(s));
        }
    });
    port
}

fn get(scheme: Option<&str>, port: u16, path: &str) -> HTTPGetAction {
    HTTPGetAction {
        scheme: scheme.map(str::to_string),
        path: Some(path.into()),
        port: IntOrString::Int(port as i32),
        ..Default::default()
    }
}

fn ep() -> Endpoint {
    Endpoint {
        pod_ip: "127.0.0.1".parse().unwrap(),
    }
}

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn https_probe_accepts_an_unverifiable_certificate() {
    let port = https_server().await;
    let c = Container::default();
    assert_eq!(
        run_http(&get(Some("HTTPS"), port, "/healthz"), &c, ep(), T).await,
        Outcome::Success
    );
    assert_eq!(
        run_http(&get(Some("HTTPS"), port, "/bad"), &c, ep(), T).await,
        Outcome::Failure("HTTP probe failed with statuscode: 500".into()),
        "the status code still decides"
    );
}

#[tokio::test]
async fn scheme_must_match_the_server() {
    let tls_port = https_server().await;
    let plain_port = http_server().await;
    let c = Container::default();
    assert_eq!(
        run_http(&get(None, plain_port, "/"), &c, ep(), T).await,
        Outcome::Success
    );
    match run_http(&get(Some("HTTPS"), plain_port, "/"), &c, ep(), T).await {
        Outcome::Failure(msg) => assert!(
            msg.starts_with(&format!("Get \"https://127.0.0.1:{plain_port}/\": ")),
            "{msg}"
        ),
        Outcome::Success => panic!("HTTPS to a plain HTTP server cannot succeed"),
    }
    match run_http(&get(Some("HTTP"), tls_port, "/"), &c, ep(), T).await {
        Outcome::Failure(msg) => assert!(
            msg.starts_with(&format!("Get \"http://127.0.0.1:{tls_port}/\": ")),
            "{msg}"
        ),
        Outcome::Success => panic!("plain HTTP to a TLS server cannot succeed"),
    }
}

#[tokio::test]
async fn unknown_scheme_fails_without_connecting() {
    let c = Container::default();
    assert_eq!(
        run_http(&get(Some("FTP"), 1, "/"), &c, ep(), T).await,
        Outcome::Failure("unsupported scheme: \"ftp\"".into())
    );
}
