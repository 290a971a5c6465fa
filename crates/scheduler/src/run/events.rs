//! Events and pod status writes: a bounded recorder that drops when the API falls behind
//! (like upstream's broadcaster), and the PodScheduled condition patch.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::mpsc;

use crate::podinfo::PodInfo;

/// Events waiting to be written before new ones are dropped.
const BACKLOG: usize = 1000;

/// Writes core/v1 Events about pods.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Event>,
    component: String,
}

impl Recorder {
    pub fn start(
        client: kube::Client,
        component: String,
    ) -> (Recorder, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Event>(BACKLOG);
        let task = tokio::spawn(async move {
            tokio_stream_from(rx)
                .for_each_concurrent(8, |ev| {
                    let client = client.clone();
                    async move {
                        let ns = ev
                            .metadata
                            .namespace
                            .clone()
                            .unwrap_or_else(|| "default".into());
                        let api: Api<Event> = Api::namespaced(client, &ns);
                        if let Err(e) = api.create(&PostParams::default(), &ev).await {
                            tracing::debug!("writing event: {e}");
                        }
                    }
                })
                .await
        });
        (Recorder { tx, component }, task)
    }

    /// Record an event about `pod`; dropped if the backlog is full.
    pub fn pod_event(&self, pod: &PodInfo, type_: &str, reason: &str, message: String) {
        let _ = self
            .tx
            .try_send(event(pod, &self.component, type_, reason, message));
    }
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A core/v1 Event for a pod, named like upstream's (`<pod>.<hex nanos>`).
pub fn event(pod: &PodInfo, component: &str, type_: &str, reason: &str, message: String) -> Event {
    let now = k8s_openapi::jiff::Timestamp::now();
    let nanos = now.as_nanosecond();
    let ts = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now);
    let v = json!({
        "metadata": {"name": format!("{}.{:x}", pod.name, nanos), "namespace": pod.namespace},
        "involvedObject": {
            "apiVersion": "v1", "kind": "Pod", "namespace": pod.namespace, "name": pod.name,
            "uid": pod.uid, "resourceVersion": pod.pod.metadata.resource_version,
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
        "count": 1,
    });
    let mut ev: Event = serde_json::from_value(v).unwrap_or_default();
    ev.first_timestamp = Some(ts.clone());
    ev.last_timestamp = Some(ts);
    ev
}

/// Whether the pod already carries this PodScheduled condition (no write needed).
pub fn has_condition(pod: &PodInfo, reason: &str, message: &str) -> bool {
    pod.pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some(reason)
                && c.message.as_deref() == Some(message)
        })
}

/// Set PodScheduled=False (and optionally nominatedNodeName) through the status subresource.
pub async fn patch_unschedulable(
    client: kube::Client,
    pod: &PodInfo,
    reason: &str,
    message: &str,
    nominated: Option<&str>,
) {
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    let mut status = json!({"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": reason, "message": message,
        "lastProbeTime": null, "lastTransitionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }]});
    if let Some(n) = nominated {
        status["nominatedNodeName"] = json!(n);
    }
    let body = json!({"status": status});
    if let Err(e) = api
        .patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(&body))
        .await
    {
        tracing::debug!("patching status of {}: {e}", pod.key);
    }
}

/// Set or clear `status.nominatedNodeName`.
pub async fn patch_nominated(client: kube::Client, pod: &PodInfo, node: Option<&str>) {
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    let body = json!({"status": {"nominatedNodeName": node}});
    if let Err(e) = api
        .patch_status(&pod.name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        tracing::debug!("patching nominatedNodeName of {}: {e}", pod.key);
    }
}

/// Mark a preemption victim with the DisruptionTarget condition before it is deleted.
pub async fn patch_disruption_target(client: kube::Client, pod: &PodInfo, component: &str) {
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    let body = json!({"status": {"conditions": [{
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": format!("{component}: preempting to accommodate a higher priority pod"),
        "lastTransitionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }]}});
    if let Err(e) = api
        .patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(&body))
        .await
    {
        tracing::debug!("marking {} as a disruption target: {e}", pod.key);
    }
}
