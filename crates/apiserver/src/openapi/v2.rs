//! The OpenAPI v2 (Swagger 2.0) document: paths and definitions as upstream serves at
//! `/openapi/v2`.

use serde_json::{Map, Value, json};

use super::operation::{Body, Operation, PATCH_TYPES, PathSpec, Reply};
use super::params::Param;
use super::schemas::{DELETE_OPTIONS, Definitions, PATCH, V2_REF};

/// The whole document.
pub(crate) fn document(paths: &[PathSpec], defs: &Definitions, version: &str) -> Value {
    let mut path_map = Map::new();
    for p in paths {
        path_map.insert(p.path.clone(), path_item(p));
    }
    let roots = super::paths::referenced_definitions(paths);
    let mut definitions = Map::new();
    for name in defs.closure(roots) {
        if let Some(schema) = defs.defs.get(&name) {
            definitions.insert(name, schema.clone());
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": path_map,
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            },
        },
        "security": [{"BearerToken": []}],
    })
}

fn path_item(p: &PathSpec) -> Value {
    let mut item = Map::new();
    for op in &p.ops {
        item.insert(op.method.as_str().to_string(), operation(op));
    }
    if !p.params.is_empty() {
        item.insert(
            "parameters".into(),
            Value::Array(p.params.iter().map(param).collect()),
        );
    }
    Value::Object(item)
}

fn param(p: &Param) -> Value {
    let mut v = Map::new();
    v.insert("uniqueItems".into(), true.into());
    v.insert("type".into(), p.ty.as_str().into());
    v.insert("description".into(), p.description.clone().into());
    v.insert("name".into(), p.name.into());
    v.insert("in".into(), p.location.as_str().into());
    if p.location == super::params::In::Path {
        v.insert("required".into(), true.into());
    }
    Value::Object(v)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{V2_REF}{name}")})
}

fn operation(op: &Operation) -> Value {
    let mut v = Map::new();
    let consumes: Vec<&str> = match &op.body {
        Some(Body::Patch) => PATCH_TYPES.to_vec(),
        _ => vec!["*/*"],
    };
    v.insert("consumes".into(), json!(consumes));
    v.insert("description".into(), op.description.clone().into());
    v.insert("operationId".into(), op.id.clone().into());
    let mut params: Vec<Value> = Vec::new();
    match &op.body {
        Some(Body::Object(def)) => params.push(body_param(reference(def), true)),
        Some(Body::Patch) => params.push(body_param(reference(PATCH), true)),
        Some(Body::DeleteOptions) => params.push(body_param(reference(DELETE_OPTIONS), false)),
        None => {}
    }
    params.extend(op.params.iter().map(param));
    if !params.is_empty() {
        v.insert("parameters".into(), Value::Array(params));
    }
    v.insert("produces".into(), json!(op.produces.media_types()));
    let mut responses = Map::new();
    for (code, reply) in &op.replies {
        let mut r = Map::new();
        r.insert("description".into(), status_text(code).into());
        r.insert(
            "schema".into(),
            match reply {
                Reply::Object(def) => reference(def),
                Reply::Text => json!({"type": "string"}),
            },
        );
        responses.insert((*code).to_string(), Value::Object(r));
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    v.insert("responses".into(), Value::Object(responses));
    v.insert("schemes".into(), json!(["https"]));
    v.insert("tags".into(), json!([op.tag]));
    if op.deprecated {
        v.insert("deprecated".into(), true.into());
    }
    if let Some(action) = op.action {
        v.insert("x-kubernetes-action".into(), action.into());
    }
    if let Some((group, version, kind)) = &op.gvk {
        v.insert(
            "x-kubernetes-group-version-kind".into(),
            json!({"group": group, "kind": kind, "version": version}),
        );
    }
    Value::Object(v)
}

fn body_param(schema: Value, required: bool) -> Value {
    let mut v = Map::new();
    v.insert("name".into(), "body".into());
    v.insert("in".into(), "body".into());
    if required {
        v.insert("required".into(), true.into());
    }
    v.insert("schema".into(), schema);
    Value::Object(v)
}

/// The response description upstream uses for a status code.
pub(crate) fn status_text(code: &str) -> &'static str {
    match code {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "401" => "Unauthorized",
        _ => "",
    }
}
