//! The query and path parameters of Kubernetes REST operations: names, types, descriptions.

/// A parameter's JSON type as OpenAPI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Integer,
    Boolean,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
        }
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum In {
    Path,
    Query,
}

impl In {
    pub fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
        }
    }
}

/// One non-body parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: &'static str,
    pub location: In,
    pub ty: ParamType,
    pub description: String,
}

use ParamType::{Boolean, Integer, String as Str};

/// (name, type, description) of every query parameter we document.
const QUERY: &[(&str, ParamType, &str)] = &[
    (
        "allowWatchBookmarks",
        Boolean,
        "Requests watch events of type BOOKMARK. The server may send them at its discretion; clients must not assume bookmarks arrive at any interval. Ignored unless watch is true.",
    ),
    (
        "continue",
        Str,
        "The continue token returned by a previous paginated list call; the server answers with the next page of the same consistent snapshot. Expired tokens answer 410 ResourceExpired.",
    ),
    (
        "dryRun",
        Str,
        "When present, the request is processed without persisting anything. Allowed value: All (run every dry-run stage).",
    ),
    (
        "fieldManager",
        Str,
        "A name for the actor making these changes, used to track field ownership. At most 128 printable characters.",
    ),
    (
        "fieldSelector",
        Str,
        "Restricts the returned objects by their fields. Defaults to everything.",
    ),
    (
        "fieldValidation",
        Str,
        "How the server treats unknown or duplicate fields in the request body: Ignore drops them silently, Warn (the default) drops them and returns a warning header for each, Strict fails the request with BadRequest.",
    ),
    (
        "force",
        Boolean,
        "For apply patches only: take ownership of fields that other managers own instead of failing with a conflict. Must be unset for other patch types.",
    ),
    (
        "gracePeriodSeconds",
        Integer,
        "Seconds to wait before the object is deleted; must be zero or positive. Unset uses the kind's default; zero deletes immediately.",
    ),
    (
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        Boolean,
        "Deletes objects that cannot be read from storage (corrupt or undecryptable), skipping finalizers and admission. Dangerous; needs the delete-ignore-read-errors permission.",
    ),
    (
        "labelSelector",
        Str,
        "Restricts the returned objects by their labels. Defaults to everything.",
    ),
    (
        "limit",
        Integer,
        "The maximum number of items to return in one list response; when more exist, metadata.continue is set for the next page.",
    ),
    (
        "orphanDependents",
        Boolean,
        "Deprecated, use propagationPolicy. Whether dependents are orphaned (true) or deleted by the garbage collector (false).",
    ),
    (
        "propagationPolicy",
        Str,
        "Whether and how garbage collection handles dependents: Orphan, Background or Foreground.",
    ),
    (
        "resourceVersion",
        Str,
        "Constrains which resource versions a read or list may be served from. Unset means the most recent.",
    ),
    (
        "resourceVersionMatch",
        Str,
        "How resourceVersion applies to a list: Exact or NotOlderThan. Only with resourceVersion set.",
    ),
    (
        "sendInitialEvents",
        Boolean,
        "With watch=true, first sends synthetic ADDED events for the current state, then a BOOKMARK marking the end of that state. Requires resourceVersionMatch=NotOlderThan.",
    ),
    (
        "timeoutSeconds",
        Integer,
        "Limits the duration of the list or watch call, whatever the activity.",
    ),
    (
        "watch",
        Boolean,
        "Turns the list into a stream of add, update and delete notifications, starting at resourceVersion.",
    ),
    (
        "container",
        Str,
        "The container to use. Defaults to the only container if the pod has one.",
    ),
    (
        "follow",
        Boolean,
        "Keep streaming the log as it grows. Defaults to false.",
    ),
    (
        "insecureSkipTLSVerifyBackend",
        Boolean,
        "Skip verifying the serving certificate of the kubelet that serves the log.",
    ),
    (
        "limitBytes",
        Integer,
        "Stop after this many bytes of log output.",
    ),
    (
        "previous",
        Boolean,
        "Return the log of the previous, terminated instance of the container.",
    ),
    (
        "sinceSeconds",
        Integer,
        "Only return log lines newer than this many seconds.",
    ),
    (
        "stream",
        Str,
        "Which stream to return: All, Stdout or Stderr. Defaults to All.",
    ),
    (
        "tailLines",
        Integer,
        "Only return this many lines from the end of the log.",
    ),
    (
        "timestamps",
        Boolean,
        "Prefix every log line with an RFC3339 timestamp.",
    ),
    (
        "command",
        Str,
        "The command to execute, one argument per parameter. Not run in a shell.",
    ),
    (
        "stdin",
        Boolean,
        "Attach the standard input of the process.",
    ),
    (
        "stdout",
        Boolean,
        "Attach the standard output of the process. Defaults to true.",
    ),
    (
        "stderr",
        Boolean,
        "Attach the standard error of the process. Defaults to true.",
    ),
    ("tty", Boolean, "Allocate a terminal for the process."),
    ("ports", Integer, "The ports to forward."),
];

/// Query parameters of list and watch calls.
pub(crate) const LIST: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
/// Query parameters of create and replace calls.
pub(crate) const WRITE: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
/// Query parameters of patch calls.
pub(crate) const PATCH: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
/// Query parameters of delete calls.
pub(crate) const DELETE: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];
/// Query parameters of deletecollection calls.
pub(crate) const DELETE_COLLECTION: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
/// Query parameters of `pods/log`.
pub(crate) const LOG: &[&str] = &[
    "container",
    "follow",
    "insecureSkipTLSVerifyBackend",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "stream",
    "tailLines",
    "timestamps",
];
/// Query parameters of `pods/exec`.
pub(crate) const EXEC: &[&str] = &["command", "container", "stderr", "stdin", "stdout", "tty"];
/// Query parameters of `pods/attach`.
pub(crate) const ATTACH: &[&str] = &["container", "stderr", "stdin", "stdout", "tty"];
/// Query parameters of `pods/portforward`.
pub(crate) const PORTFORWARD: &[&str] = &["ports"];

/// The query parameters named in `names`, in that order (unknown names are skipped).
pub(crate) fn query(names: &[&str]) -> Vec<Param> {
    names
        .iter()
        .filter_map(|n| QUERY.iter().find(|(q, _, _)| q == n))
        .map(|(name, ty, description)| Param {
            name,
            location: In::Query,
            ty: *ty,
            description: (*description).to_string(),
        })
        .collect()
}

/// The `pretty` query parameter, which upstream lists at path level.
pub(crate) fn pretty() -> Param {
    Param {
        name: "pretty",
        location: In::Query,
        ty: ParamType::String,
        description: "If 'true', the output is pretty printed.".to_string(),
    }
}

/// A required string path parameter.
pub(crate) fn path(name: &'static str, description: String) -> Param {
    Param {
        name,
        location: In::Path,
        ty: ParamType::String,
        description,
    }
}
