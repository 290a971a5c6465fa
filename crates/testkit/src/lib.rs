//! Test harness for end-to-end tests: real processes, real kubectl, real registry.

pub mod oci;
pub mod registry;
