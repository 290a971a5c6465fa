//! The glue every controller shares: the queue key of an owned object, the requeue of a
//! failed sync with backoff, and the loop that drives a controller's results.

use std::fmt::Display;

use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use super::backoff::Backoff;
use super::informer::key;
use super::owner;

/// The `kind` object that controls `meta` (its controller reference), as a queue key.
pub fn controller_key<K>(kind: &str, meta: &ObjectMeta) -> Option<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>,
{
    owner::controller_of(meta)
        .filter(|r| r.kind == kind)
        .map(|r| ObjectRef::new(&r.name).within(meta.namespace.as_deref().unwrap_or_default()))
}

/// Requeue `obj` after a failed sync, waiting longer after each consecutive failure.
pub fn requeue_failed<K: Resource<DynamicType = ()>>(
    obj: &K,
    err: &dyn Display,
    backoff: &Backoff,
) -> Action {
    let k = key(obj);
    tracing::debug!(key = %k, kind = %K::kind(&()), error = %err, "sync failed, requeued");
    Action::requeue(backoff.next(&k))
}

/// Poll a controller's results until it stops, logging failed syncs at debug level.
pub async fn drive<T, E: Display>(results: impl Stream<Item = Result<T, E>>, controller: &str) {
    results
        .for_each(|r| {
            if let Err(e) = r {
                tracing::debug!(controller, error = %e, "sync");
            }
            futures::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::DaemonSet;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    fn owned(kind: &str, controller: bool) -> ObjectMeta {
        ObjectMeta {
            namespace: Some("ns".into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: "web".into(),
                uid: "u".into(),
                controller: Some(controller),
                block_owner_deletion: None,
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn the_controller_of_the_right_kind_is_the_key() {
        let r = controller_key::<DaemonSet>("DaemonSet", &owned("DaemonSet", true));
        assert_eq!(r, Some(ObjectRef::new("web").within("ns")));
        assert_eq!(
            controller_key::<DaemonSet>("DaemonSet", &owned("StatefulSet", true)),
            None
        );
        assert_eq!(
            controller_key::<DaemonSet>("DaemonSet", &owned("DaemonSet", false)),
            None
        );
    }
}
