//! DefaultBinder: POST a Binding to the pod's `binding` subresource.

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use crate::framework::{BindPlugin, Plugin, Status};
use crate::podinfo::PodInfo;

pub const NAME: &str = "DefaultBinder";

pub struct DefaultBinder;

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        Some(self)
    }
}

/// The Binding object for a pod and node.
pub fn binding(pod: &PodInfo, node: &str) -> Binding {
    Binding {
        metadata: ObjectMeta {
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            uid: Some(pod.uid.clone()).filter(|u| !u.is_empty()),
            ..Default::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            name: Some(node.into()),
            ..Default::default()
        },
    }
}

impl BindPlugin for DefaultBinder {
    fn bind<'a>(
        &'a self,
        client: &'a kube::Client,
        pod: &'a PodInfo,
        node: &'a str,
    ) -> BoxFuture<'a, Status> {
        Box::pin(async move {
            let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
            let body = binding(pod, node);
            let pp = PostParams::default();
            let req =
                api.create_subresource::<_, serde_json::Value>("binding", &pod.name, &pp, &body);
            match req.await {
                Ok(_) => Status::success(),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    Status::new(crate::framework::Code::Skip, s.message)
                }
                Err(e) => Status::error(e.to_string()),
            }
        })
    }
}
