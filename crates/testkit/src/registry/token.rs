//! A Bearer-token front for a registry: the WWW-Authenticate realm/service/scope dance.
//!
//! Requests without a token it issued get `401` with
//! `WWW-Authenticate: Bearer realm="http://ADDR/token",service="testkit-registry",scope=...`;
//! `GET /token?service=..&scope=..` hands out a token (checking basic credentials when
//! configured); requests carrying a valid token are forwarded to the upstream registry.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;

use super::http::{Request, read_request};

/// The service name the token server announces.
pub const SERVICE: &str = "testkit-registry";

struct Shared {
    addr: String,
    upstream: String,
    basic: Option<String>,
    tokens: Mutex<Vec<String>>,
    issued: AtomicUsize,
    scopes: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A running token front; stops on drop.
pub struct TokenServer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Fronts `upstream` (`127.0.0.1:PORT`). With `creds`, `/token` requires them (basic auth).
    pub fn start(upstream: &str, creds: Option<(&str, &str)>) -> anyhow::Result<TokenServer> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding token server")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?.to_string();
        let shared = Arc::new(Shared {
            addr,
            upstream: upstream.to_string(),
            basic: creds
                .map(|(u, p)| base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))),
            tokens: Mutex::new(Vec::new()),
            issued: AtomicUsize::new(0),
            scopes: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || {
                            let _ = serve(&s, stream);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(TokenServer {
            shared,
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:PORT` to pull from.
    pub fn addr(&self) -> String {
        self.shared.addr.clone()
    }

    /// How many tokens were handed out.
    pub fn tokens_issued(&self) -> usize {
        self.shared.issued.load(Ordering::Relaxed)
    }

    /// The scopes tokens were asked for.
    pub fn scopes(&self) -> Vec<String> {
        self.shared
            .scopes
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn respond(
    mut stream: &TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> anyhow::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    Ok(())
}

fn query_param(path: &str, key: &str) -> Option<String> {
    let (_, q) = path.split_once('?')?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(s: &Shared, stream: TcpStream) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let req = read_request(&mut reader)?;
    if req.path.starts_with("/token") {
        return issue_token(s, &stream, &req);
    }
    let authorized = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| {
            s.tokens
                .lock()
                .map(|g| g.iter().any(|x| x == t))
                .unwrap_or(false)
        });
    if !authorized {
        let mut challenge = format!(
            r#"Bearer realm="http://{}/token",service="{SERVICE}""#,
            s.addr
        );
        if let Some(name) = repo_name(&req.path) {
            challenge.push_str(&format!(r#",scope="repository:{name}:pull""#));
        }
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        return respond(
            &stream,
            "401 Unauthorized",
            &[
                ("WWW-Authenticate", challenge),
                ("Content-Type", "application/json".into()),
            ],
            body,
        );
    }
    proxy(s, stream, &req)
}

/// `/v2/<name>/(manifests|blobs|tags)/...` -> `<name>`.
fn repo_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    for marker in ["/manifests/", "/blobs/", "/tags/"] {
        if let Some(i) = rest.find(marker) {
            return Some(rest[..i].to_string());
        }
    }
    None
}

fn issue_token(s: &Shared, stream: &TcpStream, req: &Request) -> anyhow::Result<()> {
    if let Some(expected) = &s.basic {
        let given = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "));
        if given != Some(expected.as_str()) {
            return respond(
                stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="testkit-token""#.into())],
                b"",
            );
        }
    }
    if query_param(&req.path, "service").as_deref() != Some(SERVICE) {
        return respond(stream, "400 Bad Request", &[], b"wrong or missing service");
    }
    let scope = query_param(&req.path, "scope").unwrap_or_default();
    let n = s.issued.fetch_add(1, Ordering::Relaxed);
    let token = format!("testkit-token-{n}-{}", std::process::id());
    if let Ok(mut g) = s.tokens.lock() {
        g.push(token.clone());
    }
    if let Ok(mut g) = s.scopes.lock() {
        g.push(scope);
    }
    let body = format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#);
    respond(
        stream,
        "200 OK",
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
    )
}

fn proxy(s: &Shared, mut client: TcpStream, req: &Request) -> anyhow::Result<()> {
    let mut up = TcpStream::connect(&s.upstream)?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        req.method, req.path, s.upstream
    );
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("accept") || k.eq_ignore_ascii_case("range") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    up.write_all(head.as_bytes())?;
    std::io::copy(&mut up, &mut client)?;
    Ok(())
}
