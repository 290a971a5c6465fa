//! API calls shared by controllers: slow-start pod creation, deletion with a UID
//! precondition, adopt/release patches.

use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::expectations::Expectations;
use crate::Result;

/// Batch sizes of upstream's slow start: 1, 2, 4, ... until `count` is reached.
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = count;
    let mut size = 1;
    while left > 0 {
        let b = size.min(left);
        out.push(b);
        left -= b;
        size *= 2;
    }
    out
}

/// Creates pods in slow-start batches, stopping after the first batch with a failure (so a
/// quota or admission refusal costs one call, not hundreds). Every created pod's UID is
/// recorded in `exp` under `key`. Returns the names of the created pods and the first error.
pub async fn create_pods(
    api: &Api<Pod>,
    pods: Vec<Pod>,
    exp: &Expectations,
    key: &str,
) -> (Vec<String>, Option<crate::Error>) {
    let pp = PostParams::default();
    let mut created = Vec::new();
    let mut it = pods.into_iter();
    for size in slow_start_batches(it.len()) {
        let batch: Vec<Pod> = it.by_ref().take(size).collect();
        let results = futures::future::join_all(batch.iter().map(|p| api.create(&pp, p))).await;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(p) => {
                    created.push(p.metadata.name.clone().unwrap_or_default());
                    if let Some(uid) = p.metadata.uid.as_deref() {
                        exp.created(key, uid);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(crate::Error::Kube(e));
                }
            }
        }
        if first_err.is_some() {
            return (created, first_err);
        }
    }
    (created, None)
}

/// Deletes an object by name with a UID precondition; a 404 counts as done.
pub async fn delete_with_uid<K>(api: &Api<K>, name: &str, uid: Option<&str>) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let dp = DeleteParams {
        preconditions: uid.map(|u| Preconditions {
            uid: Some(u.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Applies a JSON merge patch to the object; a 404 counts as done.
pub async fn merge_patch<K>(api: &Api<K>, name: &str, patch: &Value) -> Result<Option<K>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes `status` through the status subresource with a merge patch.
pub async fn patch_status<K>(api: &Api<K>, name: &str, status: &Value) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let body = serde_json::json!({ "status": status });
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Merge-patch the status subresource only if the object is still at `rv` (a 409 Conflict
/// otherwise); returns the written object, or None when it is gone.
pub async fn patch_status_at<K>(
    api: &Api<K>,
    name: &str,
    status: &Value,
    rv: Option<&str>,
) -> Result<Option<K>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let body = serde_json::json!({ "metadata": { "resourceVersion": rv }, "status": status });
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_doubles() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), [1]);
        assert_eq!(slow_start_batches(10), [1, 2, 4, 3]);
    }
}
