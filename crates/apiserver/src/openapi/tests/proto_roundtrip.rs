//! The protobuf v2 document decodes back to the JSON document it was made from.

use prost::Message;
use serde_json::{Map, Value, json};

use super::super::INFO_VERSION;
use super::super::proto::{self, Document, Schema};
use super::{docs, v2};

/// The JSON a decoded protobuf schema stands for (the subset we emit).
fn schema_json(s: &Schema) -> Value {
    let mut m = Map::new();
    let mut text = |k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.into(), v.into());
        }
    };
    text("$ref", &s.r#ref);
    text("format", &s.format);
    text("title", &s.title);
    text("description", &s.description);
    text("pattern", &s.pattern);
    let any = |a: &proto::Any| serde_json::from_str::<Value>(&a.yaml).unwrap_or_default();
    if let Some(d) = &s.default {
        m.insert("default".into(), any(d));
    }
    if !s.required.is_empty() {
        m.insert("required".into(), json!(s.required));
    }
    if !s.r#enum.is_empty() {
        m.insert("enum".into(), s.r#enum.iter().map(any).collect());
    }
    if let Some(t) = &s.r#type {
        m.insert(
            "type".into(),
            match t.value.as_slice() {
                [one] => one.as_str().into(),
                many => json!(many),
            },
        );
    }
    if let Some([one]) = s.items.as_ref().map(|i| i.schema.as_slice()) {
        m.insert("items".into(), schema_json(one));
    }
    match s
        .additional_properties
        .as_deref()
        .and_then(|a| a.oneof.as_ref())
    {
        Some(proto::additional_properties_item::Oneof::Schema(a)) => {
            m.insert("additionalProperties".into(), schema_json(a));
        }
        Some(proto::additional_properties_item::Oneof::Boolean(b)) => {
            m.insert("additionalProperties".into(), (*b).into());
        }
        None => {}
    }
    if !s.all_of.is_empty() {
        m.insert("allOf".into(), s.all_of.iter().map(schema_json).collect());
    }
    if let Some(p) = &s.properties {
        let props: Map<String, Value> = p
            .additional_properties
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    n.value.as_ref().map(schema_json).unwrap_or_default(),
                )
            })
            .collect();
        m.insert("properties".into(), Value::Object(props));
    }
    if s.unique_items {
        m.insert("uniqueItems".into(), true.into());
    }
    if s.read_only {
        m.insert("readOnly".into(), true.into());
    }
    for ext in &s.vendor_extension {
        m.insert(
            ext.name.clone(),
            ext.value.as_ref().map(any).unwrap_or_default(),
        );
    }
    Value::Object(m)
}

#[test]
fn protobuf_decodes_back_to_the_json_document() {
    let decoded = Document::decode(docs().v2_protobuf());
    assert!(decoded.is_ok(), "{decoded:?}");
    let decoded = decoded.unwrap_or_default();
    let json_doc = v2();
    assert_eq!(decoded.swagger, "2.0");
    assert_eq!(
        decoded.info.as_ref().map(|i| i.version.as_str()),
        Some(INFO_VERSION)
    );
    let defs = decoded
        .definitions
        .unwrap_or_default()
        .additional_properties;
    let json_defs = json_doc["definitions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(defs.len(), json_defs.len());
    for d in &defs {
        let back = d.value.as_ref().map(schema_json).unwrap_or_default();
        assert_eq!(back, json_defs[&d.name], "definition {} differs", d.name);
    }
    // The QueryParamVerifier (v2) view of the PATCH operation.
    let paths = decoded.paths.unwrap_or_default().path;
    assert_eq!(
        paths.len(),
        json_doc["paths"].as_object().map(Map::len).unwrap_or(0)
    );
    let item = paths
        .iter()
        .find(|p| p.name == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .and_then(|p| p.value.clone())
        .unwrap_or_default();
    let patch = item.patch.unwrap_or_default();
    let gvk = patch
        .vendor_extension
        .iter()
        .find(|e| e.name == "x-kubernetes-group-version-kind")
        .and_then(|e| e.value.as_ref())
        .and_then(|a| serde_json::from_str::<Value>(&a.yaml).ok());
    assert_eq!(
        gvk,
        Some(json!({"group": "apps", "kind": "Deployment", "version": "v1"}))
    );
    let query_names: Vec<String> = patch
        .parameters
        .iter()
        .filter_map(|p| match &p.oneof {
            Some(proto::parameters_item::Oneof::Parameter(proto::Parameter {
                oneof: Some(proto::parameter::Oneof::NonBodyParameter(nb)),
            })) => match &nb.oneof {
                Some(proto::non_body_parameter::Oneof::QueryParameterSubSchema(q)) => {
                    Some(q.name.clone())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(query_names.iter().any(|n| n == "fieldValidation"));
    let body = patch.parameters.first().and_then(|p| match &p.oneof {
        Some(proto::parameters_item::Oneof::Parameter(proto::Parameter {
            oneof: Some(proto::parameter::Oneof::BodyParameter(b)),
        })) => b.schema.as_ref().map(|s| s.r#ref.clone()),
        _ => None,
    });
    assert_eq!(
        body.as_deref(),
        Some("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch")
    );
}
