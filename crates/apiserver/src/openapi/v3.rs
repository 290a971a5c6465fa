//! OpenAPI v3 documents, one per group/version (`/openapi/v3/apis/apps/v1`), as upstream
//! serves them: `components.schemas` with `allOf`-wrapped references.

use serde_json::{Map, Value, json};

use super::operation::{Body, Operation, PATCH_TYPES, PathSpec, Reply};
use super::params::{In, Param};
use super::schemas::{DELETE_OPTIONS, Definitions, INT_OR_STRING, PATCH, QUANTITY, V2_REF};
use super::v2::status_text;

/// Prefix of a v3 schema reference.
pub(crate) const V3_REF: &str = "#/components/schemas/";

/// The document of one group/version: `paths` holds only that group/version's paths.
pub(crate) fn document(paths: &[PathSpec], defs: &Definitions, version: &str) -> Value {
    let mut path_map = Map::new();
    for p in paths {
        path_map.insert(p.path.clone(), path_item(p));
    }
    let roots = super::paths::referenced_definitions(paths);
    let mut schemas = Map::new();
    for name in defs.closure(roots) {
        if let Some(schema) = defs.defs.get(&name) {
            let mut converted = convert_schema(schema);
            one_of_scalars(&name, &mut converted);
            schemas.insert(name, converted);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": path_map,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        },
    })
}

/// A v2 schema in v3 form: references point at `#/components/schemas/`, and a reference with
/// siblings (a description, patch extensions) becomes `allOf: [{$ref}]` beside them.
pub(crate) fn convert_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut reference = None;
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        let name = r.strip_prefix(V2_REF).unwrap_or(r);
                        reference = Some(Value::String(format!("{V3_REF}{name}")));
                    }
                    _ => {
                        out.insert(k.clone(), convert_schema(child));
                    }
                }
            }
            match reference {
                Some(r) if out.is_empty() => json!({"$ref": r}),
                Some(r) => {
                    out.insert("allOf".into(), json!([{"$ref": r}]));
                    Value::Object(out)
                }
                None => Value::Object(out),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(convert_schema).collect()),
        other => other.clone(),
    }
}

/// Quantity and IntOrString accept two JSON types; v3 says so with `oneOf` (v2 cannot).
fn one_of_scalars(name: &str, schema: &mut Value) {
    let types = match name {
        QUANTITY => ["string", "number"],
        INT_OR_STRING => ["integer", "string"],
        _ => return,
    };
    if let Value::Object(map) = schema {
        map.remove("type");
        map.insert(
            "oneOf".into(),
            json!([{"type": types[0]}, {"type": types[1]}]),
        );
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{V3_REF}{name}")})
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
    v.insert("name".into(), p.name.into());
    v.insert("in".into(), p.location.as_str().into());
    v.insert("description".into(), p.description.clone().into());
    if p.location == In::Path {
        v.insert("required".into(), true.into());
    }
    v.insert(
        "schema".into(),
        json!({"type": p.ty.as_str(), "uniqueItems": true}),
    );
    Value::Object(v)
}

fn content(types: &[&str], schema: &Value) -> Value {
    let mut map = Map::new();
    for t in types {
        map.insert((*t).to_string(), json!({"schema": schema}));
    }
    Value::Object(map)
}

fn operation(op: &Operation) -> Value {
    let mut v = Map::new();
    v.insert("tags".into(), json!([op.tag]));
    v.insert("description".into(), op.description.clone().into());
    v.insert("operationId".into(), op.id.clone().into());
    if !op.params.is_empty() {
        v.insert(
            "parameters".into(),
            Value::Array(op.params.iter().map(param).collect()),
        );
    }
    let body = match &op.body {
        Some(Body::Object(def)) => Some((content(&["*/*"], &reference(def)), true)),
        Some(Body::Patch) => Some((content(PATCH_TYPES, &reference(PATCH)), true)),
        Some(Body::DeleteOptions) => Some((content(&["*/*"], &reference(DELETE_OPTIONS)), false)),
        None => None,
    };
    if let Some((content, required)) = body {
        let mut b = Map::new();
        b.insert("content".into(), content);
        if required {
            b.insert("required".into(), true.into());
        }
        v.insert("requestBody".into(), Value::Object(b));
    }
    let mut responses = Map::new();
    for (code, reply) in &op.replies {
        let schema = match reply {
            Reply::Object(def) => reference(def),
            Reply::Text => json!({"type": "string"}),
        };
        responses.insert(
            (*code).to_string(),
            json!({
                "description": status_text(code),
                "content": content(op.produces.media_types(), &schema),
            }),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    v.insert("responses".into(), Value::Object(responses));
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
