//! The agent join token, in the k3s format `K10<ca-hash>::<user>:<password>`.
//!
//! `<ca-hash>` is the lower-case hex SHA-256 of the CA certificate file (`tls/ca.crt`, PEM
//! bytes as served to agents): an agent downloads the CA and checks it against the hash before
//! trusting it. `<user>` is `server`; `<password>` is 32 random hex digits and is what the
//! server checks when an agent joins. The token is stored in `<data_dir>/token` (0600).

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{CA_CERT, PkiError, TLS_DIR, files};

/// File name of the join token under the data dir.
pub const TOKEN_FILE: &str = "token";
/// Prefix of a full (CA-pinning) token.
const PREFIX: &str = "K10";
/// User name in server-generated tokens.
const SERVER_USER: &str = "server";

/// A parsed full join token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinToken {
    /// Lower-case hex SHA-256 of the CA certificate PEM.
    pub ca_hash: String,
    /// The user part (`server` for tokens made here).
    pub username: String,
    /// The secret.
    pub password: String,
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}::{}:{}",
            self.ca_hash, self.username, self.password
        )
    }
}

impl JoinToken {
    /// Parses `K10<64 hex>::<user>:<password>`.
    pub fn parse(token: &str) -> Result<Self, PkiError> {
        let bad = |why: &str| PkiError::InvalidToken(why.to_string());
        let rest = token
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("expected the form K10<ca-hash>::<user>:<password>"))?;
        let (hash, creds) = rest
            .split_once("::")
            .ok_or_else(|| bad("missing '::' after the CA hash"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the CA hash must be 64 hex digits"));
        }
        let (user, password) = creds
            .split_once(':')
            .ok_or_else(|| bad("missing ':' between user and password"))?;
        if user.is_empty() || password.is_empty() {
            return Err(bad("empty user or password"));
        }
        Ok(JoinToken {
            ca_hash: hash.to_ascii_lowercase(),
            username: user.to_string(),
            password: password.to_string(),
        })
    }

    /// Whether the token pins the CA certificate `ca_pem`.
    pub fn matches_ca(&self, ca_pem: &str) -> bool {
        self.ca_hash == ca_hash(ca_pem)
    }
}

/// Lower-case hex SHA-256 of the CA certificate PEM text.
pub fn ca_hash(ca_pem: &str) -> String {
    hex::encode(Sha256::digest(ca_pem.as_bytes()))
}

/// Returns the cluster join token, creating `<data_dir>/token` on first start. Needs the CA
/// (run [`super::Pki::load_or_create`] first). An existing full token whose hash no longer
/// matches the CA keeps its password and gets the new hash; a file holding a bare password
/// (no `:` or spaces) is turned into a full token with that password.
pub fn load_or_create_token(data_dir: &Path) -> Result<String, PkiError> {
    let ca_path = data_dir.join(TLS_DIR).join(CA_CERT);
    let ca_pem = files::read_optional(&ca_path)?.ok_or_else(|| PkiError::Invalid {
        path: ca_path.clone(),
        reason: "missing: the cluster CA must be created before the join token".to_string(),
    })?;
    let hash = ca_hash(&ca_pem);
    let path = data_dir.join(TOKEN_FILE);
    let existing = files::read_optional(&path)?;
    let token = match existing.as_deref().map(str::trim) {
        None | Some("") => JoinToken {
            ca_hash: hash,
            username: SERVER_USER.to_string(),
            password: hex::encode(rand::random::<[u8; 16]>()),
        },
        Some(text) if text.starts_with(PREFIX) && text.contains("::") => {
            let parsed = JoinToken::parse(text).map_err(|e| PkiError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if parsed.ca_hash == hash {
                return Ok(parsed.to_string());
            }
            tracing::info!("the cluster CA changed; updating the CA hash in the join token");
            JoinToken {
                ca_hash: hash,
                ..parsed
            }
        }
        Some(text) if !text.contains(':') && !text.contains(char::is_whitespace) => JoinToken {
            ca_hash: hash,
            username: SERVER_USER.to_string(),
            password: text.to_string(),
        },
        Some(_) => {
            return Err(PkiError::Invalid {
                path,
                reason: "expected K10<ca-hash>::<user>:<password> or a bare password".to_string(),
            });
        }
    };
    let text = token.to_string();
    files::write_private(&path, format!("{text}\n").as_bytes())?;
    files::sync_later(vec![path]);
    Ok(text)
}
