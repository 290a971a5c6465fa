//! One registry endpoint: its HTTP client (TLS settings), credentials and the token dance.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::manifest::{self, MANIFEST_ACCEPT};
use crate::registries::{Credentials, Endpoint, RegistriesConfig};

/// A client for one repository on one endpoint.
pub(crate) struct EndpointClient {
    http: reqwest::Client,
    base_url: String,
    host: String,
    repository: String,
    creds: Option<Credentials>,
    hint: String,
    /// The authorization header that worked last (Bearer token or Basic).
    authorization: Mutex<Option<String>>,
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `Bearer realm="...",service="...",scope="a:b:pull,push"`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.push((key.trim().to_string(), value.trim().to_string()));
    }
    Some(Challenge {
        scheme: scheme.to_string(),
        params,
    })
}

/// The error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl EndpointClient {
    pub fn new(ep: &Endpoint, repository: &str, reg: &RegistriesConfig) -> Result<Self> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(300))
            .user_agent(concat!("skiff/", env!("CARGO_PKG_VERSION")));
        let file_err = |what: &str, path: &std::path::Path, reason: String| Error::RegistriesFile {
            path: reg.source.clone().unwrap_or_default(),
            reason: format!("{what} {} for {}: {reason}", path.display(), ep.host),
        };
        if let Some(tls) = reg.host_config(&ep.host).and_then(|c| c.tls.as_ref()) {
            if let Some(ca) = &tls.ca_file {
                let pem = std::fs::read(ca).map_err(|e| file_err("ca_file", ca, e.to_string()))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| file_err("ca_file", ca, e.to_string()))?;
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
            if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
                let mut pem =
                    std::fs::read(cert).map_err(|e| file_err("cert_file", cert, e.to_string()))?;
                pem.push(b'\n');
                pem.extend(
                    std::fs::read(key).map_err(|e| file_err("key_file", key, e.to_string()))?,
                );
                let id = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| file_err("cert_file", cert, e.to_string()))?;
                b = b.identity(id);
            }
            if tls.insecure_skip_verify {
                b = b.danger_accept_invalid_certs(true);
            }
        }
        let http = b
            .build()
            .map_err(|e| Error::Registry(format!("building HTTP client: {}", error_chain(&e))))?;
        Ok(EndpointClient {
            http,
            base_url: ep.base_url.clone(),
            host: ep.host.clone(),
            repository: repository.to_string(),
            creds: reg.credentials(&ep.host)?,
            hint: super::registries_hint(reg, &ep.host),
            authorization: Mutex::new(None),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Fetches a manifest; returns its bytes and Content-Type.
    pub async fn manifest(&self, object: &str) -> Result<(Vec<u8>, Option<String>)> {
        let url = format!(
            "{}/v2/{}/manifests/{object}",
            self.base_url, self.repository
        );
        let resp = self.get(&url, Some(MANIFEST_ACCEPT), object).await?;
        if resp
            .content_length()
            .is_some_and(|n| n > super::MAX_DOCUMENT)
        {
            return Err(Error::Registry(format!(
                "manifest {object} on {} is too large",
                self.host
            )));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.map_err(|e| self.net_error(&url, &e))?;
        Ok((bytes.to_vec(), ct))
    }

    /// Starts a blob download.
    pub async fn blob(&self, digest: &str) -> Result<reqwest::Response> {
        manifest::validate_digest(digest)?;
        let url = format!("{}/v2/{}/blobs/{digest}", self.base_url, self.repository);
        self.get(&url, None, digest).await
    }

    /// A small blob (config) in memory.
    pub async fn blob_bytes(&self, digest: &str) -> Result<Vec<u8>> {
        let resp = self.blob(digest).await?;
        if resp
            .content_length()
            .is_some_and(|n| n > super::MAX_DOCUMENT)
        {
            return Err(Error::Registry(format!(
                "config {digest} on {} is too large",
                self.host
            )));
        }
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(|e| self.net_error(&url, &e))?;
        Ok(bytes.to_vec())
    }

    fn net_error(&self, url: &str, e: &reqwest::Error) -> Error {
        let mut msg = format!(
            "cannot reach registry {} ({url}): {}",
            self.host,
            error_chain(e)
        );
        if url.starts_with("https://") {
            msg.push_str(&format!(
                "; if it serves plain HTTP set configs.\"{}\".insecure: true, for a private CA set tls.ca_file",
                self.host
            ));
        } else {
            msg.push_str("; check the address or configure a mirror in registries.yaml");
        }
        Error::Registry(msg)
    }

    /// GET with auth: on 401 answers the challenge (Bearer token or Basic) and retries once.
    async fn get(&self, url: &str, accept: Option<&str>, what: &str) -> Result<reqwest::Response> {
        for attempt in 0..2 {
            let mut req = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(reqwest::header::ACCEPT, a);
            }
            let authz = self.authorization.lock().ok().and_then(|g| g.clone());
            if let Some(a) = &authz {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let resp = req.send().await.map_err(|e| self.net_error(url, &e))?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = resp
                    .headers()
                    .get_all(reqwest::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter_map(parse_challenge)
                    .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
                    .or_else(|| {
                        resp.headers()
                            .get(reqwest::header::WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .and_then(parse_challenge)
                    });
                if let Some(c) = challenge {
                    if self.answer(&c).await? {
                        continue;
                    }
                }
            }
            return Err(self.status_error(status, what, authz.is_some()));
        }
        Err(self.status_error(reqwest::StatusCode::UNAUTHORIZED, what, true))
    }

    fn status_error(&self, status: reqwest::StatusCode, what: &str, had_auth: bool) -> Error {
        let repo = &self.repository;
        let host = &self.host;
        let msg = match status.as_u16() {
            401 if had_auth => format!(
                "registry {host} answered 401 {} for {repo} ({what}) even with credentials: check them in {}",
                status.canonical_reason().unwrap_or(""),
                self.hint.trim_start_matches("add credentials in ")
            ),
            401 => format!(
                "registry {host} answered 401 {} for {repo} ({what}): {}",
                status.canonical_reason().unwrap_or(""),
                self.hint
            ),
            403 => format!(
                "registry {host} answered 403 Forbidden for {repo} ({what}): the credentials lack pull access"
            ),
            404 => format!(
                "registry {host} has no {repo} {what} (404 Not Found): check the image name and tag"
            ),
            429 => format!(
                "registry {host} answered 429 Too Many Requests: retry later or use a mirror"
            ),
            _ => format!("registry {host} answered {status} for {repo} ({what})"),
        };
        Error::Registry(msg)
    }

    /// Handles a challenge; true when a retry makes sense.
    async fn answer(&self, c: &Challenge) -> Result<bool> {
        let header = if c.scheme.eq_ignore_ascii_case("bearer") {
            let token = self.fetch_token(c).await?;
            format!("Bearer {token}")
        } else if c.scheme.eq_ignore_ascii_case("basic") {
            match &self.creds {
                Some(Credentials::Basic { username, password }) => {
                    let raw = format!("{username}:{password}");
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(raw)
                    )
                }
                _ => return Ok(false),
            }
        } else {
            return Ok(false);
        };
        if let Ok(mut g) = self.authorization.lock() {
            *g = Some(header);
        }
        Ok(true)
    }

    async fn fetch_token(&self, c: &Challenge) -> Result<String> {
        let realm = c.param("realm").ok_or_else(|| {
            Error::Registry(format!(
                "registry {} asked for a Bearer token without a realm",
                self.host
            ))
        })?;
        let default_scope = format!("repository:{}:pull", self.repository);
        let scope = c.param("scope").unwrap_or(&default_scope);
        let service = c.param("service").unwrap_or("");
        let fail = |e: String| {
            Error::Registry(format!(
                "token service {realm} of registry {}: {e}",
                self.host
            ))
        };
        let resp = match &self.creds {
            Some(Credentials::IdentityToken(refresh)) => {
                let body = form_encode(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("service", service),
                    ("scope", scope),
                    ("client_id", "skiff"),
                ]);
                self.http
                    .post(realm)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
                    .send()
                    .await
            }
            creds => {
                let mut query = vec![("scope", scope)];
                if !service.is_empty() {
                    query.push(("service", service));
                }
                let sep = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{sep}{}", form_encode(&query));
                let mut req = self.http.get(url);
                if let Some(Credentials::Basic { username, password }) = creds {
                    req = req.basic_auth(username, Some(password));
                }
                req.send().await
            }
        }
        .map_err(|e| fail(error_chain(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::Registry(format!(
                "registry {} refused a token for {} ({status}): {}",
                self.host, self.repository, self.hint
            )));
        }
        if !status.is_success() {
            return Err(fail(format!("answered {status}")));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let body = resp.bytes().await.map_err(|e| fail(error_chain(&e)))?;
        let t: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| fail(format!("bad token response: {e}")))?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("no token in the response".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("registry.example"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        let b = parse_challenge(r#"Basic realm="basic-realm""#).unwrap();
        assert_eq!(b.scheme, "Basic");
        assert_eq!(b.param("realm"), Some("basic-realm"));
    }

    #[test]
    fn encodes_forms() {
        assert_eq!(
            form_encode(&[("scope", "repository:a/b:pull"), ("x", "a b")]),
            "scope=repository%3Aa%2Fb%3Apull&x=a%20b"
        );
    }
}
