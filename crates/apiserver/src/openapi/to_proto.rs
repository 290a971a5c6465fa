//! Converts the OpenAPI v2 JSON document into gnostic's protobuf `Document`.

use serde_json::{Map, Value};

use super::OpenApiError;
use super::proto::{
    self, AdditionalPropertiesItem, Any, ApiKeySecurity, BodyParameter, Document, Info, ItemsItem,
    NamedAny, NamedPathItem, NamedResponseValue, NamedSchema, NamedSecurityDefinitionsItem,
    NamedStringArray, NonBodyParameter, Parameter, ParametersItem, PathItem,
    PathParameterSubSchema, Paths, Properties, QueryParameterSubSchema, Response, ResponseValue,
    Responses, Schema, SchemaItem, SecurityDefinitions, SecurityDefinitionsItem,
    SecurityRequirement, StringArray, TypeItem,
};

fn text(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(map: &Map<String, Value>, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn boolean(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn number(map: &Map<String, Value>, key: &str) -> f64 {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn int(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// An arbitrary value as gnostic stores it: YAML text (we write JSON, which is YAML).
pub(crate) fn any(v: &Value) -> Any {
    Any {
        yaml: format!("{v}\n"),
    }
}

/// The `x-` keys of an object as vendor extensions.
fn extensions(map: &Map<String, Value>) -> Vec<NamedAny> {
    map.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| NamedAny {
            name: k.clone(),
            value: Some(any(v)),
        })
        .collect()
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, OpenApiError> {
    v.as_object()
        .ok_or_else(|| OpenApiError::Shape(format!("{what} is not an object")))
}

/// The whole document.
pub(crate) fn document(doc: &Value) -> Result<Document, OpenApiError> {
    let doc = object(doc, "document")?;
    let info = doc.get("info").and_then(Value::as_object).map(|i| Info {
        title: text(i, "title"),
        version: text(i, "version"),
        description: text(i, "description"),
        vendor_extension: extensions(i),
    });
    let mut paths = Vec::new();
    if let Some(p) = doc.get("paths").and_then(Value::as_object) {
        for (name, item) in p {
            paths.push(NamedPathItem {
                name: name.clone(),
                value: Some(path_item(object(item, name)?)?),
            });
        }
    }
    let mut definitions = Vec::new();
    if let Some(d) = doc.get("definitions").and_then(Value::as_object) {
        for (name, schema) in d {
            definitions.push(NamedSchema {
                name: name.clone(),
                value: Some(self::schema(schema)),
            });
        }
    }
    let security_definitions = doc
        .get("securityDefinitions")
        .and_then(Value::as_object)
        .map(|defs| SecurityDefinitions {
            additional_properties: defs
                .iter()
                .filter_map(|(name, v)| {
                    let v = v.as_object()?;
                    (text(v, "type") == "apiKey").then(|| NamedSecurityDefinitionsItem {
                        name: name.clone(),
                        value: Some(SecurityDefinitionsItem {
                            oneof: Some(proto::security_definitions_item::Oneof::ApiKeySecurity(
                                ApiKeySecurity {
                                    r#type: text(v, "type"),
                                    name: text(v, "name"),
                                    r#in: text(v, "in"),
                                    description: text(v, "description"),
                                    vendor_extension: extensions(v),
                                },
                            )),
                        }),
                    })
                })
                .collect(),
        });
    let security = doc
        .get("security")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .map(|req| SecurityRequirement {
                    additional_properties: req
                        .keys()
                        .map(|name| NamedStringArray {
                            name: name.clone(),
                            value: Some(StringArray {
                                value: strings(req, name),
                            }),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Document {
        swagger: text(doc, "swagger"),
        info,
        host: text(doc, "host"),
        base_path: text(doc, "basePath"),
        schemes: strings(doc, "schemes"),
        consumes: strings(doc, "consumes"),
        produces: strings(doc, "produces"),
        paths: Some(Paths {
            vendor_extension: vec![],
            path: paths,
        }),
        definitions: Some(proto::Definitions {
            additional_properties: definitions,
        }),
        security,
        security_definitions,
        vendor_extension: extensions(doc),
    })
}

fn path_item(item: &Map<String, Value>) -> Result<PathItem, OpenApiError> {
    let op = |method: &str| -> Result<Option<proto::Operation>, OpenApiError> {
        item.get(method)
            .map(|o| operation(object(o, method)?))
            .transpose()
    };
    Ok(PathItem {
        r#ref: text(item, "$ref"),
        get: op("get")?,
        put: op("put")?,
        post: op("post")?,
        delete: op("delete")?,
        options: op("options")?,
        head: op("head")?,
        patch: op("patch")?,
        parameters: parameters(item)?,
        vendor_extension: extensions(item),
    })
}

fn parameters(map: &Map<String, Value>) -> Result<Vec<ParametersItem>, OpenApiError> {
    let Some(list) = map.get("parameters").and_then(Value::as_array) else {
        return Ok(vec![]);
    };
    list.iter()
        .map(|p| {
            let p = object(p, "parameter")?;
            let parameter = match text(p, "in").as_str() {
                "body" => proto::parameter::Oneof::BodyParameter(BodyParameter {
                    description: text(p, "description"),
                    name: text(p, "name"),
                    r#in: "body".to_string(),
                    required: boolean(p, "required"),
                    schema: p.get("schema").map(schema),
                    vendor_extension: extensions(p),
                }),
                "query" => non_body(proto::non_body_parameter::Oneof::QueryParameterSubSchema(
                    QueryParameterSubSchema {
                        required: boolean(p, "required"),
                        r#in: "query".to_string(),
                        description: text(p, "description"),
                        name: text(p, "name"),
                        r#type: text(p, "type"),
                        unique_items: boolean(p, "uniqueItems"),
                        vendor_extension: extensions(p),
                    },
                )),
                "path" => non_body(proto::non_body_parameter::Oneof::PathParameterSubSchema(
                    PathParameterSubSchema {
                        required: boolean(p, "required"),
                        r#in: "path".to_string(),
                        description: text(p, "description"),
                        name: text(p, "name"),
                        r#type: text(p, "type"),
                        unique_items: boolean(p, "uniqueItems"),
                        vendor_extension: extensions(p),
                    },
                )),
                other => {
                    return Err(OpenApiError::Shape(format!(
                        "parameter location {other:?} is not supported"
                    )));
                }
            };
            Ok(ParametersItem {
                oneof: Some(proto::parameters_item::Oneof::Parameter(Parameter {
                    oneof: Some(parameter),
                })),
            })
        })
        .collect()
}

fn non_body(oneof: proto::non_body_parameter::Oneof) -> proto::parameter::Oneof {
    proto::parameter::Oneof::NonBodyParameter(NonBodyParameter { oneof: Some(oneof) })
}

fn operation(op: &Map<String, Value>) -> Result<proto::Operation, OpenApiError> {
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|rs| Responses {
            response_code: rs
                .iter()
                .filter_map(|(code, r)| {
                    let r = r.as_object()?;
                    Some(NamedResponseValue {
                        name: code.clone(),
                        value: Some(ResponseValue {
                            oneof: Some(proto::response_value::Oneof::Response(Response {
                                description: text(r, "description"),
                                schema: r.get("schema").map(|s| SchemaItem {
                                    oneof: Some(proto::schema_item::Oneof::Schema(schema(s))),
                                }),
                                vendor_extension: extensions(r),
                            })),
                        }),
                    })
                })
                .collect(),
            vendor_extension: vec![],
        });
    Ok(proto::Operation {
        tags: strings(op, "tags"),
        summary: text(op, "summary"),
        description: text(op, "description"),
        operation_id: text(op, "operationId"),
        produces: strings(op, "produces"),
        consumes: strings(op, "consumes"),
        parameters: parameters(op)?,
        responses,
        schemes: strings(op, "schemes"),
        deprecated: boolean(op, "deprecated"),
        vendor_extension: extensions(op),
    })
}

/// One JSON schema. Unknown keywords are dropped; a non-object schema becomes empty.
pub(crate) fn schema(v: &Value) -> Schema {
    let Some(m) = v.as_object() else {
        return Schema::default();
    };
    let r#type = match m.get("type") {
        Some(Value::String(t)) => Some(TypeItem {
            value: vec![t.clone()],
        }),
        Some(Value::Array(ts)) => Some(TypeItem {
            value: ts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        }),
        _ => None,
    };
    let items = match m.get("items") {
        Some(Value::Array(list)) => Some(ItemsItem {
            schema: list.iter().map(schema).collect(),
        }),
        Some(one @ Value::Object(_)) => Some(ItemsItem {
            schema: vec![schema(one)],
        }),
        _ => None,
    };
    let additional_properties = match m.get("additionalProperties") {
        Some(Value::Bool(b)) => Some(Box::new(AdditionalPropertiesItem {
            oneof: Some(proto::additional_properties_item::Oneof::Boolean(*b)),
        })),
        Some(s @ Value::Object(_)) => Some(Box::new(AdditionalPropertiesItem {
            oneof: Some(proto::additional_properties_item::Oneof::Schema(schema(s))),
        })),
        _ => None,
    };
    let properties = m
        .get("properties")
        .and_then(Value::as_object)
        .map(|ps| Properties {
            additional_properties: ps
                .iter()
                .map(|(name, s)| NamedSchema {
                    name: name.clone(),
                    value: Some(schema(s)),
                })
                .collect(),
        });
    Schema {
        r#ref: text(m, "$ref"),
        format: text(m, "format"),
        title: text(m, "title"),
        description: text(m, "description"),
        default: m.get("default").map(any),
        multiple_of: number(m, "multipleOf"),
        maximum: number(m, "maximum"),
        exclusive_maximum: boolean(m, "exclusiveMaximum"),
        minimum: number(m, "minimum"),
        exclusive_minimum: boolean(m, "exclusiveMinimum"),
        max_length: int(m, "maxLength"),
        min_length: int(m, "minLength"),
        pattern: text(m, "pattern"),
        max_items: int(m, "maxItems"),
        min_items: int(m, "minItems"),
        unique_items: boolean(m, "uniqueItems"),
        max_properties: int(m, "maxProperties"),
        min_properties: int(m, "minProperties"),
        required: strings(m, "required"),
        r#enum: m
            .get("enum")
            .and_then(Value::as_array)
            .map(|e| e.iter().map(any).collect())
            .unwrap_or_default(),
        additional_properties,
        r#type,
        items,
        all_of: m
            .get("allOf")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(schema).collect())
            .unwrap_or_default(),
        properties,
        discriminator: text(m, "discriminator"),
        read_only: boolean(m, "readOnly"),
        example: m.get("example").map(any),
        vendor_extension: extensions(m),
    }
}
