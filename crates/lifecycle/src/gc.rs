//! Garbage collector: deletes dependents of deleted owners (background and foreground
//! propagation) and releases them for orphan propagation, following `ownerReferences`.

pub mod plan;

use std::sync::Arc;

use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use serde_json::{Value, json};
use skiff_api::Resource;
use tokio::sync::Notify;

use crate::Config;
use crate::error::{Result, is_conflict, is_not_found};
use crate::informer::{Informer, api, resource_of, wait};
use plan::{Action, Item, OwnerRef, Propagation};

/// How long start-up waits for each kind's first list.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Kinds the collector watches: one served version of every stored kind that can be
/// listed, watched and deleted, except events (as upstream ignores them).
pub fn watched_kinds() -> Vec<&'static Resource> {
    let mut seen = std::collections::HashSet::new();
    skiff_api::registry()
        .all()
        .iter()
        .filter(|r| {
            ["list", "watch", "delete"]
                .iter()
                .all(|v| r.verbs.contains(v))
        })
        .filter(|r| r.plural != "events")
        .filter(|r| seen.insert((r.storage_group, r.plural)))
        .collect()
}

/// Run the garbage collector until the process ends.
pub async fn run(client: kube::Client, config: Config) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let informers: Vec<Informer> = watched_kinds()
        .into_iter()
        .map(|r| Informer::start(&client, r, notify.clone()))
        .collect();
    for i in &informers {
        // A kind that cannot be listed must not stop collection of the others; owners are
        // checked against the API before anything is deleted.
        if tokio::time::timeout(READY_TIMEOUT, i.ready())
            .await
            .is_err()
        {
            tracing::warn!(
                kind = i.res.kind,
                "garbage collector: cache not synced, going on"
            );
        }
    }
    loop {
        let items: Vec<Item> = informers
            .iter()
            .flat_map(|inf| {
                inf.values()
                    .into_iter()
                    .filter_map(|v| Item::from_value(inf.res, &v))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut failed = false;
        for action in plan::plan(&items) {
            if let Err(e) = execute(&client, &items, &action).await {
                tracing::debug!("garbage collector: {action:?}: {e}");
                failed = true;
            }
        }
        let period = if failed {
            std::time::Duration::from_secs(1)
        } else {
            config.resync_period
        };
        wait(&notify, period).await;
    }
}

/// True when `r` (believed gone) still exists in the dependent's namespace with its uid.
async fn owner_exists(client: &kube::Client, dependent: &Item, r: &OwnerRef) -> Result<bool> {
    let Some(res) = resource_of(&r.api_version, &r.kind) else {
        // An unknown kind cannot be checked: keep the dependent.
        return Ok(true);
    };
    match api(client, res, dependent.namespace.as_deref())
        .get_opt(&r.name)
        .await?
    {
        Some(o) => Ok(o.metadata.uid.as_deref() == Some(r.uid.as_str())),
        None => Ok(false),
    }
}

async fn any_exists(client: &kube::Client, item: &Item, refs: &[OwnerRef]) -> Result<bool> {
    for r in refs {
        if owner_exists(client, item, r).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn execute(client: &kube::Client, items: &[Item], action: &Action) -> Result<()> {
    match action {
        Action::Delete {
            item,
            policy,
            verify,
        } => {
            let it = &items[*item];
            if any_exists(client, it, verify).await? {
                return Ok(());
            }
            let dp = DeleteParams {
                propagation_policy: Some(match policy {
                    Propagation::Orphan => PropagationPolicy::Orphan,
                    Propagation::Background => PropagationPolicy::Background,
                    Propagation::Foreground => PropagationPolicy::Foreground,
                }),
                preconditions: Some(Preconditions {
                    uid: Some(it.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            tracing::info!(kind = it.res.kind, name = %it.name, "garbage collector deletes");
            match api(client, it.res, it.namespace.as_deref())
                .delete(&it.name, &dp)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Action::RemoveOwners { item, uids, verify } => {
            let it = &items[*item];
            if any_exists(client, it, verify).await? {
                return Ok(());
            }
            update_meta(client, it, |meta| {
                let refs = meta["ownerReferences"].as_array().cloned().unwrap_or_default();
                let kept: Vec<Value> = refs
                    .into_iter()
                    .filter(|r| !uids.iter().any(|u| r["uid"].as_str() == Some(u)))
                    .collect();
                json!({ "ownerReferences": if kept.is_empty() { Value::Null } else { Value::Array(kept) } })
            })
            .await
        }
        Action::RemoveFinalizer { item, finalizer } => {
            let it = &items[*item];
            update_meta(client, it, |meta| {
                let kept: Vec<Value> = meta["finalizers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| f.as_str() != Some(finalizer))
                    .collect();
                json!({ "finalizers": kept })
            })
            .await
        }
    }
}

/// Merge-patch the live object's metadata with `change(live metadata)`, guarded by its
/// resourceVersion and uid so a concurrent change is retried on the next pass.
async fn update_meta(
    client: &kube::Client,
    it: &Item,
    change: impl Fn(&Value) -> Value,
) -> Result<()> {
    let api = api(client, it.res, it.namespace.as_deref());
    let Some(live) = api.get_opt(&it.name).await? else {
        return Ok(());
    };
    if live.metadata.uid.as_deref() != Some(it.uid.as_str()) {
        return Ok(());
    }
    let meta = serde_json::to_value(&live.metadata).unwrap_or_default();
    let mut patch = change(&meta);
    patch["resourceVersion"] = json!(live.metadata.resource_version);
    match api
        .patch(
            &it.name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": patch })),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
