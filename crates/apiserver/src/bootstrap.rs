//! First-start objects: the default namespaces and the `default/kubernetes` Service with its Endpoints and EndpointSlice.

use serde_json::{Value, json};
use skiff_api::{defaults, registry, strategy};

use crate::rest::{Api, encode, now_rfc3339};

pub const DEFAULT_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Create `obj` unless it exists, with the metadata the API server would give it.
async fn ensure(api: &Api, group: &str, plural: &str, mut obj: Value) -> anyhow::Result<()> {
    let res = registry()
        .all()
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .ok_or_else(|| anyhow::anyhow!("kind {plural} is not registered"))?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
    let key = res.key(ns.as_deref(), &name);
    if api.store.get(&key).await?.is_some() {
        return Ok(());
    }
    obj["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
    obj["metadata"]["creationTimestamp"] = json!(now_rfc3339());
    defaults::apply(res, &mut obj);
    strategy::prepare_for_create(res, &mut obj);
    match api.store.create(&key, encode(res, &obj)).await {
        Ok(_) | Err(skiff_store::Error::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Create what every cluster has. `host_ip` and `port` are where the API server listens.
pub async fn run(api: &Api, host_ip: &str, port: u16) -> anyhow::Result<()> {
    for ns in DEFAULT_NAMESPACES {
        let obj = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns, "labels": { "kubernetes.io/metadata.name": ns } } });
        ensure(api, "", "namespaces", obj).await?;
    }
    let cluster_ip = api.services.cidr.nth(1).to_string();
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "kubernetes", "namespace": "default",
                      "labels": { "component": "apiserver", "provider": "kubernetes" } },
        "spec": { "type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                  "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": port }] }
    });
    ensure(api, "", "services", svc).await?;
    let endpoints = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": { "name": "kubernetes", "namespace": "default",
                      "labels": { "endpointslice.kubernetes.io/skip-mirror": "true" } },
        "subsets": [{ "addresses": [{ "ip": host_ip }], "ports": [{ "name": "https", "port": port, "protocol": "TCP" }] }]
    });
    ensure(api, "", "endpoints", endpoints).await?;
    // The API server publishes its own slice, as upstream's does: the Service has no selector
    // and its Endpoints opt out of mirroring, yet service proxies read only slices.
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": { "name": "kubernetes", "namespace": "default",
                      "labels": { "kubernetes.io/service-name": "kubernetes" } },
        "addressType": "IPv4",
        "endpoints": [{ "addresses": [host_ip], "conditions": { "ready": true } }],
        "ports": [{ "name": "https", "port": port, "protocol": "TCP" }]
    });
    ensure(api, "discovery.k8s.io", "endpointslices", slice).await
}
