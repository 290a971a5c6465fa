//! The REST operations of each resource (list, create, read, replace, patch, delete,
//! deletecollection, watch, subresources), in a form both the v2 and v3 renderers share.

use skiff_api::Resource;

use super::operation::{Body, Method, Operation, PathSpec, Produces, Reply};
use super::params::{self, Param};
use super::schemas::{API_RESOURCE_LIST, DELETE_OPTIONS, Definitions, PATCH, STATUS, WATCH_EVENT};
use crate::discovery::{Subresource, subresources};

/// "/api/v1" or "/apis/<group>/<version>".
pub(crate) fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// upstream's operation-id infix: "CoreV1", "AppsV1", "RbacAuthorizationV1", "NetworkingV1".
pub(crate) fn gv_camel(group: &str, version: &str) -> String {
    let group = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    let mut out: String = group.split(['.', '-']).map(capitalize).collect();
    out.push_str(&capitalize(version));
    out
}

/// upstream's tag: "core_v1", "apps_v1", "rbacAuthorization_v1".
fn tag(group: &str, version: &str) -> String {
    let camel = gv_camel(group, "");
    let mut chars = camel.chars();
    let lower: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{lower}_{version}")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The path `GET <prefix>/` answering the APIResourceList of a group/version.
pub(crate) fn resources_path(group: &str, version: &str) -> PathSpec {
    PathSpec {
        path: format!("{}/", prefix(group, version)),
        params: vec![],
        ops: vec![Operation {
            method: Method::Get,
            id: format!("get{}APIResources", gv_camel(group, version)),
            description: "get available resources".to_string(),
            tag: tag(group, version),
            action: None,
            gvk: None,
            params: vec![],
            body: None,
            replies: vec![("200", Reply::Object(API_RESOURCE_LIST.to_string()))],
            produces: Produces::Discovery,
            deprecated: false,
        }],
    }
}

/// Builder state for one resource.
struct Ctx<'a> {
    r: &'a Resource,
    gv: String,
    tag: String,
    /// "Namespaced" or "".
    scope: &'static str,
    /// Definition of the kind and of its List.
    def: String,
    list_def: String,
}

impl Ctx<'_> {
    fn op(&self, method: Method, verb: &str, suffix: &str, action: &'static str) -> Operation {
        Operation {
            method,
            id: format!("{verb}{}{}{}{suffix}", self.gv, self.scope, self.r.kind),
            description: String::new(),
            tag: self.tag.clone(),
            action: Some(action),
            gvk: Some((
                self.r.group.to_string(),
                self.r.version.to_string(),
                self.r.kind.to_string(),
            )),
            params: vec![],
            body: None,
            replies: vec![],
            produces: Produces::Object,
            deprecated: false,
        }
    }

    fn has(&self, verb: &str) -> bool {
        self.r.verbs.contains(&verb)
    }
}

/// Every path of one resource. `defs` must already hold the kind (see `Definitions::ensure_kind`).
pub(crate) fn resource_paths(r: &Resource, defs: &Definitions) -> Vec<PathSpec> {
    let def = defs
        .name_of(r.group, r.version, r.kind)
        .unwrap_or(STATUS)
        .to_string();
    let list_def = defs
        .name_of(r.group, r.version, &format!("{}List", r.kind))
        .unwrap_or(STATUS)
        .to_string();
    let c = Ctx {
        r,
        gv: gv_camel(r.group, r.version),
        tag: tag(r.group, r.version),
        scope: if r.namespaced { "Namespaced" } else { "" },
        def,
        list_def,
    };
    let prefix = prefix(r.group, r.version);
    let ns_seg = if r.namespaced {
        "namespaces/{namespace}/"
    } else {
        ""
    };
    let ns_param = || -> Vec<Param> {
        if r.namespaced {
            vec![params::path(
                "namespace",
                "object name and auth scope, such as for teams and projects".to_string(),
            )]
        } else {
            vec![]
        }
    };
    let name_param = params::path("name", format!("name of the {}", r.kind));
    let mut out = Vec::new();

    // Collection.
    let mut ops = Vec::new();
    if c.has("list") {
        let mut op = c.op(Method::Get, "list", "", "list");
        op.description = format!("list or watch objects of kind {}", r.kind);
        op.params = params::query(params::LIST);
        op.replies = vec![("200", Reply::Object(c.list_def.clone()))];
        op.produces = Produces::Stream;
        ops.push(op);
    }
    if c.has("create") {
        let mut op = c.op(Method::Post, "create", "", "post");
        op.description = format!("create a {}", r.kind);
        op.params = params::query(params::WRITE);
        op.body = Some(Body::Object(c.def.clone()));
        op.replies = ["200", "201", "202"]
            .into_iter()
            .map(|code| (code, Reply::Object(c.def.clone())))
            .collect();
        ops.push(op);
    }
    if c.has("deletecollection") {
        let mut op = c.op(Method::Delete, "delete", "", "deletecollection");
        op.id = format!("delete{}Collection{}{}", c.gv, c.scope, r.kind);
        op.description = format!("delete collection of {}", r.kind);
        op.params = params::query(params::DELETE_COLLECTION);
        op.body = Some(Body::DeleteOptions);
        op.replies = vec![("200", Reply::Object(STATUS.to_string()))];
        ops.push(op);
    }
    let mut collection_params = ns_param();
    collection_params.push(params::pretty());
    if !ops.is_empty() {
        out.push(PathSpec {
            path: format!("{prefix}/{ns_seg}{}", r.plural),
            params: collection_params.clone(),
            ops,
        });
    }

    // One object.
    let mut item_params = vec![name_param.clone()];
    item_params.extend(ns_param());
    item_params.push(params::pretty());
    let item_path = format!("{prefix}/{ns_seg}{}/{{name}}", r.plural);
    let mut ops = Vec::new();
    if c.has("get") {
        let mut op = c.op(Method::Get, "read", "", "get");
        op.description = format!("read the specified {}", r.kind);
        op.replies = vec![("200", Reply::Object(c.def.clone()))];
        ops.push(op);
    }
    if c.has("update") {
        ops.push(replace_op(
            &c,
            "",
            &c.def,
            &format!("replace the specified {}", r.kind),
        ));
    }
    if c.has("patch") {
        ops.push(patch_op(
            &c,
            "",
            &c.def,
            &format!("partially update the specified {}", r.kind),
        ));
    }
    if c.has("delete") {
        let mut op = c.op(Method::Delete, "delete", "", "delete");
        op.description = format!("delete a {}", r.kind);
        op.params = params::query(params::DELETE);
        op.body = Some(Body::DeleteOptions);
        op.replies = vec![
            ("200", Reply::Object(STATUS.to_string())),
            ("202", Reply::Object(STATUS.to_string())),
        ];
        ops.push(op);
    }
    if !ops.is_empty() {
        out.push(PathSpec {
            path: item_path.clone(),
            params: item_params.clone(),
            ops,
        });
    }

    // All namespaces.
    if r.namespaced && c.has("list") {
        let mut op = c.op(Method::Get, "list", "ForAllNamespaces", "list");
        op.id = format!("list{}{}ForAllNamespaces", c.gv, r.kind);
        op.description = format!("list or watch objects of kind {}", r.kind);
        op.params = params::query(params::LIST);
        op.replies = vec![("200", Reply::Object(c.list_def.clone()))];
        op.produces = Produces::Stream;
        out.push(PathSpec {
            path: format!("{prefix}/{}", r.plural),
            params: vec![params::pretty()],
            ops: vec![op],
        });
    }

    if c.has("watch") {
        out.extend(watch_paths(
            &c,
            &prefix,
            ns_seg,
            &collection_params,
            &item_params,
        ));
    }

    for s in subresources(r) {
        if let Some(p) = subresource_path(&c, &s, &item_path, &item_params, defs) {
            out.push(p);
        }
    }
    out
}

fn replace_op(c: &Ctx<'_>, suffix: &str, def: &str, description: &str) -> Operation {
    let mut op = c.op(Method::Put, "replace", suffix, "put");
    op.description = description.to_string();
    op.params = params::query(params::WRITE);
    op.body = Some(Body::Object(def.to_string()));
    op.replies = vec![
        ("200", Reply::Object(def.to_string())),
        ("201", Reply::Object(def.to_string())),
    ];
    op
}

fn patch_op(c: &Ctx<'_>, suffix: &str, def: &str, description: &str) -> Operation {
    let mut op = c.op(Method::Patch, "patch", suffix, "patch");
    op.description = description.to_string();
    op.params = params::query(params::PATCH);
    op.body = Some(Body::Patch);
    op.replies = vec![
        ("200", Reply::Object(def.to_string())),
        ("201", Reply::Object(def.to_string())),
    ];
    op
}

fn watch_paths(
    c: &Ctx<'_>,
    prefix: &str,
    ns_seg: &str,
    collection_params: &[Param],
    item_params: &[Param],
) -> Vec<PathSpec> {
    let r = c.r;
    let with_list = |mut ps: Vec<Param>| {
        ps.extend(params::query(params::LIST));
        ps
    };
    let watch = |id: String, action: &'static str, description: String| {
        let mut op = c.op(Method::Get, "watch", "", action);
        op.id = id;
        op.description = description;
        op.replies = vec![("200", Reply::Object(WATCH_EVENT.to_string()))];
        op.produces = Produces::Stream;
        op.deprecated = true;
        op
    };
    let mut out = vec![
        PathSpec {
            path: format!("{prefix}/watch/{ns_seg}{}", r.plural),
            params: with_list(collection_params.to_vec()),
            ops: vec![watch(
                format!("watch{}{}{}List", c.gv, c.scope, r.kind),
                "watchlist",
                format!(
                    "watch individual changes to a list of {}. deprecated: use the 'watch' parameter with a list operation instead.",
                    r.kind
                ),
            )],
        },
        PathSpec {
            path: format!("{prefix}/watch/{ns_seg}{}/{{name}}", r.plural),
            params: with_list(item_params.to_vec()),
            ops: vec![watch(
                format!("watch{}{}{}", c.gv, c.scope, r.kind),
                "watch",
                format!(
                    "watch changes to an object of kind {}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
                    r.kind
                ),
            )],
        },
    ];
    if r.namespaced {
        out.push(PathSpec {
            path: format!("{prefix}/watch/{}", r.plural),
            params: with_list(vec![params::pretty()]),
            ops: vec![watch(
                format!("watch{}{}ListForAllNamespaces", c.gv, r.kind),
                "watchlist",
                format!("watch individual changes to a list of {}. deprecated: use the 'watch' parameter with a list operation instead.", r.kind),
            )],
        });
    }
    out
}

fn subresource_path(
    c: &Ctx<'_>,
    s: &Subresource,
    item_path: &str,
    item_params: &[Param],
    defs: &Definitions,
) -> Option<PathSpec> {
    let r = c.r;
    let suffix = capitalize(s.name);
    let gvk = s
        .kind
        .map(|(g, v, k)| (g.to_string(), v.to_string(), k.to_string()));
    let def = match s.kind {
        Some((g, v, k)) => defs.name_of(g, v, k).map(str::to_string),
        None => Some(c.def.clone()),
    };
    let with_gvk = |mut op: Operation| {
        if let Some(gvk) = &gvk {
            op.gvk = Some(gvk.clone());
        }
        op
    };
    let has = |verb: &str| s.verbs.contains(&verb);
    let mut ops = Vec::new();
    let mut path_params = item_params.to_vec();
    match (s.name, def) {
        ("log", _) => {
            let mut op = c.op(Method::Get, "read", &suffix, "get");
            op.description = format!("read log of the specified {}", r.kind);
            op.params = params::query(params::LOG);
            op.replies = vec![("200", Reply::Text)];
            op.produces = Produces::Text;
            ops.push(op);
        }
        ("exec" | "attach" | "portforward", _) => {
            let query = match s.name {
                "exec" => params::EXEC,
                "attach" => params::ATTACH,
                _ => params::PORTFORWARD,
            };
            path_params.retain(|p| p.name != "pretty");
            for (method, verb) in [(Method::Get, "Get"), (Method::Post, "Post")] {
                let mut op = with_gvk(c.op(method, "connect", "", "connect"));
                op.id = format!("connect{}{verb}{}{}{suffix}", c.gv, c.scope, r.kind);
                op.description = format!("connect {verb} requests to {} of {}", s.name, r.kind);
                op.params = params::query(query);
                op.replies = vec![("200", Reply::Text)];
                op.produces = Produces::Text;
                ops.push(op);
            }
        }
        (_, Some(def)) => {
            if has("get") {
                let mut op = with_gvk(c.op(Method::Get, "read", &suffix, "get"));
                op.description = format!("read {} of the specified {}", s.name, r.kind);
                op.replies = vec![("200", Reply::Object(def.clone()))];
                ops.push(op);
            }
            if has("update") {
                let d = format!("replace {} of the specified {}", s.name, r.kind);
                ops.push(with_gvk(replace_op(c, &suffix, &def, &d)));
            }
            if has("patch") {
                let d = format!("partially update {} of the specified {}", s.name, r.kind);
                ops.push(with_gvk(patch_op(c, &suffix, &def, &d)));
            }
            if has("create") {
                let mut op = with_gvk(c.op(Method::Post, "create", &suffix, "post"));
                op.description = format!("create {} of a {}", s.name, r.kind);
                op.params = params::query(params::WRITE);
                op.body = Some(Body::Object(def.clone()));
                op.replies = ["200", "201", "202"]
                    .into_iter()
                    .map(|code| (code, Reply::Object(def.clone())))
                    .collect();
                ops.push(op);
            }
        }
        (_, None) => return None,
    }
    if ops.is_empty() {
        return None;
    }
    Some(PathSpec {
        path: format!("{item_path}/{}", s.name),
        params: path_params,
        ops,
    })
}

/// Definitions a set of paths refers to directly.
pub(crate) fn referenced_definitions(paths: &[PathSpec]) -> Vec<&str> {
    let mut out = Vec::new();
    for p in paths {
        for op in &p.ops {
            match &op.body {
                Some(Body::Object(d)) => out.push(d.as_str()),
                Some(Body::Patch) => out.push(PATCH),
                Some(Body::DeleteOptions) => out.push(DELETE_OPTIONS),
                None => {}
            }
            for (_, reply) in &op.replies {
                if let Reply::Object(d) = reply {
                    out.push(d.as_str());
                }
            }
        }
    }
    out
}
