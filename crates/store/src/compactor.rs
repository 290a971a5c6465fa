//! Periodic compaction: keep a window of recent revisions, discard older history.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::{Result, Revision, Store};

/// How often [`spawn_compactor`] compacts by default (as upstream: every 5 minutes).
pub const DEFAULT_COMPACT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// How many recent revisions [`spawn_compactor`] keeps by default. Watches resuming from a
/// revision inside this window catch up from history; older ones get "compacted" (410 Gone).
pub const DEFAULT_KEEP_REVISIONS: i64 = 10_000;

/// Compact `store` to `current - keep_revisions` if that is newer than its compacted
/// revision. Returns the revision compacted to, if any.
pub async fn compact_once(store: &dyn Store, keep_revisions: i64) -> Result<Option<Revision>> {
    let target = store.current_revision().await? - keep_revisions.max(0);
    if target <= store.compacted_revision().await? {
        return Ok(None);
    }
    store.compact(target).await?;
    Ok(Some(target))
}

/// Run [`compact_once`] every `interval` (first run one interval from now) until the task is
/// aborted. Failures are logged and retried at the next tick.
pub fn spawn_compactor(
    store: Arc<dyn Store>,
    interval: Duration,
    keep_revisions: i64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(
            tokio::time::Instant::now() + interval,
            interval.max(Duration::from_millis(1)),
        );
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match compact_once(store.as_ref(), keep_revisions).await {
                Ok(Some(revision)) => tracing::debug!(revision, "compacted store history"),
                Ok(None) => {}
                Err(err) => tracing::warn!(%err, "store compaction failed"),
            }
        }
    })
}
