//! What a pod worker needs from the API server, behind a trait (kube-rs, or a fake in tests).

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, PodStatus, Secret, Service,
    ServiceAccount,
};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};

use crate::error::Result;
use crate::events::{Recorder, Target};

/// The API calls of a pod worker.
#[async_trait]
pub trait PodApi: Send + Sync {
    async fn configmap(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>>;
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>>;
    /// A PersistentVolumeClaim; `None` when it does not exist.
    async fn claim(&self, _ns: &str, _name: &str) -> Result<Option<PersistentVolumeClaim>> {
        Ok(None)
    }
    /// A PersistentVolume; `None` when it does not exist.
    async fn persistent_volume(&self, _name: &str) -> Result<Option<PersistentVolume>> {
        Ok(None)
    }
    /// Services of `ns` plus `default/kubernetes`, for service links.
    async fn services(&self, ns: &str) -> Result<Vec<Service>>;
    /// Patch `pods/status`.
    async fn patch_status(&self, ns: &str, name: &str, status: &PodStatus) -> Result<()>;
    /// Delete the pod object at once (grace 0), only if it is still the pod with `uid`.
    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<()>;
    /// A bound service account token (TokenRequest) for projected volumes; `None` when the
    /// API cannot issue one.
    async fn service_account_token(&self, req: &TokenFor) -> Result<Option<String>>;
    /// Record an event.
    fn event(&self, target: &Target, type_: &str, reason: &str, message: String);
}

/// What a projected `serviceAccountToken` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFor {
    pub namespace: String,
    pub service_account: String,
    pub audience: Option<String>,
    pub expiration_seconds: i64,
    pub pod_name: String,
    pub pod_uid: String,
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

    async fn claim(&self, ns: &str, name: &str) -> Result<Option<PersistentVolumeClaim>> {
        not_found(
            Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), ns)
                .get(name)
                .await,
        )
    }

    async fn persistent_volume(&self, name: &str) -> Result<Option<PersistentVolume>> {
        not_found(
            Api::<PersistentVolume>::all(self.client.clone())
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

    async fn service_account_token(&self, req: &TokenFor) -> Result<Option<String>> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &req.namespace);
        let body = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "audiences": req.audience.iter().collect::<Vec<_>>(),
                "expirationSeconds": req.expiration_seconds,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": req.pod_name, "uid": req.pod_uid},
            }
        });
        let r: kube::Result<serde_json::Value> = api
            .create_subresource("token", &req.service_account, &PostParams::default(), &body)
            .await;
        match r {
            Ok(v) => Ok(v
                .pointer("/status/token")
                .and_then(|t| t.as_str())
                .map(str::to_string)),
            Err(e) => {
                tracing::debug!(error = %e, "service account token");
                Ok(None)
            }
        }
    }

    fn event(&self, target: &Target, type_: &str, reason: &str, message: String) {
        self.recorder.record(target, type_, reason, message);
    }
}
