//! What a pod worker needs from the API server, behind a trait (kube-rs, or a fake in tests).

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodStatus, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};

use crate::error::Result;
use crate::events::{Recorder, Target};

/// The API calls of a pod worker.
#[async_trait]
pub trait PodApi: Send + Sync {
    async fn configmap(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>>;
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>>;
    /// Services of `ns` plus `default/kubernetes`, for service links.
    async fn services(&self, ns: &str) -> Result<Vec<Service>>;
    /// Patch `pods/status`.
    async fn patch_status(&self, ns: &str, name: &str, status: &PodStatus) -> Result<()>;
    /// Delete the pod object at once (grace 0), only if it is still the pod with `uid`.
    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<()>;
    /// Record an event.
    fn event(&self, target: &Target, type_: &str, reason: &str, message: String);
}

/// [`PodApi`] through kube-rs.
#[derive(Clone)]
pub struct KubeApi {
    pub client: kube::Client,
    pub recorder: Recorder,
}

fn not_found<T>(r: kube::Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl PodApi for KubeApi {
    async fn configmap(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>> {
        not_found(
            Api::<ConfigMap>::namespaced(self.client.clone(), ns)
                .get(name)
                .await,
        )
    }

    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>> {
        not_found(
            Api::<Secret>::namespaced(self.client.clone(), ns)
                .get(name)
                .await,
        )
    }

    async fn services(&self, ns: &str) -> Result<Vec<Service>> {
        let mut out = Api::<Service>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default())
            .await?
            .items;
        if ns != "default"
            && let Some(k) = not_found(
                Api::<Service>::namespaced(self.client.clone(), "default")
                    .get("kubernetes")
                    .await,
            )?
        {
            out.push(k);
        }
        Ok(out)
    }

    async fn patch_status(&self, ns: &str, name: &str, status: &PodStatus) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let patch = serde_json::json!({ "status": status });
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn event(&self, target: &Target, type_: &str, reason: &str, message: String) {
        self.recorder.record(target, type_, reason, message);
    }
}
