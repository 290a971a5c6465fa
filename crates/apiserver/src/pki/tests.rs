use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::certs::{cert_from_pem, cert_sans, parse_cert};
use super::*;
use crate::authn::{AUTHENTICATED_GROUP, Authenticator, UserInfo};

fn extra() -> Vec<String> {
    vec!["10.43.0.1".to_string(), "api.example.com".to_string()]
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn first_start_creates_private_files_and_restart_reuses_them() {
    let data = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let pki = Pki::load_or_create(data.path(), &extra()).unwrap();
    let first = t0.elapsed();
    let tls = data.path().join(TLS_DIR);
    assert_eq!(pki.dir(), tls);
    assert_eq!(mode(&tls), 0o700);
    for name in [
        CA_CERT,
        CA_KEY,
        SERVING_CERT,
        SERVING_KEY,
        ADMIN_CERT,
        ADMIN_KEY,
    ] {
        assert_eq!(mode(&tls.join(name)), 0o600, "{name}");
    }
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&tls).unwrap().count(), 6);
    let ca = read(&tls.join(CA_CERT));
    let serving = read(&tls.join(SERVING_CERT));
    let admin = read(&tls.join(ADMIN_CERT));
    assert_eq!(pki.ca_pem().as_bytes(), ca.as_slice());

    let t1 = Instant::now();
    let again = Pki::load_or_create(data.path(), &extra()).unwrap();
    let restart = t1.elapsed();
    eprintln!("load_or_create: first start {first:?}, restart {restart:?}");
    assert_eq!(again.ca_pem(), pki.ca_pem());
    assert_eq!(read(&tls.join(CA_CERT)), ca);
    assert_eq!(read(&tls.join(SERVING_CERT)), serving);
    assert_eq!(read(&tls.join(ADMIN_CERT)), admin);
    assert_eq!(again.admin_key_pem(), pki.admin_key_pem());
}

#[test]
fn serving_cert_names() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &extra()).unwrap();
    let sans = pki.serving_sans();
    for want in [
        "localhost",
        "127.0.0.1",
        "::1",
        "10.43.0.1",
        "api.example.com",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ] {
        assert!(
            sans.iter().any(|s| s == want),
            "{want} missing from {sans:?}"
        );
    }
    for ip in host_addresses() {
        assert!(sans.contains(&ip.to_string()), "{ip} missing from {sans:?}");
    }
    // What the certificate itself carries, not only what we remember.
    let der = cert_from_pem(pki.serving_cert_pem()).unwrap();
    let cert = parse_cert(&der).unwrap();
    let in_cert: Vec<String> = cert_sans(&cert).iter().map(San::to_string).collect();
    assert_eq!(in_cert, sans);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
}

#[test]
fn new_san_reissues_only_the_serving_cert() {
    let data = tempfile::tempdir().unwrap();
    let tls = data.path().join(TLS_DIR);
    Pki::load_or_create(data.path(), &extra()).unwrap();
    let ca = read(&tls.join(CA_CERT));
    let admin = read(&tls.join(ADMIN_CERT));
    let serving = read(&tls.join(SERVING_CERT));

    let mut more = extra();
    more.push("192.0.2.200".to_string());
    let pki = Pki::load_or_create(data.path(), &more).unwrap();
    assert!(pki.serving_sans().contains(&"192.0.2.200".to_string()));
    assert_ne!(read(&tls.join(SERVING_CERT)), serving);
    assert_eq!(read(&tls.join(CA_CERT)), ca);
    assert_eq!(read(&tls.join(ADMIN_CERT)), admin);

    // Fewer names than the certificate has: kept as is.
    let serving = read(&tls.join(SERVING_CERT));
    Pki::load_or_create(data.path(), &[]).unwrap();
    assert_eq!(read(&tls.join(SERVING_CERT)), serving);
}

#[test]
fn broken_leaf_is_reissued_broken_ca_is_an_error() {
    let data = tempfile::tempdir().unwrap();
    let tls = data.path().join(TLS_DIR);
    Pki::load_or_create(data.path(), &[]).unwrap();
    std::fs::write(tls.join(ADMIN_CERT), "garbage").unwrap();
    std::fs::remove_file(tls.join(SERVING_KEY)).unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    assert!(
        pki.admin_cert_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(tls.join(SERVING_KEY).exists());

    // A leaf from another CA is replaced.
    let other = tempfile::tempdir().unwrap();
    Pki::load_or_create(other.path(), &[]).unwrap();
    let foreign = read(&other.path().join(TLS_DIR).join(ADMIN_CERT));
    std::fs::write(tls.join(ADMIN_CERT), &foreign).unwrap();
    std::fs::copy(
        other.path().join(TLS_DIR).join(ADMIN_KEY),
        tls.join(ADMIN_KEY),
    )
    .unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    assert_ne!(pki.admin_cert_pem().as_bytes(), foreign.as_slice());

    std::fs::write(tls.join(CA_CERT), "not a certificate").unwrap();
    let err = Pki::load_or_create(data.path(), &[]).unwrap_err();
    assert!(matches!(err, PkiError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains(CA_CERT), "{err}");

    std::fs::remove_file(tls.join(CA_CERT)).unwrap();
    let err = Pki::load_or_create(data.path(), &[]).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn invalid_extra_san_is_an_error() {
    let data = tempfile::tempdir().unwrap();
    for bad in ["", "bad name", "-x.example", "a..b", "é.example"] {
        let err = Pki::load_or_create(data.path(), &[bad.to_string()]).unwrap_err();
        assert!(matches!(err, PkiError::InvalidSan(_)), "{bad:?}: {err}");
    }
    // Brackets around IPv6 and upper case names are accepted.
    let pki =
        Pki::load_or_create(data.path(), &["[fd00::1]".into(), "API.Example".into()]).unwrap();
    let sans = pki.serving_sans();
    assert!(sans.contains(&"fd00::1".to_string()));
    assert!(sans.contains(&"api.example".to_string()));
}

#[test]
fn proc_net_parsing() {
    let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 127.0.0.0\n        /8 host LOCAL\n\
                |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\n\
                |-- 192.0.2.255\n        /32 link BROADCAST\n     |-- 169.254.1.1\n        /32 host LOCAL\n\
                Local:\n     |-- 192.0.2.2\n        /32 host LOCAL\n";
    assert_eq!(
        sans::parse_fib_trie(trie),
        vec![
            std::net::Ipv4Addr::new(127, 0, 0, 1),
            std::net::Ipv4Addr::new(192, 0, 2, 2)
        ]
    );
    let v6 = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
              00000000000000000000000000000001 01 80 10 80       lo\n\
              fd000000000000000000000000000002 04 40 00 82     eth0\n\
              garbage\n";
    assert_eq!(
        sans::parse_if_inet6(v6),
        vec![
            "::1".parse::<std::net::Ipv6Addr>().unwrap(),
            "fd00::2".parse().unwrap()
        ]
    );
}

/// A client configuration trusting `ca_pem`, presenting `identity` if given, offering h2.
fn client_config(ca_pem: &str, identity: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Runs a TLS handshake in memory; returns the server side's view: the peer's leaf DER (if
/// any) and the negotiated ALPN protocol, or the server's handshake error.
async fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    server_name: &str,
) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), String> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    let server_side = async move {
        let stream = TlsAcceptor::from(server)
            .accept(server_io)
            .await
            .map_err(|e| e.to_string())?;
        let (_, conn) = stream.get_ref();
        let leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec());
        Ok::<_, String>((leaf, conn.alpn_protocol().map(|p| p.to_vec())))
    };
    let client_side = async move {
        let stream = TlsConnector::from(client).connect(name, client_io).await;
        // Keep the connection open until the server side is done.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        stream.map(|_| ()).map_err(|e| e.to_string())
    };
    let (server_result, client_result) = tokio::join!(server_side, client_side);
    let server_view = server_result?;
    client_result.map_err(|e| format!("client: {e}"))?;
    Ok(server_view)
}

#[tokio::test]
async fn handshake_with_admin_cert_authenticates_system_admin() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &extra()).unwrap();
    let client = client_config(
        pki.ca_pem(),
        Some((pki.admin_cert_pem(), pki.admin_key_pem())),
    );
    for name in [
        "localhost",
        "127.0.0.1",
        "kubernetes.default.svc",
        "10.43.0.1",
    ] {
        let (leaf, alpn) = handshake(pki.server_config().unwrap(), client.clone(), name)
            .await
            .unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        let authn = Authenticator::new(None).unwrap();
        let user = authn.authenticate(leaf.as_deref(), None);
        assert_eq!(
            user,
            Some(UserInfo {
                name: ADMIN_USER.to_string(),
                groups: vec![ADMIN_GROUP.to_string(), AUTHENTICATED_GROUP.to_string()],
            }),
            "{name}"
        );
    }
}

#[tokio::test]
async fn handshake_without_client_cert_is_anonymous() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let (leaf, _) = handshake(
        pki.server_config().unwrap(),
        client_config(pki.ca_pem(), None),
        "localhost",
    )
    .await
    .unwrap();
    assert!(leaf.is_none());
    assert_eq!(Authenticator::default().authenticate(None, None), None);
}

#[tokio::test]
async fn http11_only_client_gets_http11() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let mut client = (*client_config(pki.ca_pem(), None)).clone();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (_, alpn) = handshake(pki.server_config().unwrap(), Arc::new(client), "localhost")
        .await
        .unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn cert_from_another_ca_is_rejected() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::load_or_create(other_dir.path(), &[]).unwrap();
    let client = client_config(
        pki.ca_pem(),
        Some((other.admin_cert_pem(), other.admin_key_pem())),
    );
    let err = handshake(pki.server_config().unwrap(), client, "localhost")
        .await
        .unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // And a client not trusting our CA refuses the server.
    let client = client_config(other.ca_pem(), None);
    let err = handshake(pki.server_config().unwrap(), client, "localhost")
        .await
        .unwrap_err();
    assert!(!err.is_empty());
}

#[tokio::test]
async fn issued_client_certs_carry_user_and_groups() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    for groups in [
        vec![],
        vec!["system:nodes"],
        vec![
            "system:nodes",
            "dev",
            "a-very-long-group-name-to-push-lengths-past-127-bytes-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ],
    ] {
        let (cert, key) = pki.issue_client_cert("system:node:n1", &groups).unwrap();
        let client = client_config(pki.ca_pem(), Some((&cert, &key)));
        let (leaf, _) = handshake(pki.server_config().unwrap(), client, "localhost")
            .await
            .unwrap();
        let user = Authenticator::default()
            .authenticate(leaf.as_deref(), None)
            .unwrap();
        let mut want: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        want.push(AUTHENTICATED_GROUP.to_string());
        assert_eq!(user.name, "system:node:n1");
        assert_eq!(user.groups, want);
    }
    assert!(matches!(
        pki.issue_client_cert("", &[]),
        Err(PkiError::InvalidIdentity(_))
    ));
    assert!(matches!(
        pki.issue_client_cert("u", &["ok", ""]),
        Err(PkiError::InvalidIdentity(_))
    ));
}

#[tokio::test]
async fn issued_serving_cert_is_trusted_for_its_names() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let (cert, key) = pki
        .issue_serving_cert("node-1", &["node-1".into(), "192.0.2.7".into()])
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    let server = Arc::new(server);
    let client = client_config(pki.ca_pem(), None);
    for name in ["node-1", "192.0.2.7"] {
        handshake(server.clone(), client.clone(), name)
            .await
            .unwrap();
    }
    assert!(handshake(server, client, "localhost").await.is_err());
    assert!(matches!(
        pki.issue_serving_cert("x", &["not valid".into()]),
        Err(PkiError::InvalidSan(_))
    ));
}

#[test]
fn pki_and_authenticator_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pki>();
    assert_send_sync::<Authenticator>();
}

#[test]
fn kubeconfig_is_yaml_with_embedded_data() {
    let data = tempfile::tempdir().unwrap();
    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let path = data.path().join("sub").join("kubeconfig.yaml");
    write_kubeconfig(&path, "https://127.0.0.1:6443", &pki).unwrap();
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(doc["apiVersion"], "v1");
    assert_eq!(doc["kind"], "Config");
    assert_eq!(doc["current-context"], "default");
    let cluster = &doc["clusters"][0];
    assert_eq!(cluster["name"], "default");
    assert_eq!(cluster["cluster"]["server"], "https://127.0.0.1:6443");
    let context = &doc["contexts"][0];
    assert_eq!(context["name"], "default");
    assert_eq!(context["context"]["cluster"], "default");
    assert_eq!(context["context"]["user"], "default");
    let user = &doc["users"][0];
    assert_eq!(user["name"], "default");
    let decode = |v: &serde_json::Value| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        decode(&cluster["cluster"]["certificate-authority-data"]),
        pki.ca_pem()
    );
    assert_eq!(
        decode(&user["user"]["client-certificate-data"]),
        pki.admin_cert_pem()
    );
    assert_eq!(
        decode(&user["user"]["client-key-data"]),
        pki.admin_key_pem()
    );

    // Overwriting keeps 0600 even if the file was opened up meanwhile.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_kubeconfig(&path, "https://[::1]:6443", &pki).unwrap();
    assert_eq!(mode(&path), 0o600);
    let doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        doc["clusters"][0]["cluster"]["server"],
        "https://[::1]:6443"
    );
}

#[test]
fn join_token_created_once_and_pins_the_ca() {
    let data = tempfile::tempdir().unwrap();
    let err = load_or_create_token(data.path()).unwrap_err();
    assert!(err.to_string().contains("CA"), "{err}");

    let pki = Pki::load_or_create(data.path(), &[]).unwrap();
    let t0 = Instant::now();
    let token = load_or_create_token(data.path()).unwrap();
    eprintln!("load_or_create_token: {:?}", t0.elapsed());
    let path = data.path().join(TOKEN_FILE);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{token}\n")
    );
    let parsed = JoinToken::parse(&token).unwrap();
    assert!(token.starts_with("K10"));
    assert_eq!(parsed.username, "server");
    assert_eq!(parsed.password.len(), 32);
    assert!(parsed.matches_ca(pki.ca_pem()));
    assert_eq!(parsed.ca_hash, ca_hash(pki.ca_pem()));
    assert_eq!(parsed.to_string(), token);
    assert_eq!(load_or_create_token(data.path()).unwrap(), token);

    // A new CA keeps the password, updates the hash.
    std::fs::remove_dir_all(data.path().join(TLS_DIR)).unwrap();
    let pki2 = Pki::load_or_create(data.path(), &[]).unwrap();
    let token2 = JoinToken::parse(&load_or_create_token(data.path()).unwrap()).unwrap();
    assert_eq!(token2.password, parsed.password);
    assert!(token2.matches_ca(pki2.ca_pem()));
    assert!(!token2.matches_ca(pki.ca_pem()));

    // A bare password becomes a full token; junk is an error.
    std::fs::write(&path, "s3cret\n").unwrap();
    let token3 = JoinToken::parse(&load_or_create_token(data.path()).unwrap()).unwrap();
    assert_eq!(token3.password, "s3cret");
    std::fs::write(&path, "two words").unwrap();
    assert!(load_or_create_token(data.path()).is_err());
}

#[test]
fn join_token_parse_errors() {
    let hash = "a".repeat(64);
    for bad in [
        "".to_string(),
        "K10abc::server:x".to_string(),
        format!("K10{hash}server:x"),
        format!("K10{hash}::serverx"),
        format!("K10{hash}::server:"),
        format!("X10{hash}::server:x"),
    ] {
        assert!(
            matches!(JoinToken::parse(&bad), Err(PkiError::InvalidToken(_))),
            "{bad}"
        );
    }
    let ok = JoinToken::parse(&format!("K10{}::node:pw:with:colons", hash.to_uppercase())).unwrap();
    assert_eq!(ok.ca_hash, hash);
    assert_eq!(ok.username, "node");
    assert_eq!(ok.password, "pw:with:colons");
}
