//! Node join: an agent holding the join token gets the cluster CA and its certificates.
//!
//! `GET /cacerts` answers the CA anonymously; the agent checks it against the hash in its token
//! (`K10<sha256 of the CA PEM>::server:<password>`), so a man in the middle cannot pose as the
//! server. `POST /v1-skiff/join` with `Authorization: Bearer <password>` and a body
//! `{"nodeName": "...", "addresses": ["10.0.0.5"]}` answers the node's client certificate
//! (CN `system:node:<name>`, O `system:nodes`) and its kubelet serving certificate.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::pki::{JoinToken, Pki};
use crate::status::{ApiError, ApiResult};

/// What a joining node receives.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinBundle {
    pub ca: String,
    pub client_cert: String,
    pub client_key: String,
    pub serving_cert: String,
    pub serving_key: String,
}

/// The server side of the join protocol.
pub struct Joiner {
    pki: Arc<Pki>,
    token: JoinToken,
}

impl Joiner {
    pub fn new(pki: Arc<Pki>, token: &str) -> anyhow::Result<Joiner> {
        Ok(Joiner {
            pki,
            token: JoinToken::parse(token)?,
        })
    }

    pub fn cacerts(&self) -> &str {
        self.pki.ca_pem()
    }

    /// Certificates for a node, for a caller presenting the token's password.
    pub fn join(&self, authorization: Option<&str>, body: &[u8]) -> ApiResult<Value> {
        let presented = authorization
            .and_then(crate::authn::bearer_token)
            .unwrap_or("");
        if presented.is_empty()
            || !constant_time_eq(presented.as_bytes(), self.token.password.as_bytes())
        {
            return Err(ApiError::unauthorized());
        }
        let req: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("join request is not JSON: {e}")))?;
        let node = req["nodeName"]
            .as_str()
            .filter(|n| valid_node_name(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "join request needs a nodeName that is a lowercase RFC 1123 subdomain",
                )
            })?;
        let mut sans: Vec<String> = vec![node.to_string()];
        for a in req["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if a.parse::<std::net::IpAddr>().is_err() {
                return Err(ApiError::bad_request(format!(
                    "join request address {a:?} is not an IP address"
                )));
            }
            sans.push(a.to_string());
        }
        let internal = |e: crate::pki::PkiError| ApiError::internal(e.to_string());
        let (client_cert, client_key) = self
            .pki
            .issue_client_cert(&format!("system:node:{node}"), &["system:nodes"])
            .map_err(internal)?;
        let (serving_cert, serving_key) =
            self.pki.issue_serving_cert(node, &sans).map_err(internal)?;
        let bundle = JoinBundle {
            ca: self.pki.ca_pem().to_string(),
            client_cert,
            client_key,
            serving_cert,
            serving_key,
        };
        serde_json::to_value(bundle).map_err(|e| ApiError::internal(e.to_string()))
    }
}

fn valid_node_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The agent side: fetch and verify the CA, then join. `server` is `https://host:port`.
pub async fn join_cluster(
    server: &str,
    token: &str,
    node: &str,
    addresses: &[String],
) -> anyhow::Result<JoinBundle> {
    use anyhow::Context;
    let token = JoinToken::parse(token).context("parsing --token")?;
    let insecure = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()?;
    let ca = insecure
        .get(format!("{server}/cacerts"))
        .send()
        .await
        .with_context(|| {
            format!("reaching {server}: is the server running and the address right?")
        })?
        .text()
        .await?;
    anyhow::ensure!(
        token.matches_ca(&ca),
        "the server at {server} presented a CA that does not match the token's hash: refusing to join"
    );
    let trusted = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?)
        .build()?;
    let resp = trusted
        .post(format!("{server}/v1-skiff/join"))
        .bearer_auth(&token.password)
        .json(&json!({ "nodeName": node, "addresses": addresses }))
        .send()
        .await
        .with_context(|| format!("joining {server}"))?;
    let status = resp.status();
    let body = resp.text().await?;
    anyhow::ensure!(
        status.is_success(),
        "the server refused to join this node ({status}): {body}"
    );
    serde_json::from_str(&body).context("reading the join answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joiner() -> (tempfile::TempDir, Joiner) {
        let dir = tempfile::tempdir().unwrap();
        let pki = Arc::new(Pki::load_or_create(dir.path(), &[]).unwrap());
        let token = crate::pki::load_or_create_token(dir.path()).unwrap();
        (dir, Joiner::new(pki, &token).unwrap())
    }

    #[test]
    fn join_needs_the_token_password() {
        let (_d, j) = joiner();
        let body = br#"{"nodeName":"node-a","addresses":["10.0.0.5"]}"#;
        assert_eq!(j.join(None, body).unwrap_err().code, 401);
        assert_eq!(j.join(Some("Bearer wrong"), body).unwrap_err().code, 401);
        let ok = j
            .join(Some(&format!("Bearer {}", j.token.password)), body)
            .unwrap();
        let bundle: JoinBundle = serde_json::from_value(ok).unwrap();
        assert!(bundle.client_cert.contains("BEGIN CERTIFICATE"));
        assert_eq!(bundle.ca, j.cacerts());
        let user = crate::authn::user_from_cert(&pem_der(&bundle.client_cert)).unwrap();
        assert_eq!(user.name, "system:node:node-a");
        assert!(user.groups.contains(&"system:nodes".to_string()));
    }

    #[test]
    fn join_refuses_bad_names_and_addresses() {
        let (_d, j) = joiner();
        let auth = format!("Bearer {}", j.token.password);
        assert_eq!(
            j.join(Some(&auth), br#"{"nodeName":"Bad_Name"}"#)
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            j.join(Some(&auth), br#"{"nodeName":"a","addresses":["x"]}"#)
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(j.join(Some(&auth), b"not json").unwrap_err().code, 400);
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        let mut reader = std::io::BufReader::new(pem.as_bytes());
        rustls_pemfile::certs(&mut reader)
            .next()
            .unwrap()
            .unwrap()
            .to_vec()
    }
}
