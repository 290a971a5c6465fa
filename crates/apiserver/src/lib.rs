//! The Kubernetes REST API server: TLS, authentication, discovery, OpenAPI and one generic
//! REST handler serving every kind in `skiff_api::registry()` from a `skiff_store::Store`.

pub mod discovery;
pub mod openapi;
