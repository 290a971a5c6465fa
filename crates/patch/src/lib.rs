//! Patches on raw JSON objects: JSON patch, merge patch, strategic merge patch, server-side apply.

mod fieldpath;
mod managed;
mod schema;
mod smp;
mod ssa;
mod typed;

#[cfg(test)]
mod lib_tests;
#[cfg(test)]
mod ssa_tests;

use serde_json::Value;

pub use managed::{update_managed_fields, update_managed_fields_for};
pub use schema::{PatchRule, patch_rules};
pub use smp::strategic_merge_patch;
pub use ssa::{ApplyError, ApplyOutcome, Conflict, apply, conflicts_message, server_side_apply};

/// Errors of JSON, merge and strategic merge patches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The patch document is malformed (HTTP 400 upstream).
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well formed but cannot be applied to the object (HTTP 422 upstream).
    #[error("{0}")]
    Unprocessable(String),
}

impl Error {
    /// The HTTP status code the API server answers with for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unprocessable(_) => 422,
        }
    }
}

/// Whether patch strategies are known for a kind (upstream answers 415 to strategic merge
/// patches of other kinds, such as custom resources).
pub fn is_builtin_kind(api_version: &str, kind: &str) -> bool {
    schema::Ty::known(api_version, kind)
}

/// Applies an RFC 6902 JSON patch to `doc`.
pub fn json_patch(doc: &Value, patch: &[u8]) -> Result<Value, Error> {
    let ops: json_patch::Patch =
        serde_json::from_slice(patch).map_err(|e| Error::BadRequest(e.to_string()))?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| Error::Unprocessable(json_patch_message(&e)))?;
    Ok(out)
}

fn json_patch_message(e: &json_patch::PatchError) -> String {
    match e.kind {
        json_patch::PatchErrorKind::TestFailed => {
            format!("testing value {} failed: test failed", e.path)
        }
        _ => format!("{} at {}", e.kind, e.path),
    }
}

/// Applies an RFC 7386 JSON merge patch to `doc`.
pub fn merge_patch(doc: &Value, patch: &[u8]) -> Result<Value, Error> {
    let patch: Value =
        serde_json::from_slice(patch).map_err(|e| Error::BadRequest(e.to_string()))?;
    if !patch.is_object() {
        return Err(Error::BadRequest("the patch must be a JSON object".into()));
    }
    let mut out = doc.clone();
    json_patch::merge(&mut out, &patch);
    Ok(out)
}
