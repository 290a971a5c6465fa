//! The shared model of REST operations that the v2 and v3 renderers both read.

use super::params::Param;

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Patch => "patch",
        }
    }
}

/// What a request body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// An object of this definition (required).
    Object(String),
    /// A patch document of one of the patch media types.
    Patch,
    /// Optional DeleteOptions.
    DeleteOptions,
}

/// What a successful response holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Object(String),
    /// Plain text (logs) or a stream upgrade (exec/attach/portforward).
    Text,
}

/// Media types an operation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Produces {
    Object,
    /// List/watch calls, which may stream.
    Stream,
    Text,
    /// Discovery documents (JSON, YAML, protobuf without streaming).
    Discovery,
}

impl Produces {
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Produces::Object | Produces::Discovery => &[
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ],
            Produces::Stream => &[
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
                "application/json;stream=watch",
                "application/vnd.kubernetes.protobuf;stream=watch",
            ],
            Produces::Text => &["*/*"],
        }
    }
}

/// Media types accepted by patch operations.
pub(crate) const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// One operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub method: Method,
    pub id: String,
    pub description: String,
    pub tag: String,
    /// `x-kubernetes-action`; `None` for discovery operations.
    pub action: Option<&'static str>,
    /// `x-kubernetes-group-version-kind`.
    pub gvk: Option<(String, String, String)>,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// (status code, reply) pairs; 401 is added by the renderers.
    pub replies: Vec<(&'static str, Reply)>,
    pub produces: Produces,
    pub deprecated: bool,
}

/// One URL path with its path-level parameters and operations.
#[derive(Debug, Clone)]
pub(crate) struct PathSpec {
    pub path: String,
    pub params: Vec<Param>,
    pub ops: Vec<Operation>,
}
