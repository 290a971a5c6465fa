//! The proxy's loop: caches of Services and EndpointSlices, and on every change one `nft -f`
//! transaction when the rendered rules differ from those applied.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;

use super::model::{self, ProxiedPort};
use super::render::{self, is_dynamic_chain};
use crate::error::{Error, Result};
use crate::nft;
use crate::types::Protocol;

/// What the proxy of a node needs to know.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The node's nftables table (family `ip`), shared with the pod network.
    pub table: String,
    /// The CIDR all pods live in; Service traffic from elsewhere is masqueraded.
    pub cluster_cidr: Ipv4Net,
}

/// Rules are re-applied this often even without changes (repairs a flushed table).
const RESYNC: Duration = Duration::from_secs(60);

/// Watches Services and EndpointSlices and keeps the node's rules in step; runs until the
/// watches end.
pub async fn run(client: kube::Client, config: ProxyConfig) -> Result<()> {
    let (services, svc_writer) = reflector::store::<Service>();
    let (slices, slice_writer) = reflector::store::<EndpointSlice>();
    let changed = Arc::new(Notify::new());
    let svc_events = reflector::reflector(
        svc_writer,
        watcher(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .map(|_| ());
    let slice_events = reflector::reflector(
        slice_writer,
        watcher(
            Api::<EndpointSlice>::all(client),
            watcher::Config::default().labels(model::SERVICE_NAME_LABEL),
        ),
    )
    .default_backoff()
    .touched_objects()
    .map(|_| ());
    let notify = changed.clone();
    let feeder = tokio::spawn(async move {
        let mut events = futures::stream::select(svc_events.boxed(), slice_events.boxed());
        while events.next().await.is_some() {
            notify.notify_one();
        }
    });
    let result = sync_loop(&config, &services, &slices, &changed).await;
    feeder.abort();
    result
}

async fn sync_loop(
    config: &ProxyConfig,
    services: &Store<Service>,
    slices: &Store<EndpointSlice>,
    changed: &Notify,
) -> Result<()> {
    services
        .wait_until_ready()
        .await
        .map_err(|e| Error::Nft(format!("service cache: {e}")))?;
    slices
        .wait_until_ready()
        .await
        .map_err(|e| Error::Nft(format!("endpointslice cache: {e}")))?;
    let mut previous = existing_dynamic_chains(&config.table).await;
    let mut applied: Option<String> = None;
    let mut last_ports: Vec<ProxiedPort> = Vec::new();
    loop {
        let svcs = services.state();
        let sls = slices.state();
        let svc_refs: Vec<&Service> = svcs.iter().map(AsRef::as_ref).collect();
        let slice_refs: Vec<&EndpointSlice> = sls.iter().map(AsRef::as_ref).collect();
        let ports = model::build(&svc_refs, &slice_refs);
        let rendered = render::render(&config.table, config.cluster_cidr, &ports, &previous);
        if applied.as_deref() != Some(rendered.script.as_str()) {
            match nft::apply(&rendered.script).await {
                Ok(()) => {
                    tracing::debug!(ports = ports.len(), "service rules applied");
                    let stale: BTreeSet<String> =
                        previous.difference(&rendered.chains).cloned().collect();
                    previous = rendered.chains.clone();
                    if let Some(script) = render::cleanup(&config.table, &stale)
                        && let Err(e) = nft::apply(&script).await
                    {
                        tracing::warn!(error = %e, "deleting unused service chains failed");
                        previous.extend(stale);
                    }
                    forget_udp_flows(&last_ports, &ports).await;
                    last_ports = ports;
                    applied = Some(rendered.script);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "applying service rules failed; retrying");
                    applied = None;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if tokio::time::timeout(RESYNC, changed.notified())
            .await
            .is_err()
        {
            applied = None;
        }
    }
}

/// The per-Service chains already in the table (from an earlier run of the agent).
async fn existing_dynamic_chains(table: &str) -> BTreeSet<String> {
    let Ok(Some(json)) = nft::list_table(table).await else {
        return BTreeSet::new();
    };
    json.get("nftables")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("chain")?.get("name")?.as_str())
        .filter(|n| is_dynamic_chain(n))
        .map(str::to_string)
        .collect()
}

/// UDP has no connection to end: a flow keeps its conntrack entry (and so its old endpoint)
/// while packets keep coming. Forget flows to endpoints that are gone, as upstream does.
/// Best effort: without the `conntrack` tool nothing is forgotten.
async fn forget_udp_flows(before: &[ProxiedPort], after: &[ProxiedPort]) {
    let key = |p: &ProxiedPort| (p.namespace.clone(), p.service.clone(), p.port_name.clone());
    let now: BTreeMap<_, &ProxiedPort> = after
        .iter()
        .filter(|p| p.protocol == Protocol::Udp)
        .map(|p| (key(p), p))
        .collect();
    for old in before.iter().filter(|p| p.protocol == Protocol::Udp) {
        let kept: &[SocketAddrV4] = now.get(&key(old)).map_or(&[], |p| &p.endpoints);
        for gone in old.endpoints.iter().filter(|e| !kept.contains(e)) {
            for addr in &old.addresses {
                let res = tokio::process::Command::new("conntrack")
                    .args(["-D", "-p", "udp", "--orig-dst"])
                    .arg(addr.to_string())
                    .args(["--orig-port-dst", &old.port.to_string(), "--reply-src"])
                    .arg(gone.ip().to_string())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .await;
                if let Err(err) = res {
                    tracing::debug!(%err, "conntrack flush skipped");
                }
            }
        }
    }
}
