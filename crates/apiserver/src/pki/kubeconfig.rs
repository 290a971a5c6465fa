//! Kubeconfig files for the admin user (and later other clients), written as YAML.

use std::path::Path;

use base64::Engine as _;

use super::{Pki, PkiError, files};

/// A kubeconfig with cluster, user and context all named `default`: `server_url`, the CA and
/// the client certificate and key embedded as base64 `*-data` fields.
pub fn kubeconfig_yaml(server_url: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    // A JSON string is a valid YAML double-quoted scalar, whatever the URL contains.
    let server = serde_json::Value::String(server_url.to_string()).to_string();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(ca_pem),
        cert = b64(cert_pem),
        key = b64(key_pem),
    )
}

/// Writes the admin kubeconfig for `server_url` to `path` (mode 0600), creating its directory
/// if needed.
pub fn write_kubeconfig(path: &Path, server_url: &str, pki: &Pki) -> Result<(), PkiError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(files::io_err(parent))?;
    }
    let yaml = kubeconfig_yaml(
        server_url,
        pki.ca_pem(),
        pki.admin_cert_pem(),
        pki.admin_key_pem(),
    );
    files::write_private(path, yaml.as_bytes())?;
    files::sync_later(vec![path.to_path_buf()]);
    Ok(())
}
