//! The registries file (k3s's `registries.yaml` format): mirrors, credentials, TLS, plain HTTP.
//!
//! ```yaml
//! mirrors:
//!   docker.io:
//!     endpoint: ["https://mirror.example:5000", "http://10.0.0.5:5000"]
//! configs:
//!   "mirror.example:5000":
//!     auth: { username: u, password: p }     # or auth: base64(u:p), or identitytoken: t
//!     tls: { ca_file: /etc/ssl/my-ca.pem, insecure_skip_verify: false }
//!   "10.0.0.5:5000":
//!     insecure: true                          # plain HTTP for this host
//! ```
//!
//! Mirror endpoints are tried in order, then the registry itself. `127.0.0.1`, `localhost`
//! and `[::1]` (any port) are plain HTTP unless a config entry says `insecure: false`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole registries file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegistriesConfig {
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
    #[serde(default)]
    pub configs: BTreeMap<String, HostConfig>,
    /// Where this was loaded from (or would be): named in error hints.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Mirrors of one registry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Mirror {
    #[serde(default)]
    pub endpoint: Vec<String>,
}

/// Settings of one registry host (`host[:port]`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HostConfig {
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Talk plain HTTP to this host.
    #[serde(default)]
    pub insecure: Option<bool>,
}

/// Credentials of one registry host.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthConfig {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// base64 of `username:password`.
    #[serde(default)]
    pub auth: Option<String>,
    /// A refresh token for the registry's token service.
    #[serde(default)]
    pub identitytoken: Option<String>,
}

/// TLS settings of one registry host.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// Credentials ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic { username: String, password: String },
    IdentityToken(String),
}

/// One place to try: a base URL (`https://host:port[/prefix]`) and its host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub base_url: String,
    pub host: String,
}

impl RegistriesConfig {
    /// Parses the registries file at `path`.
    pub fn load(path: &Path) -> Result<RegistriesConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading registries file", path, e))?;
        let mut cfg = Self::parse(&text).map_err(|reason| Error::RegistriesFile {
            path: path.to_path_buf(),
            reason,
        })?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Like [`load`](Self::load), but a missing file is an empty configuration.
    pub fn load_or_default(path: &Path) -> Result<RegistriesConfig> {
        if !path.exists() {
            return Ok(RegistriesConfig {
                source: Some(path.to_path_buf()),
                ..Default::default()
            });
        }
        Self::load(path)
    }

    /// Parses registries YAML text.
    pub fn parse(text: &str) -> std::result::Result<RegistriesConfig, String> {
        if text.trim().is_empty() {
            return Ok(RegistriesConfig::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// The file named in hints ("add credentials in ...").
    pub fn source_display(&self) -> String {
        self.source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/var/lib/skiff/registries.yaml".to_string())
    }

    /// The config entry of `host`, if any.
    pub fn host_config(&self, host: &str) -> Option<&HostConfig> {
        self.configs
            .get(host)
            .or_else(|| self.configs.get(&format!("https://{host}")))
            .or_else(|| self.configs.get(&format!("http://{host}")))
    }

    /// Whether `host` is spoken to over plain HTTP.
    pub fn is_insecure(&self, host: &str) -> bool {
        if let Some(flag) = self.host_config(host).and_then(|c| c.insecure) {
            return flag;
        }
        is_loopback_host(host)
    }

    /// Credentials configured for `host`.
    pub fn credentials(&self, host: &str) -> Result<Option<Credentials>> {
        let Some(auth) = self.host_config(host).and_then(|c| c.auth.as_ref()) else {
            return Ok(None);
        };
        if let Some(token) = auth.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::IdentityToken(token.clone())));
        }
        if let Some(user) = auth.username.as_ref().filter(|u| !u.is_empty()) {
            return Ok(Some(Credentials::Basic {
                username: user.clone(),
                password: auth.password.clone().unwrap_or_default(),
            }));
        }
        if let Some(encoded) = auth.auth.as_ref().filter(|a| !a.is_empty()) {
            let bad = |reason: &str| Error::RegistriesFile {
                path: self.source.clone().unwrap_or_default(),
                reason: format!("configs.{host:?}.auth.auth: {reason}"),
            };
            let raw = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| bad("not base64"))?;
            let text = String::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
            let (u, p) = text
                .split_once(':')
                .ok_or_else(|| bad("must encode username:password"))?;
            return Ok(Some(Credentials::Basic {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
        Ok(None)
    }

    /// Where to pull `registry`'s content from, in order: its mirrors, then itself.
    pub fn endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let mut out = Vec::new();
        let mirror = self.mirrors.get(registry).or_else(|| self.mirrors.get("*"));
        for raw in mirror.map(|m| m.endpoint.as_slice()).unwrap_or_default() {
            if let Some(ep) = self.parse_endpoint(raw) {
                if !out.contains(&ep) {
                    out.push(ep);
                }
            }
        }
        let default_host = if registry == crate::reference::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            registry
        };
        let scheme = if self.is_insecure(default_host) {
            "http"
        } else {
            "https"
        };
        let ep = Endpoint {
            base_url: format!("{scheme}://{default_host}"),
            host: default_host.to_string(),
        };
        if !out.contains(&ep) {
            out.push(ep);
        }
        out
    }

    fn parse_endpoint(&self, raw: &str) -> Option<Endpoint> {
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, rest) = match raw.split_once("://") {
            Some((s, r)) if s == "http" || s == "https" => (Some(s), r),
            Some(_) => return None,
            None => (None, raw),
        };
        let (host, path) = match rest.split_once('/') {
            Some((h, p)) => (h, format!("/{p}")),
            None => (rest, String::new()),
        };
        if host.is_empty() {
            return None;
        }
        let path = path.strip_suffix("/v2").unwrap_or(&path).to_string();
        let scheme = scheme.unwrap_or(if self.is_insecure(host) {
            "http"
        } else {
            "https"
        });
        Some(Endpoint {
            base_url: format!("{scheme}://{host}{path}"),
            host: host.to_string(),
        })
    }
}

/// `127.0.0.1`, `localhost`, `[::1]`, with or without port.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    bare == "localhost" || bare == "::1" || bare.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
mirrors:
  docker.io:
    endpoint:
      - "https://mirror.example:5000/v2"
      - "10.0.0.5:5000"
configs:
  "mirror.example:5000":
    auth:
      username: alice
      password: s3cret
    tls:
      insecure_skip_verify: true
  "10.0.0.5:5000":
    insecure: true
    auth:
      auth: Ym9iOmh1bnRlcjI=
  "tok.example":
    auth:
      identitytoken: refresh-me
"#;

    #[test]
    fn parses_k3s_style_file() {
        let cfg = RegistriesConfig::parse(SAMPLE).unwrap();
        let eps = cfg.endpoints("docker.io");
        let urls: Vec<&str> = eps.iter().map(|e| e.base_url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://mirror.example:5000",
                "http://10.0.0.5:5000",
                "https://registry-1.docker.io"
            ]
        );
        assert_eq!(
            cfg.credentials("mirror.example:5000").unwrap(),
            Some(Credentials::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            })
        );
        assert_eq!(
            cfg.credentials("10.0.0.5:5000").unwrap(),
            Some(Credentials::Basic {
                username: "bob".into(),
                password: "hunter2".into()
            })
        );
        assert_eq!(
            cfg.credentials("tok.example").unwrap(),
            Some(Credentials::IdentityToken("refresh-me".into()))
        );
        assert!(
            cfg.host_config("mirror.example:5000")
                .unwrap()
                .tls
                .as_ref()
                .unwrap()
                .insecure_skip_verify
        );
        assert_eq!(cfg.credentials("other:1").unwrap(), None);
    }

    #[test]
    fn loopback_is_plain_http_by_default() {
        let cfg = RegistriesConfig::default();
        assert_eq!(
            cfg.endpoints("127.0.0.1:5000")[0].base_url,
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            cfg.endpoints("localhost:5000")[0].base_url,
            "http://localhost:5000"
        );
        assert_eq!(cfg.endpoints("quay.io")[0].base_url, "https://quay.io");
        let forced =
            RegistriesConfig::parse("configs:\n  \"127.0.0.1:5000\":\n    insecure: false\n")
                .unwrap();
        assert_eq!(
            forced.endpoints("127.0.0.1:5000")[0].base_url,
            "https://127.0.0.1:5000"
        );
    }

    #[test]
    fn bad_file_is_a_clear_error() {
        assert!(RegistriesConfig::parse("mirrors: [1, 2").is_err());
        let cfg =
            RegistriesConfig::parse("configs:\n  h:\n    auth:\n      auth: '!!!'\n").unwrap();
        assert!(
            cfg.credentials("h")
                .unwrap_err()
                .to_string()
                .contains("not base64")
        );
    }
}
