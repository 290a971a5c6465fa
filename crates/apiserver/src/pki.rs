//! Cluster PKI: the CA, the API server's serving certificate and the admin client certificate
//! under `<data_dir>/tls/`, plus the admin kubeconfig and the agent join token.
//!
//! All keys are ECDSA P-256 (generation takes well under a millisecond). The CA lives ten
//! years; leaf certificates one year and are issued again on load when fewer than 90 days
//! remain, when they are missing or unreadable, when they are not signed by the current CA, or
//! (serving certificate) when a requested name is missing. A missing CA is created; a CA that
//! exists but cannot be used is an error (creating a new one would silently invalidate every
//! kubeconfig and agent).

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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

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

const DAY: u64 = 24 * 60 * 60;
const CA_VALIDITY: Duration = Duration::from_secs(3650 * DAY);
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * DAY);
const RENEW_BEFORE: Duration = Duration::from_secs(90 * DAY);
/// Certificates start this long before their creation, to tolerate clock skew between nodes.
const BACKDATE: Duration = Duration::from_secs(60 * 60);

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

/// The cluster CA.
struct Ca {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key: KeyPair,
}

/// A certificate issued by the CA, with its key.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    sans: BTreeSet<San>,
}

/// What a leaf certificate is for.
#[derive(Clone, Copy)]
enum Usage {
    Server,
    Client,
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

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// PEM text of one DER object.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| format!("cannot parse certificate: {e}"))
}

fn cert_from_pem(pem: &str) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("no PEM certificate: {e}"))
}

/// Whether `key` is the private half of `cert`'s public key.
fn key_matches(key: &KeyPair, cert: &X509Certificate<'_>) -> bool {
    key.public_key_raw() == cert.public_key().subject_public_key.data.as_ref()
}

fn load_ca(dir: &Path, now: SystemTime) -> Result<Option<Ca>, PkiError> {
    let cert_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    let invalid = |path: &Path, reason: String| PkiError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    match (
        files::read_optional(&cert_path)?,
        files::read_optional(&key_path)?,
    ) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            &key_path,
            "missing, while the CA certificate exists".into(),
        )),
        (None, Some(_)) => Err(invalid(
            &cert_path,
            "missing, while the CA key exists".into(),
        )),
        (Some(cert_pem), Some(key_pem)) => {
            let cert_der = cert_from_pem(&cert_pem).map_err(|r| invalid(&cert_path, r))?;
            let key = KeyPair::from_pem(&key_pem)
                .map_err(|e| invalid(&key_path, format!("cannot load key: {e}")))?;
            check_ca(&cert_der, &key, now).map_err(|r| invalid(&cert_path, r))?;
            Ok(Some(Ca {
                cert_pem,
                cert_der,
                key,
            }))
        }
    }
}

fn check_ca(cert_der: &[u8], key: &KeyPair, now: SystemTime) -> Result<(), String> {
    let cert = parse_cert(cert_der)?;
    if !cert.is_ca() {
        return Err("not a CA certificate".into());
    }
    if !key_matches(key, &cert) {
        return Err(format!("does not match the key in {CA_KEY}"));
    }
    if cert.validity().not_after.timestamp() <= unix_secs(now) {
        return Err(format!(
            "the cluster CA expired on {}; move the tls directory away to create a new one",
            cert.validity().not_after
        ));
    }
    // rcgen builds the issuer name from the CA subject; it needs single-valued RDNs.
    if cert.subject().iter().any(|rdn| rdn.iter().count() != 1) {
        return Err("the CA subject has an empty or multi-valued RDN, which is unsupported".into());
    }
    Ok(())
}

fn create_ca(dir: &Path, now: SystemTime, written: &mut Vec<PathBuf>) -> Result<Ca, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate("CA key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("skiff-ca@{}", unix_secs(now)));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.not_before = (now - BACKDATE).into();
    params.not_after = (now + CA_VALIDITY).into();
    let cert = params
        .self_signed(&key)
        .map_err(generate("CA certificate"))?;
    let cert_der = cert.der().clone();
    let cert_pem = pem_encode("CERTIFICATE", &cert_der);
    // Key first: a certificate without its key would be reported as a broken CA next time.
    for (name, text) in [(CA_KEY, &key.serialize_pem()), (CA_CERT, &cert_pem)] {
        let path = dir.join(name);
        files::write_private(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(Ca {
        cert_pem,
        cert_der,
        key,
    })
}

fn generate(what: &'static str) -> impl FnOnce(rcgen::Error) -> PkiError {
    move |source| PkiError::Generate { what, source }
}

/// Loads a leaf certificate and key; `Err(reason)` when they must be issued again.
fn load_leaf(
    dir: &Path,
    cert_name: &str,
    key_name: &str,
    ca: &Ca,
    now: SystemTime,
) -> Result<Leaf, String> {
    let read = |name: &str| match files::read_optional(&dir.join(name)) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(format!("{name} is missing")),
        Err(e) => Err(e.to_string()),
    };
    let cert_pem = read(cert_name)?;
    let key_pem = read(key_name)?;
    let cert_der = cert_from_pem(&cert_pem).map_err(|r| format!("{cert_name}: {r}"))?;
    let key = KeyPair::from_pem(&key_pem).map_err(|e| format!("{key_name}: {e}"))?;
    let cert = parse_cert(&cert_der).map_err(|r| format!("{cert_name}: {r}"))?;
    let ca_cert = parse_cert(&ca.cert_der)?;
    if cert.verify_signature(Some(ca_cert.public_key())).is_err() {
        return Err(format!("{cert_name} is not signed by the current CA"));
    }
    if !key_matches(&key, &cert) {
        return Err(format!("{cert_name} does not match {key_name}"));
    }
    let renew_at = unix_secs(now) + RENEW_BEFORE.as_secs() as i64;
    if cert.validity().not_after.timestamp() <= renew_at {
        return Err(format!(
            "{cert_name} expires on {}",
            cert.validity().not_after
        ));
    }
    let sans = cert_sans(&cert);
    let key_der = key.serialize_der();
    Ok(Leaf {
        cert_pem,
        key_pem,
        cert_der,
        key_der,
        sans,
    })
}

/// The DNS and IP subject alternative names of `cert`.
fn cert_sans(cert: &X509Certificate<'_>) -> BTreeSet<San> {
    let mut out = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(dns) => {
                    out.insert(San::Dns(dns.to_ascii_lowercase()));
                }
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        out.insert(San::Ip(v4.into()));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        out.insert(San::Ip(v6.into()));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn save_leaf(
    dir: &Path,
    cert_name: &str,
    key_name: &str,
    leaf: &Leaf,
    written: &mut Vec<PathBuf>,
) -> Result<(), PkiError> {
    for (name, text) in [(key_name, &leaf.key_pem), (cert_name, &leaf.cert_pem)] {
        let path = dir.join(name);
        files::write_private(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(())
}

/// Issues a certificate `O=<groups>..., CN=<cn>` with `sans`, signed by `ca`.
fn issue(
    ca: &Ca,
    cn: &str,
    groups: &[&str],
    sans: &BTreeSet<San>,
    usage: Usage,
    now: SystemTime,
) -> Result<Leaf, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate("key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let [group] = groups {
        dn.push(DnType::OrganizationName, *group);
    }
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match usage {
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    params.not_before = (now - BACKDATE).into();
    params.not_after = (now + LEAF_VALIDITY).into();
    let issuer = Issuer::from_ca_cert_der(&ca.cert_der, &ca.key).map_err(generate("CA issuer"))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(generate("certificate"))?;
    let der = if groups.len() > 1 {
        der::replace_subject(cert.der(), &der::encode_subject(cn, groups), &ca.key)
            .map_err(PkiError::Encode)?
    } else {
        cert.der().to_vec()
    };
    Ok(Leaf {
        cert_pem: pem_encode("CERTIFICATE", &der),
        key_pem: key.serialize_pem(),
        cert_der: CertificateDer::from(der),
        key_der: key.serialize_der(),
        sans: sans.clone(),
    })
}
