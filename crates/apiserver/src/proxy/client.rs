//! The API server's TLS client for kubelets: a client certificate of the cluster CA, and
//! kubelet serving certificates verified against the CA.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::pki::{Pki, PkiError};

/// User name of the API server's kubelet client certificate.
pub const KUBELET_CLIENT_USER: &str = "system:kube-apiserver";
/// Group of the API server's kubelet client certificate.
pub const KUBELET_CLIENT_GROUP: &str = "system:masters";

/// Connects to kubelets.
#[derive(Clone)]
pub struct KubeletClient {
    pub(crate) tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for KubeletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeletClient").finish_non_exhaustive()
    }
}

/// Accepts certificates signed by the cluster CA whatever names they carry: a kubelet's
/// serving certificate need not name the address the API server dials (nodes renumber).
#[derive(Debug)]
struct CaOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for CaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Encode(format!("kubelet client certificate: {e}")))
}

impl KubeletClient {
    /// Issue the API server's kubelet client certificate from the CA and build the client.
    pub fn new(pki: &Pki) -> Result<KubeletClient, PkiError> {
        let (cert_pem, key_pem) =
            pki.issue_client_cert(KUBELET_CLIENT_USER, &[KUBELET_CLIENT_GROUP])?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der().clone())?;
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| PkiError::Encode(format!("kubelet server verifier: {e}")))?;
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|e| PkiError::Encode(format!("kubelet client key: {e}")))?
            .ok_or_else(|| PkiError::Encode("kubelet client key: no key".into()))?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(CaOnly(verifier)))
            .with_client_auth_cert(pem_certs(&cert_pem)?, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(KubeletClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }
}
