//! core/v1 Events from the kubelet (`source.component: kubelet`), repeated ones counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// `Normal` or `Warning`.
pub const NORMAL: &str = "Normal";
/// `Warning`.
pub const WARNING: &str = "Warning";

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub kind: String,
    pub api_version: String,
    pub resource_version: Option<String>,
    /// `spec.containers{app}` for container events.
    pub field_path: Option<String>,
}

impl Target {
    /// The pod itself.
    pub fn pod(pod: &Pod) -> Target {
        Target {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            kind: "Pod".into(),
            api_version: "v1".into(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path: None,
        }
    }

    /// One of the pod's containers.
    pub fn container(pod: &Pod, name: &str, init: bool) -> Target {
        let list = if init { "initContainers" } else { "containers" };
        Target {
            field_path: Some(format!("spec.{list}{{{name}}}")),
            ..Target::pod(pod)
        }
    }
}

/// Identity of a repeated event: target, reason, message.
type EventKey = (Target, String, String);

/// Sends events in the background; repeats of the same event bump `count`.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    host: String,
    seen: Arc<Mutex<HashMap<EventKey, (String, i32)>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("host", &self.host)
            .finish()
    }
}

impl Recorder {
    pub fn new(client: kube::Client, host: impl Into<String>) -> Self {
        Recorder {
            client,
            host: host.into(),
            seen: Arc::default(),
        }
    }

    /// Record an event (fire and forget).
    pub fn record(&self, target: &Target, type_: &str, reason: &str, message: String) {
        tracing::debug!(pod = %target.name, reason, %message, "event");
        let same_object = Target {
            resource_version: None,
            ..target.clone()
        };
        let key = (same_object, reason.to_string(), message.clone());
        let prior = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.len() > 4096 {
                seen.clear();
            }
            let entry = seen.entry(key).or_insert_with(|| {
                let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
                (format!("{}.{:x}", target.name, nanos), 0)
            });
            entry.1 += 1;
            entry.clone()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &target.namespace);
        let now = Utc::now();
        let (name, count) = prior;
        if count > 1 {
            let patch = serde_json::json!({"count": count, "lastTimestamp": crate::ktime(now)});
            tokio::spawn(async move {
                if let Err(e) = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::debug!(error = %e, "updating event");
                }
            });
            return;
        }
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(target.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(target.api_version.clone()),
                kind: Some(target.kind.clone()),
                name: Some(target.name.clone()),
                namespace: Some(target.namespace.clone()),
                uid: Some(target.uid.clone()),
                resource_version: target.resource_version.clone(),
                field_path: target.field_path.clone(),
            },
            reason: Some(reason.to_string()),
            message: Some(message),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.host.clone()),
            }),
            first_timestamp: Some(crate::ktime(now)),
            last_timestamp: Some(crate::ktime(now)),
            count: Some(1),
            type_: Some(type_.to_string()),
            event_time: None,
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.host.clone()),
            ..Default::default()
        };
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &ev).await {
                tracing::debug!(error = %e, "creating event");
            }
        });
    }
}
