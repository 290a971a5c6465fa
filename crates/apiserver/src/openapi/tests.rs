//! Tests of the OpenAPI documents.

use std::sync::OnceLock;

use prost::Message;
use serde_json::{Map, Value, json};

use super::proto::Document;
use super::*;
use crate::discovery::tests::fixture;

mod proto_roundtrip;
use skiff_api::Resource;

fn docs() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(|| Documents::build(&fixture()).unwrap_or_default())
}

fn v3(path: &str) -> Value {
    docs()
        .v3_document(path)
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default()
}

fn v2() -> Value {
    serde_json::from_slice(docs().v2_json()).unwrap_or_default()
}

/// Follows `$ref` / single `allOf` references of a v3 schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

#[test]
fn generation_time() {
    let started = std::time::Instant::now();
    let built = Documents::build(&fixture());
    let elapsed = started.elapsed();
    assert!(built.is_ok());
    // Generous bound for an unoptimized build on a busy machine.
    assert!(elapsed.as_secs() < 10, "{elapsed:?}");
    println!("generation took {elapsed:?}");
}

#[test]
fn definitions_use_upstream_names() {
    let doc = v2();
    let defs = &doc["definitions"];
    for name in [
        "io.k8s.api.core.v1.Pod",
        "io.k8s.api.core.v1.PodList",
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.api.core.v1.Container",
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.api.autoscaling.v1.Scale",
        "io.k8s.api.policy.v1.Eviction",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        "dev.skiff.example.v1.Widget",
    ] {
        assert!(defs.get(name).is_some(), "missing {name}");
    }
    assert_eq!(
        defs["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    assert_eq!(
        defs["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "DeploymentList", "version": "v1"}])
    );
    assert_eq!(
        defs["io.k8s.api.core.v1.Pod"]["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(defs["io.k8s.api.core.v1.Pod"].get("required").is_none());
    assert!(
        defs["io.k8s.api.apps.v1.Deployment"]
            .get("required")
            .is_none()
    );
    assert_eq!(
        defs["io.k8s.api.apps.v1.DeploymentSpec"]["required"],
        json!(["selector", "template"])
    );
    let int_or_string = &defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(int_or_string["type"], "string");
    assert_eq!(int_or_string["format"], "int-or-string");
    assert_eq!(
        defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"],
        "string"
    );
    assert_eq!(
        defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
        "date-time"
    );
    let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    let mounts = &defs["io.k8s.api.core.v1.Container"]["properties"]["volumeMounts"];
    assert_eq!(mounts["x-kubernetes-patch-merge-key"], "mountPath");
    let delete_gvks = defs["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
        ["x-kubernetes-group-version-kind"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        delete_gvks.contains(&json!({"group": "apps", "kind": "DeleteOptions", "version": "v1"}))
    );
}

#[test]
fn v2_has_upstream_paths_and_operations() {
    let doc = v2();
    let paths = &doc["paths"];
    let item = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    assert_eq!(
        item["patch"]["operationId"],
        "patchAppsV1NamespacedDeployment"
    );
    assert_eq!(item["patch"]["x-kubernetes-action"], "patch");
    assert_eq!(
        item["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "kind": "Deployment", "version": "v1"})
    );
    let names: Vec<&str> = item["patch"]["parameters"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        ["body", "dryRun", "fieldManager", "fieldValidation", "force"]
    );
    assert_eq!(
        paths["/api/v1/pods"]["get"]["operationId"],
        "listCoreV1PodForAllNamespaces"
    );
    assert_eq!(
        paths["/api/v1/namespaces"]["post"]["operationId"],
        "createCoreV1Namespace"
    );
    assert_eq!(
        paths["/api/v1/namespaces/{namespace}/pods"]["delete"]["x-kubernetes-action"],
        "deletecollection"
    );
    assert_eq!(
        paths["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"]["x-kubernetes-action"],
        "watch"
    );
    let scale = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["put"]["operationId"],
        "replaceAppsV1NamespacedDeploymentScale"
    );
    assert_eq!(
        scale["put"]["x-kubernetes-group-version-kind"]["kind"],
        "Scale"
    );
    let log = &paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"];
    assert_eq!(log["operationId"], "readCoreV1NamespacedPodLog");
    let exec = &paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"];
    assert_eq!(exec["x-kubernetes-action"], "connect");
    assert_eq!(exec["operationId"], "connectCoreV1PostNamespacedPodExec");
    let eviction = &paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
    assert_eq!(
        eviction["parameters"][0]["schema"]["$ref"],
        "#/definitions/io.k8s.api.policy.v1.Eviction"
    );
    assert_eq!(
        paths["/apis/example.skiff.dev/v1beta1/widgets"]["get"]["operationId"],
        "listExampleSkiffDevV1beta1WidgetForAllNamespaces"
    );
}

#[test]
fn v3_root_lists_group_versions_with_hashes() {
    let root = docs().v3_root();
    for key in [
        "api/v1",
        "apis/apps/v1",
        "apis/example.skiff.dev/v1",
        "apis/example.skiff.dev/v1beta1",
    ] {
        let url = root["paths"][key]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        let hash = docs().v3_hash(key).unwrap_or_default();
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
        assert_eq!(hash.len(), 128);
    }
    assert!(docs().v3_document("/apis/apps/v1").is_some());
    assert!(docs().v3_document("apis/apps/v2").is_none());
}

/// What kubectl's QueryParamVerifierV3 does: the first PATCH operation for the kind must
/// list the parameter.
fn supports_query_param(doc: &Value, gvk: Value, param: &str) -> bool {
    let mut found = false;
    for item in doc["paths"].as_object().into_iter().flat_map(Map::values) {
        let op = &item["patch"];
        if op["x-kubernetes-group-version-kind"] != gvk {
            continue;
        }
        found = true;
        let has = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "query"));
        if !has {
            return false;
        }
    }
    found
}

#[test]
fn v3_document_supports_server_side_field_validation() {
    let apps = v3("apis/apps/v1");
    assert_eq!(apps["openapi"], "3.0.0");
    let deploy = json!({"group": "apps", "kind": "Deployment", "version": "v1"});
    assert!(supports_query_param(
        &apps,
        deploy.clone(),
        "fieldValidation"
    ));
    assert!(supports_query_param(&apps, deploy, "dryRun"));
    let core = v3("api/v1");
    let pod = json!({"group": "", "kind": "Pod", "version": "v1"});
    assert!(supports_query_param(&core, pod, "fieldValidation"));
    let widget = json!({"group": "example.skiff.dev", "kind": "Widget", "version": "v1"});
    assert!(supports_query_param(
        &v3("apis/example.skiff.dev/v1"),
        widget,
        "fieldValidation"
    ));
    let post = &core["paths"]["/api/v1/namespaces/{namespace}/pods"]["post"];
    assert!(
        post["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "fieldValidation"))
    );
    assert_eq!(
        post["requestBody"]["content"]["*/*"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.Pod"
    );
}

#[test]
fn v3_schemas_resolve_like_kubectl_explain() {
    let doc = v3("apis/apps/v1");
    let schemas = doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let deployment = schemas
        .values()
        .find(|s| {
            s["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|g| {
                    g.contains(&json!({"group": "apps", "kind": "Deployment", "version": "v1"}))
                })
        })
        .cloned()
        .unwrap_or_default();
    let spec_prop = &deployment["properties"]["spec"];
    assert!(
        spec_prop["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(
        spec_prop["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
    );
    let spec = resolve(&doc, spec_prop);
    let strategy = resolve(&doc, &spec["properties"]["strategy"]);
    assert_eq!(
        spec["properties"]["strategy"]["x-kubernetes-patch-strategy"],
        "retainKeys"
    );
    for field in ["type", "rollingUpdate"] {
        let d = strategy["properties"][field]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(!d.is_empty(), "strategy.{field} has no description");
    }
    let max_surge = resolve(
        &doc,
        &resolve(&doc, &strategy["properties"]["rollingUpdate"])["properties"]["maxSurge"],
    );
    assert_eq!(max_surge["format"], "int-or-string");
    assert_eq!(
        max_surge["oneOf"],
        json!([{"type": "integer"}, {"type": "string"}])
    );
    // Every reference resolves inside the document.
    let mut refs = Vec::new();
    collect_v3_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(schemas.contains_key(name), "dangling {r}");
    }
}

fn collect_v3_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                match (k.as_str(), c) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_v3_refs(c, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_v3_refs(c, out)),
        _ => {}
    }
}

#[test]
fn every_known_kind_builds_with_resolvable_references() {
    let resources: Vec<Resource> = kinds::known_kinds()
        .into_iter()
        .map(|k| {
            let plural: &'static str =
                Box::leak(format!("{}s", k.kind.to_lowercase()).into_boxed_str());
            Resource {
                group: k.group,
                version: k.version,
                kind: k.kind,
                plural,
                singular: plural,
                namespaced: true,
                short_names: &[],
                categories: &[],
                has_status: true,
                has_scale: true,
                verbs: &[
                    "create",
                    "delete",
                    "deletecollection",
                    "get",
                    "list",
                    "patch",
                    "update",
                    "watch",
                ],
                storage_version: k.version,
                storage_group: k.group,
            }
        })
        .collect();
    let docs = Documents::build(&resources);
    assert!(docs.is_ok());
    let docs = docs.unwrap_or_default();
    let root = docs.v3_root();
    let keys: Vec<String> = root["paths"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert!(keys.len() > 30, "{keys:?}");
    for key in keys {
        let doc: Value = docs
            .v3_document(&key)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let mut refs = Vec::new();
        collect_v3_refs(&doc, &mut refs);
        for r in refs {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(schemas.get(name).is_some(), "{key}: dangling {r}");
        }
    }
    assert!(Document::decode(docs.v2_protobuf()).is_ok());
}

#[test]
fn accept_header_selects_protobuf() {
    assert!(wants_v2_protobuf(
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    ));
    assert!(wants_v2_protobuf(
        "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    ));
    assert!(!wants_v2_protobuf("application/json"));
    assert!(!wants_v2_protobuf(""));
}

/// Writes every document for the test registry into `$SKIFF_OPENAPI_DUMP` (for trying them
/// with a real kubectl behind a throw-away file server). Run with `--ignored`.
#[test]
#[ignore]
fn dump_documents() {
    use crate::discovery::{self, AggregatedKind, DiscoveryVersion};
    let Ok(dir) = std::env::var("SKIFF_OPENAPI_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    // SKIFF_OPENAPI_DUMP_REGISTRY=1 dumps the process-wide registry instead of the fixture.
    let resources = if std::env::var_os("SKIFF_OPENAPI_DUMP_REGISTRY").is_some() {
        skiff_api::registry().all().to_vec()
    } else {
        fixture()
    };
    let started = std::time::Instant::now();
    let built = Documents::build(&resources);
    println!("built in {:?}", started.elapsed());
    assert!(built.is_ok());
    let built = built.unwrap_or_default();
    let docs = || &built;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("openapi/v2.json".into(), docs().v2_json().to_vec()),
        ("openapi/v2.pb".into(), docs().v2_protobuf().to_vec()),
        (
            "openapi/v3.json".into(),
            docs().v3_root().to_string().into_bytes(),
        ),
        (
            "api.json".into(),
            discovery::api_versions().to_string().into_bytes(),
        ),
        (
            "apis.json".into(),
            discovery::api_group_list_for(&resources)
                .to_string()
                .into_bytes(),
        ),
    ];
    for (kind, name) in [
        (AggregatedKind::Core, "api"),
        (AggregatedKind::Apis, "apis"),
    ] {
        for v in [DiscoveryVersion::V2, DiscoveryVersion::V2Beta1] {
            let doc = discovery::aggregated_for(&resources, kind, v);
            files.push((
                format!("{name}.{}.json", v.as_str()),
                doc.to_string().into_bytes(),
            ));
        }
    }
    for (group, versions) in discovery::groups_of(&resources) {
        for version in versions {
            let key = paths::prefix(group, version)
                .trim_start_matches('/')
                .to_string();
            if let Some(doc) = discovery::api_resource_list_for(&resources, group, version) {
                files.push((format!("{key}.json"), doc.to_string().into_bytes()));
            }
            if let Some(doc) = docs().v3_document(&key) {
                files.push((format!("openapi/v3/{key}"), doc.to_vec()));
            }
        }
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            assert!(std::fs::create_dir_all(parent).is_ok());
        }
        assert!(std::fs::write(&path, bytes).is_ok());
    }
}
