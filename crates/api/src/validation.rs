//! Validation as upstream: names, labels, required and immutable fields.
