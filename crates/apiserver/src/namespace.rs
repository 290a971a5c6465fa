//! Namespace lifecycle: a terminating namespace loses all its content, then itself.

use std::sync::Arc;
use std::time::Duration;

use skiff_api::registry;

use crate::rest::{Api, decode, encode};

/// Every namespaced storage prefix (one per stored kind, not per served version).
fn namespaced_prefixes() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in registry().all().iter().filter(|r| r.namespaced) {
        let p = r.key_prefix();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Finish the deletion of one terminating namespace; returns true when it is gone.
async fn finalize(api: &Api, ns: &str) -> anyhow::Result<bool> {
    let mut remaining = 0;
    for prefix in namespaced_prefixes() {
        let page = api
            .store
            .range(&format!("{prefix}{ns}/"), None, 0, None)
            .await?;
        for kv in page.kvs {
            match api.store.delete(&kv.key, Some(kv.mod_revision)).await {
                Ok(_) | Err(skiff_store::Error::NotFound(_)) => {}
                Err(_) => remaining += 1,
            }
        }
    }
    if remaining > 0 {
        return Ok(false);
    }
    let res = registry()
        .find("", "v1", "namespaces")
        .ok_or_else(|| anyhow::anyhow!("no namespaces kind"))?;
    let key = res.key(None, ns);
    let Some(kv) = api.store.get(&key).await? else {
        return Ok(true);
    };
    let mut obj = decode(res, &kv)?;
    if let Some(f) = obj["spec"]["finalizers"].as_array_mut() {
        f.retain(|v| v != "kubernetes");
    }
    if crate::rest::delete_finalized(&obj) {
        api.store.delete(&key, Some(kv.mod_revision)).await?;
        Ok(true)
    } else {
        api.store
            .update(&key, encode(res, &obj), kv.mod_revision)
            .await?;
        Ok(false)
    }
}

/// Finalize every terminating namespace; true if some are still terminating.
async fn sweep(api: &Api, res: &skiff_api::Resource) -> bool {
    let Ok(page) = api.store.range(&res.key_prefix(), None, 0, None).await else {
        return true;
    };
    let mut pending = false;
    for kv in page.kvs {
        let Ok(obj) = decode(res, &kv) else { continue };
        let terminating = obj["metadata"]
            .get("deletionTimestamp")
            .is_some_and(|t| !t.is_null());
        let Some(name) = obj["metadata"]["name"].as_str().filter(|_| terminating) else {
            continue;
        };
        match finalize(api, name).await {
            Ok(gone) => pending |= !gone,
            Err(e) => {
                pending = true;
                tracing::warn!(namespace = %name, error = %e, "namespace finalization failed; will retry");
            }
        }
    }
    pending
}

/// Watch namespaces and finalize those being deleted.
pub async fn run(api: Arc<Api>) {
    use futures::StreamExt;
    let Some(res) = registry().find("", "v1", "namespaces") else {
        return;
    };
    loop {
        let rev = api.store.current_revision().await.unwrap_or(0);
        let pending = sweep(&api, res).await;
        let idle = if pending {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(30)
        };
        match api.store.watch(&res.key_prefix(), rev).await {
            Ok(mut changes) => {
                let _ = tokio::time::timeout(idle, changes.next()).await;
            }
            Err(_) => tokio::time::sleep(idle).await,
        }
    }
}
