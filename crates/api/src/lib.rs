//! Kubernetes API knowledge without IO: which kinds exist and how each behaves.
//!
//! Objects travel as raw `serde_json::Value` (unknown fields are kept); hooks here take and
//! return JSON. The generic REST handler in `skiff-apiserver` asks this crate everything
//! kind-specific, so adding a kind is a registry entry plus small hooks.

pub mod defaults;
pub mod fields;
pub mod quantity;
pub mod registry;
pub mod selector;
pub mod strategy;
pub mod table;
pub mod validation;

pub use registry::{Resource, registry};

#[cfg(test)]
mod robustness;
