//! Errors of the scheduler crate.

/// What can go wrong setting up or running the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown plugin {0:?}")]
    UnknownPlugin(String),
    #[error("plugin {plugin:?} does not implement the {point} extension point")]
    NotAtPoint { plugin: String, point: &'static str },
    #[error("profile has no bind plugin")]
    NoBinder,
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
}
