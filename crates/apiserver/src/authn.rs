//! Request authentication: client certificates verified against the cluster CA (by the TLS
//! layer) and static bearer tokens from a Kubernetes-style token file.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Group every authenticated user belongs to.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct UserInfo {
    /// User name (certificate CN, or the token file's user column).
    pub name: String,
    /// Groups, `system:authenticated` last.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// A user with `groups` plus `system:authenticated`.
    pub fn authenticated(
        name: impl Into<String>,
        groups: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut groups: Vec<String> = groups.into_iter().collect();
        if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_string());
        }
        UserInfo {
            name: name.into(),
            groups,
        }
    }
}

/// Errors of authentication.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The token file could not be read.
    #[error("reading token file {path}: {source}")]
    Read {
        /// The token file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of the token file is malformed.
    #[error("token file {path}, line {line}: {reason}")]
    Parse {
        /// The token file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A bearer token was presented but is not known (Kubernetes answers 401).
    #[error("invalid bearer token")]
    InvalidBearerToken,
}

/// Authenticates requests from their verified client certificate or bearer token.
#[derive(Clone, Default)]
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the tokens themselves.
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl Authenticator {
    /// An authenticator with the tokens of `token_file` (CSV lines
    /// `token,user,uid[,"group1,group2"]`), if given.
    pub fn new(token_file: Option<&Path>) -> Result<Self, AuthnError> {
        let Some(path) = token_file else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| AuthnError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_token_csv(&text).map_err(|(line, reason)| AuthnError::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// An authenticator with the tokens of token-file text; `Err((line, reason))` on a bad line.
    pub fn from_token_csv(text: &str) -> Result<Self, (usize, String)> {
        let mut tokens = HashMap::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let fields = split_csv_line(line).map_err(|reason| (line_no, reason))?;
            if fields.len() < 3 {
                return Err((
                    line_no,
                    format!(
                        "expected at least 3 columns (token, user name, user uid), found {}",
                        fields.len()
                    ),
                ));
            }
            let token = fields[0].clone();
            if token.is_empty() {
                return Err((line_no, "empty token".to_string()));
            }
            if fields[1].is_empty() {
                return Err((line_no, "empty user name".to_string()));
            }
            let groups = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let user = UserInfo::authenticated(fields[1].clone(), groups);
            if tokens.insert(token, user).is_some() {
                tracing::warn!(
                    line = line_no,
                    "duplicate token in token file; the last one wins"
                );
            }
        }
        Ok(Authenticator { tokens })
    }

    /// Adds (or replaces) a static bearer token for `user`.
    pub fn add_token(&mut self, token: impl Into<String>, user: UserInfo) {
        self.tokens.insert(token.into(), user);
    }

    /// The user of a request: from the verified peer certificate (leaf DER, as rustls gives
    /// it): CN = user, O = groups, plus `system:authenticated`; else from an
    /// `Authorization: Bearer <token>` header value; else `None` (anonymous). An unknown
    /// bearer token also gives `None`; use [`Self::authenticate_request`] to tell it apart.
    pub fn authenticate(
        &self,
        peer_leaf_der: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Option<UserInfo> {
        self.authenticate_request(peer_leaf_der, authorization)
            .ok()
            .flatten()
    }

    /// Like [`Self::authenticate`], but a bearer token that is presented and unknown is an
    /// error, as Kubernetes answers such requests 401 instead of treating them as anonymous.
    pub fn authenticate_request(
        &self,
        peer_leaf_der: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Result<Option<UserInfo>, AuthnError> {
        if let Some(user) = peer_leaf_der.and_then(user_from_cert) {
            return Ok(Some(user));
        }
        match authorization.and_then(bearer_token) {
            Some(token) => self
                .tokens
                .get(token)
                .cloned()
                .map(Some)
                .ok_or(AuthnError::InvalidBearerToken),
            None => Ok(None),
        }
    }
}

/// The user named by a client certificate: CN as the name, each O as a group. `None` when the
/// certificate cannot be parsed or has no CN.
pub fn user_from_cert(leaf_der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf_der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .filter(|cn| !cn.is_empty())?;
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(String::from)
        .collect::<Vec<_>>();
    Some(UserInfo::authenticated(name, groups))
}

/// The token of an `Authorization` header value `Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let mut parts = authorization.trim().splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Splits one CSV line: fields separated by `,`, optionally double-quoted (with `""` for a
/// quote inside); leading spaces of a field are ignored.
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("unterminated quoted field".to_string()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("bare '\"' in an unquoted field".to_string()),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests;
