//! TLS of the kubelet API: the server configuration and who may call it.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// The identity in a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// Subject CN: the user name.
    pub common_name: String,
    /// Subject O values: the groups.
    pub organizations: Vec<String>,
}

impl ClientCert {
    /// Read the subject of a DER certificate.
    pub fn from_der(der: &[u8]) -> Option<ClientCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .unwrap_or("")
            .to_string();
        let organizations = subject
            .iter_organization()
            .filter_map(|a| a.as_str().ok())
            .map(str::to_string)
            .collect();
        Some(ClientCert {
            common_name,
            organizations,
        })
    }
}

/// Only the API server (`CN=system:kube-apiserver...`) and admins (`O=system:masters`).
pub fn default_authz(cert: &ClientCert) -> bool {
    cert.common_name.starts_with("system:kube-apiserver")
        || cert.organizations.iter().any(|o| o == "system:masters")
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("reading certificates: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Tls("no certificate in PEM".into()));
    }
    Ok(certs)
}

/// A TLS server configuration: serving certificate and key (PEM), client certificates
/// verified against `ca_pem` when presented, HTTP/1.1 (streaming upgrades need it).
pub fn server_tls_config(
    cert_pem: &str,
    key_pem: &str,
    ca_pem: &str,
) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(ca_pem)? {
        roots
            .add(c)
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| Error::Tls(format!("client verifier: {e}")))?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| Error::Tls(format!("reading key: {e}")))?
        .ok_or_else(|| Error::Tls("no private key in PEM".into()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert_pem)?, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_apiserver_and_masters_are_allowed() {
        let c = |cn: &str, o: &[&str]| ClientCert {
            common_name: cn.into(),
            organizations: o.iter().map(|s| s.to_string()).collect(),
        };
        assert!(default_authz(&c("system:kube-apiserver", &[])));
        assert!(default_authz(&c(
            "system:kube-apiserver-kubelet-client",
            &[]
        )));
        assert!(default_authz(&c("admin", &["system:masters"])));
        assert!(!default_authz(&c("system:node:n1", &["system:nodes"])));
        assert!(!default_authz(&c("bob", &[])));
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(server_tls_config("nope", "nope", "nope").is_err());
        assert!(ClientCert::from_der(b"not a certificate").is_none());
    }
}
