//! Validation as upstream: names, labels, required and immutable fields.

pub mod names;
