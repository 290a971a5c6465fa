//! OpenAPI v2 (JSON and protobuf) and v3 documents generated from the registry and k8s-openapi schemas.
