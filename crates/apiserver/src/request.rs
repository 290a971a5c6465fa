//! Request routing: turn a URL path into the endpoint it names.

use skiff_api::{Resource, registry};

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Healthz,
    Livez,
    Readyz,
    Version,
    /// `/cacerts`: the cluster CA, for joining agents (anonymous).
    CaCerts,
    /// `/v1-skiff/join`: certificates for a node holding the join token.
    Join,
    /// `/api`
    CoreVersions,
    /// `/apis`
    GroupList,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1` or `/apis/GROUP/VERSION`
    ResourceList {
        group: String,
        version: String,
    },
    OpenApiV2,
    OpenApiV3Root,
    /// `/openapi/v3/apis/apps/v1` → "apis/apps/v1"
    OpenApiV3(String),
    Resource(ResourceRequest),
    NotFound,
}

/// A request against one kind: a collection or one object, maybe a subresource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRequest {
    pub res: &'static Resource,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// "status", "scale", "log", "exec", "finalize", ... (with any trailing path for proxies)
    pub subresource: Option<String>,
}

pub fn route(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["healthz", ..] => Route::Healthz,
        ["livez", ..] => Route::Livez,
        ["readyz", ..] => Route::Readyz,
        ["version"] => Route::Version,
        ["cacerts"] => Route::CaCerts,
        ["v1-skiff", "join"] => Route::Join,
        ["api"] => Route::CoreVersions,
        ["api", v] => Route::ResourceList {
            group: String::new(),
            version: v.to_string(),
        },
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis"] => Route::GroupList,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::ResourceList {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3(rest.join("/")),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let reg = registry();
    // /namespaces/NS/PLURAL/... addresses a namespaced kind; /namespaces/NS/status is the
    // namespace's own subresource.
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if reg
                .find(group, version, plural)
                .is_some_and(|r| r.namespaced) =>
        {
            (Some(ns.to_string()), [&[*plural][..], tail].concat())
        }
        _ => (None, rest.to_vec()),
    };
    let Some(plural) = rest.first() else {
        return Route::NotFound;
    };
    let Some(res) = reg.find(group, version, plural) else {
        return Route::NotFound;
    };
    Route::Resource(ResourceRequest {
        res,
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
        subresource: (rest.len() > 2).then(|| rest[2..].join("/")),
    })
}

/// Decoded query parameters (last value wins).
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
    pub fn dry_run(&self) -> bool {
        self.0.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }
}
