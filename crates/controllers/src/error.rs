//! The crate's error type.

/// Why a sync or a controller failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("API request failed: {0}")]
    Kube(#[from] kube::Error),
    /// An object could not be (de)serialized.
    #[error("bad object: {0}")]
    Json(#[from] serde_json::Error),
    /// A name given to `run` names no registered controller.
    #[error("unknown controller {0:?} (known: {1})")]
    UnknownController(String, String),
    /// Two registry entries share a name.
    #[error("controller {0:?} registered twice")]
    DuplicateController(String),
    /// An object's spec cannot be acted on.
    #[error("{0}")]
    Invalid(String),
    /// A create collided with an object of the same name owned by someone else.
    #[error("{0}")]
    Collision(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
