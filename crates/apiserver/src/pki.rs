//! Cluster PKI: the CA, the API server's serving certificate and the admin client certificate
//! under `<data_dir>/tls/`, plus the admin kubeconfig and the agent join token.
//!
//! All keys are ECDSA P-256 (generation takes well under a millisecond). The CA lives ten
//! years; leaf certificates one year and are issued again on load when fewer than 90 days
//! remain, when they are missing or unreadable, when they are not signed by the current CA, or
//! (serving certificate) when a requested name is missing. A missing CA is created; a CA that
//! exists but cannot be used is an error (creating a new one would silently invalidate every
//! kubeconfig and agent).

mod certs;
mod der;
mod files;
mod kubeconfig;
mod sans;
#[cfg(test)]
mod tests;
mod token;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use certs::{Ca, Leaf, Usage, create_ca, issue, join, load_ca, load_leaf, save_leaf};

pub use kubeconfig::{kubeconfig_yaml, write_kubeconfig};
pub use sans::{IN_CLUSTER_NAMES, San, desired_sans, host_addresses};
pub use token::{JoinToken, TOKEN_FILE, ca_hash, load_or_create_token};

/// Directory under the data dir holding the PKI.
pub const TLS_DIR: &str = "tls";
/// CA certificate file name (PEM).
pub const CA_CERT: &str = "ca.crt";
/// CA private key file name (PKCS#8 PEM).
pub const CA_KEY: &str = "ca.key";
/// Serving certificate file name (PEM).
pub const SERVING_CERT: &str = "serving.crt";
/// Serving key file name (PKCS#8 PEM).
pub const SERVING_KEY: &str = "serving.key";
/// Admin client certificate file name (PEM).
pub const ADMIN_CERT: &str = "admin.crt";
/// Admin client key file name (PKCS#8 PEM).
pub const ADMIN_KEY: &str = "admin.key";
/// User name of the admin client certificate.
pub const ADMIN_USER: &str = "system:admin";
/// Group of the admin client certificate.
pub const ADMIN_GROUP: &str = "system:masters";

/// Errors of the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored certificate or key cannot be used.
    #[error("{path}: {reason}")]
    Invalid {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating a key or certificate failed.
    #[error("generating {what}: {source}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// The cause.
        #[source]
        source: rcgen::Error,
    },
    /// Re-encoding a certificate with several groups failed.
    #[error("encoding certificate: {0}")]
    Encode(String),
    /// A requested subject alternative name is neither an IP address nor a DNS name.
    #[error("invalid subject alternative name {0:?}: expected an IP address or a DNS name")]
    InvalidSan(String),
    /// A client certificate request has an empty user or group.
    #[error("invalid client certificate identity: {0}")]
    InvalidIdentity(String),
    /// Building the TLS configuration failed.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Building the client certificate verifier failed.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A join token is malformed.
    #[error("invalid join token: {0}")]
    InvalidToken(String),
}

/// The cluster's certificates: CA, API server serving certificate, admin client certificate.
pub struct Pki {
    dir: PathBuf,
    ca: Ca,
    serving: Leaf,
    admin: Leaf,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.dir)
            .field("serving_sans", &self.serving_sans())
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Loads the PKI from `<data_dir>/tls/`, creating what is missing: a CA, a serving
    /// certificate for [`desired_sans`]`(extra_sans)` (localhost, loopback addresses, host name,
    /// interface addresses, the `kubernetes.default...` names, and `extra_sans`, which should
    /// include the `kubernetes` service IP), and an admin client certificate
    /// (`CN=system:admin, O=system:masters`). Directory 0700, files 0600.
    pub fn load_or_create(data_dir: &Path, extra_sans: &[String]) -> Result<Pki, PkiError> {
        let started = Instant::now();
        let dir = data_dir.join(TLS_DIR);
        files::ensure_private_dir(&dir)?;
        let wanted = desired_sans(extra_sans)?;
        let now = SystemTime::now();
        let mut written = Vec::new();

        let ca = match load_ca(&dir, now)? {
            Some(ca) => ca,
            None => {
                tracing::info!(dir = %dir.display(), "creating cluster CA");
                create_ca(&dir, now, &mut written)?
            }
        };

        let serving = match load_leaf(&dir, SERVING_CERT, SERVING_KEY, &ca, now) {
            Ok(leaf) if wanted.is_subset(&leaf.sans) => leaf,
            found => {
                let reason = match found {
                    Ok(leaf) => format!(
                        "missing names {}",
                        join(wanted.difference(&leaf.sans).map(San::to_string))
                    ),
                    Err(reason) => reason,
                };
                tracing::info!(%reason, "issuing API server serving certificate");
                let leaf = issue(&ca, "kube-apiserver", &[], &wanted, Usage::Server, now)?;
                save_leaf(&dir, SERVING_CERT, SERVING_KEY, &leaf, &mut written)?;
                leaf
            }
        };

        let admin = match load_leaf(&dir, ADMIN_CERT, ADMIN_KEY, &ca, now) {
            Ok(leaf) => leaf,
            Err(reason) => {
                tracing::info!(%reason, "issuing admin client certificate");
                let none = BTreeSet::new();
                let leaf = issue(&ca, ADMIN_USER, &[ADMIN_GROUP], &none, Usage::Client, now)?;
                save_leaf(&dir, ADMIN_CERT, ADMIN_KEY, &leaf, &mut written)?;
                leaf
            }
        };

        if !written.is_empty() {
            files::sync_later(written);
        }
        tracing::debug!(elapsed = ?started.elapsed(), "PKI ready");
        Ok(Pki {
            dir,
            ca,
            serving,
            admin,
        })
    }

    /// A TLS server configuration with the serving certificate, ALPN `h2` and `http/1.1`, and
    /// optional client certificates, verified against the cluster CA when presented.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.cert_der.clone())?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.serving.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.serving.cert_der.clone()], key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Issues a client certificate `CN=<user>, O=<group>...` signed by the CA, valid one year;
    /// returns `(certificate PEM, PKCS#8 key PEM)`. Nothing is written to disk.
    pub fn issue_client_cert(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<(String, String), PkiError> {
        if user.is_empty() || user.contains('\0') {
            return Err(PkiError::InvalidIdentity(format!("user name {user:?}")));
        }
        if let Some(bad) = groups.iter().find(|g| g.is_empty() || g.contains('\0')) {
            return Err(PkiError::InvalidIdentity(format!("group {bad:?}")));
        }
        let leaf = issue(
            &self.ca,
            user,
            groups,
            &BTreeSet::new(),
            Usage::Client,
            SystemTime::now(),
        )?;
        Ok((leaf.cert_pem, leaf.key_pem))
    }

    /// Issues a serving certificate `CN=<cn>` for `sans` (IP addresses or DNS names) signed by
    /// the CA, valid one year (for a kubelet's HTTPS API, say); returns `(certificate PEM,
    /// PKCS#8 key PEM)`. Nothing is written to disk.
    pub fn issue_serving_cert(
        &self,
        cn: &str,
        sans: &[String],
    ) -> Result<(String, String), PkiError> {
        if cn.is_empty() || cn.contains('\0') {
            return Err(PkiError::InvalidIdentity(format!("common name {cn:?}")));
        }
        let sans = sans
            .iter()
            .map(|s| s.parse())
            .collect::<Result<BTreeSet<San>, _>>()?;
        let leaf = issue(&self.ca, cn, &[], &sans, Usage::Server, SystemTime::now())?;
        Ok((leaf.cert_pem, leaf.key_pem))
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca.cert_pem
    }

    /// The CA certificate (DER).
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca.cert_der
    }

    /// The admin client certificate (PEM).
    pub fn admin_cert_pem(&self) -> &str {
        &self.admin.cert_pem
    }

    /// The admin client key (PKCS#8 PEM).
    pub fn admin_key_pem(&self) -> &str {
        &self.admin.key_pem
    }

    /// The serving certificate (PEM).
    pub fn serving_cert_pem(&self) -> &str {
        &self.serving.cert_pem
    }

    /// The names in the serving certificate.
    pub fn serving_sans(&self) -> Vec<String> {
        self.serving.sans.iter().map(San::to_string).collect()
    }

    /// The directory the PKI lives in (`<data_dir>/tls`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
