//! Watch streams shared by the backends: catch-up from history, then live events.
//!
//! Every backend publishes each committed event, in revision order and only after it is
//! readable, on a [`broadcast`] channel. A watcher reads history pages of events newer than
//! the last one it delivered; once a page comes back short it is subscribed to the channel
//! (subscribing before that last page, so nothing committed in between is missed) and from
//! then on delivers live events newer than the last delivered revision. Events present both
//! in the last page and on the channel are skipped by revision, so there is no gap and no
//! duplicate. A watcher that falls more than the channel capacity behind gets an error and
//! its stream ends.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::{Error, Event, Result, Revision, WatchStream};

/// History events fetched per catch-up read.
pub(crate) const PAGE_SIZE: usize = 512;

/// Default number of committed events a watcher may fall behind before its stream ends.
pub(crate) const DEFAULT_CHANNEL_CAPACITY: usize = 16 * 1024;

/// What a backend offers the watch machinery.
#[async_trait]
pub(crate) trait History: Send + Sync + 'static {
    /// Events under `prefix` with revision > `after`, oldest first, at most `limit`, read
    /// from one consistent snapshot. [`Error::Compacted`] if `after` is older than the
    /// compacted revision in that snapshot.
    async fn events_after(&self, prefix: &str, after: Revision, limit: usize)
    -> Result<Vec<Event>>;

    /// A receiver of every event committed from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;

    /// The latest committed revision.
    fn current(&self) -> Revision;
}

enum Phase {
    CatchUp,
    Live,
    Done,
}

struct Watcher {
    history: Arc<dyn History>,
    prefix: String,
    /// Revision of the last delivered event (or the starting point).
    last: Revision,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    pending: VecDeque<Event>,
    phase: Phase,
}

/// A stream of the events under `prefix` after `after`; see the module docs.
pub(crate) fn stream(history: Arc<dyn History>, prefix: String, after: Revision) -> WatchStream {
    // Close to the head: subscribe right away so one history read closes the gap.
    let rx =
        (history.current().saturating_sub(after) <= PAGE_SIZE as i64).then(|| history.subscribe());
    let watcher = Watcher {
        history,
        prefix,
        last: after,
        rx,
        pending: VecDeque::new(),
        phase: Phase::CatchUp,
    };
    futures::stream::unfold(watcher, |mut w| async move {
        let item = w.next().await?;
        Some((item, w))
    })
    .boxed()
}

impl Watcher {
    async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last = event.revision();
                return Some(Ok(event));
            }
            match self.phase {
                Phase::Done => return None,
                Phase::CatchUp => {
                    let page = self
                        .history
                        .events_after(&self.prefix, self.last, PAGE_SIZE)
                        .await;
                    let page = match page {
                        Ok(page) => page,
                        Err(err) => {
                            self.phase = Phase::Done;
                            return Some(Err(err));
                        }
                    };
                    if page.len() < PAGE_SIZE {
                        // History is exhausted up to this read's snapshot.
                        match self.rx {
                            Some(_) => self.phase = Phase::Live,
                            None => self.rx = Some(self.history.subscribe()),
                        }
                    }
                    self.pending.extend(page);
                }
                Phase::Live => {
                    let Some(rx) = self.rx.as_mut() else {
                        self.phase = Phase::Done;
                        continue;
                    };
                    match rx.recv().await {
                        Ok(event) => {
                            if event.revision() > self.last && event.key().starts_with(&self.prefix)
                            {
                                self.last = event.revision();
                                return Some(Ok(Event::clone(&event)));
                            }
                        }
                        Err(RecvError::Lagged(missed)) => {
                            self.phase = Phase::Done;
                            return Some(Err(Error::Backend(format!(
                                "watch fell behind by {missed} events after revision {}; \
                                 list again and restart the watch",
                                self.last
                            ))));
                        }
                        Err(RecvError::Closed) => {
                            self.phase = Phase::Done;
                            return None;
                        }
                    }
                }
            }
        }
    }
}
