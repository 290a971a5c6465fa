//! Loading, checking and issuing the CA and leaf certificates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::{CA_CERT, CA_KEY, PkiError, San, der, files};

const DAY: u64 = 24 * 60 * 60;
const CA_VALIDITY: Duration = Duration::from_secs(3650 * DAY);
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * DAY);
const RENEW_BEFORE: Duration = Duration::from_secs(90 * DAY);
/// Certificates start this long before their creation, to tolerate clock skew between nodes.
const BACKDATE: Duration = Duration::from_secs(60 * 60);

/// The cluster CA.
pub(super) struct Ca {
    pub(super) cert_pem: String,
    pub(super) cert_der: CertificateDer<'static>,
    pub(super) key: KeyPair,
}

/// A certificate issued by the CA, with its key.
pub(super) struct Leaf {
    pub(super) cert_pem: String,
    pub(super) key_pem: String,
    pub(super) cert_der: CertificateDer<'static>,
    pub(super) key_der: Vec<u8>,
    pub(super) sans: BTreeSet<San>,
}

/// What a leaf certificate is for.
#[derive(Clone, Copy)]
pub(super) enum Usage {
    Server,
    Client,
}

pub(super) fn join(items: impl Iterator<Item = String>) -> String {
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

pub(super) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| format!("cannot parse certificate: {e}"))
}

pub(super) fn cert_from_pem(pem: &str) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("no PEM certificate: {e}"))
}

/// Whether `key` is the private half of `cert`'s public key.
fn key_matches(key: &KeyPair, cert: &X509Certificate<'_>) -> bool {
    key.public_key_raw() == cert.public_key().subject_public_key.data.as_ref()
}

pub(super) fn load_ca(dir: &Path, now: SystemTime) -> Result<Option<Ca>, PkiError> {
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

pub(super) fn create_ca(
    dir: &Path,
    now: SystemTime,
    written: &mut Vec<PathBuf>,
) -> Result<Ca, PkiError> {
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
pub(super) fn load_leaf(
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
pub(super) fn cert_sans(cert: &X509Certificate<'_>) -> BTreeSet<San> {
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

pub(super) fn save_leaf(
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
pub(super) fn issue(
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
