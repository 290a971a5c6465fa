//! Who may call the kubelet API: nobody without a client certificate of the cluster CA,
//! not an ordinary user, but the API server's identity and admins (`system:masters`).

mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use skiff_apiserver::pki::Pki;
use skiff_streaming::server::serve_on;
use skiff_streaming::{default_authz, router, server_tls_config};
use tokio::net::TcpListener;

use support::fake::FakeBackend;

/// HTTP status and body of `curl` against `url` with optional client cert files.
fn curl(url: &str, ca: &str, cert: Option<(&str, &str)>) -> (String, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "--cacert", ca, "-w", "\n%{http_code}", url]);
    if let Some((crt, key)) = cert {
        c.args(["--cert", crt, "--key", key]);
    }
    let out = c.output().expect("running curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.to_string(), body.to_string())
}

#[test]
fn only_the_api_server_and_admins_get_in() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::load_or_create(dir.path(), &[])?;
    let (cert, key) = pki.issue_serving_cert("kubelet", &["127.0.0.1".to_string()])?;
    let tls = server_tls_config(&cert, &key, pki.ca_pem())?;
    let rt = tokio::runtime::Runtime::new()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "2024-01-01T00:00:01Z stdout F hello\n")?;
    let backend = Arc::new(FakeBackend {
        log: log.clone(),
        previous_log: log,
        running: Arc::new(AtomicBool::new(false)),
    });
    rt.spawn(serve_on(listener, tls, router(backend), default_authz));

    let write = |name: &str, text: &str| -> anyhow::Result<String> {
        let p = dir.path().join(name);
        std::fs::write(&p, text)?;
        Ok(p.display().to_string())
    };
    let ca = write("ca.crt", pki.ca_pem())?;
    let url = format!("https://127.0.0.1:{port}/containerLogs/default/p/app");

    let (code, body) = curl(&url, &ca, None);
    assert_eq!((code.as_str(), body.trim()), ("401", "Unauthorized"));

    let (c, k) = pki.issue_client_cert("bob", &["developers"])?;
    let (c, k) = (write("bob.crt", &c)?, write("bob.key", &k)?);
    let (code, body) = curl(&url, &ca, Some((&c, &k)));
    assert_eq!(code, "403", "{body}");
    assert!(body.contains("user=bob"), "{body}");

    let (c, k) = pki.issue_client_cert("system:kube-apiserver", &[])?;
    let (c, k) = (write("apiserver.crt", &c)?, write("apiserver.key", &k)?);
    assert_eq!(
        curl(&url, &ca, Some((&c, &k))),
        ("200".into(), "hello\n".into())
    );

    let admin = (
        write("admin.crt", pki.admin_cert_pem())?,
        write("admin.key", pki.admin_key_pem())?,
    );
    let (code, body) = curl(&url, &ca, Some((&admin.0, &admin.1)));
    assert_eq!((code.as_str(), body.as_str()), ("200", "hello\n"));

    // Bad input is a clear 400/404, never a crash.
    let bad = format!("{url}?tailLines=-3");
    let (code, body) = curl(&bad, &ca, Some((&admin.0, &admin.1)));
    assert_eq!(code, "400", "{body}");
    let missing = format!("https://127.0.0.1:{port}/containerLogs/default/p/nope");
    assert_eq!(curl(&missing, &ca, Some((&admin.0, &admin.1))).0, "404");
    let exec = format!("https://127.0.0.1:{port}/exec/default/p/app?command=ls&output=1");
    let (code, body) = curl(&exec, &ca, Some((&admin.0, &admin.1)));
    assert_eq!(
        (code.as_str(), body.trim()),
        ("400", "Upgrade request required")
    );
    Ok(())
}
