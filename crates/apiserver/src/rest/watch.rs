//! watch: initial events, then every change after a revision, as newline-delimited JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use skiff_store::Event;

use super::read::{Filter, collection_prefix, list_items};
use super::{Api, Ctx, decode};
use crate::request::Query;
use crate::status::{ApiError, ApiResult};

/// The body of a watch response: one JSON event per chunk.
pub type WatchStream = BoxStream<'static, Bytes>;

/// How a watch begins, from `resourceVersion` and `sendInitialEvents`.
#[derive(Debug, PartialEq)]
enum Start {
    /// Send the current state as ADDED events, then changes (rv unset or "0").
    WithState { bookmark_after: bool },
    /// Only changes after this revision.
    After(i64),
}

fn start_of(q: &Query) -> ApiResult<Start> {
    let send_initial = q.get("sendInitialEvents").map(|v| v == "true");
    match (
        q.get("resourceVersion").filter(|v| !v.is_empty()),
        send_initial,
    ) {
        (_, Some(true)) => Ok(Start::WithState {
            bookmark_after: true,
        }),
        (None | Some("0"), _) => Ok(Start::WithState {
            bookmark_after: false,
        }),
        (Some(rv), _) => rv
            .parse::<i64>()
            .map(Start::After)
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}"))),
    }
}

fn event_bytes(kind: &str, object: Value) -> Bytes {
    let mut line = json!({ "type": kind, "object": object }).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn bookmark(ctx: &Ctx<'_>, rev: i64, initial_end: bool) -> Bytes {
    let res = ctx.res();
    let mut meta = json!({ "resourceVersion": rev.to_string() });
    if initial_end {
        meta["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    event_bytes(
        "BOOKMARK",
        json!({ "kind": res.kind, "apiVersion": res.api_version(), "metadata": meta }),
    )
}

/// Renders objects as the client asked: raw, or one-row Tables (column definitions once).
struct Renderer {
    res: &'static skiff_api::Resource,
    table: Option<&'static str>,
    include: String,
    headers_sent: bool,
}

impl Renderer {
    fn render(&mut self, obj: Value) -> Value {
        let Some(v) = self.table else { return obj };
        let mut t = skiff_api::table::to_table(
            self.res,
            &[obj],
            &self.include,
            v,
            json!({}),
            chrono::Utc::now(),
        );
        if self.headers_sent {
            t["columnDefinitions"] = json!([]);
        }
        self.headers_sent = true;
        t
    }
}

pub async fn watch(api: &Api, ctx: &Ctx<'_>) -> ApiResult<WatchStream> {
    let filter = Filter::from_ctx(ctx)?;
    let start = start_of(ctx.query)?;
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let timeout = ctx
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let mut renderer = Renderer {
        res: ctx.res(),
        table: ctx.table_version(),
        include: super::include_object(ctx).to_string(),
        headers_sent: false,
    };

    let mut initial: Vec<Bytes> = Vec::new();
    let after = match start {
        Start::After(rev) => rev,
        Start::WithState { bookmark_after } => {
            let (items, rev, _) = list_items(api, ctx).await?;
            for obj in items {
                initial.push(event_bytes("ADDED", renderer.render(obj)));
            }
            if bookmark_after && bookmarks {
                initial.push(bookmark(ctx, rev, true));
            }
            rev
        }
    };
    let prefix = collection_prefix(ctx);
    let changes = match api.store.watch(&prefix, after).await {
        Ok(s) => s,
        Err(skiff_store::Error::Compacted {
            requested,
            compacted,
        }) => {
            let status = ApiError::gone(format!(
                "too old resource version: {requested} ({compacted})"
            ))
            .to_status();
            return Ok(futures::stream::once(async move { event_bytes("ERROR", status) }).boxed());
        }
        Err(e) => return Err(e.into()),
    };

    // Owned copies for the 'static stream.
    let res = ctx.res();
    let ns_ctx = OwnedFilterCtx { filter, res };
    let bookmark_proto = (res.kind, res.api_version());
    // The revision of the last change this watcher has passed: bookmarks never run ahead of it.
    let last_rev = Arc::new(AtomicI64::new(after));
    let seen = last_rev.clone();
    let changes = changes.filter_map(move |ev| {
        let out = match ev {
            Ok(ev) => {
                seen.store(ev.revision(), Ordering::Relaxed);
                ns_ctx
                    .translate(ev)
                    .map(|(kind, obj)| event_bytes(kind, renderer.render(obj)))
            }
            Err(e) => Some(event_bytes("ERROR", ApiError::from(e).to_status())),
        };
        futures::future::ready(out)
    });
    let ticker = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(30),
        Duration::from_secs(30),
    ));
    let ticks = ticker.filter_map(move |_| {
        let rev = last_rev.load(Ordering::Relaxed);
        let (kind, api_version) = bookmark_proto.clone();
        async move {
            if !bookmarks {
                return None;
            }
            let obj = json!({ "kind": kind, "apiVersion": api_version, "metadata": { "resourceVersion": rev.to_string() } });
            Some(event_bytes("BOOKMARK", obj))
        }
    });
    let live = futures::stream::select(changes, ticks);
    let body = futures::stream::iter(initial).chain(live);
    let deadline = tokio::time::sleep(Duration::from_secs(timeout));
    Ok(body.take_until(deadline).boxed())
}

struct OwnedFilterCtx {
    filter: Filter,
    res: &'static skiff_api::Resource,
}

impl OwnedFilterCtx {
    fn matches(&self, obj: &Value) -> bool {
        self.filter.matches_res(self.res, obj)
    }

    /// Map a store event to a watch event, honouring selectors the way upstream does: an
    /// object that stops matching is DELETED for this watcher, one that starts is ADDED.
    fn translate(&self, ev: Event) -> Option<(&'static str, Value)> {
        match ev {
            Event::Put { kv, prev } => {
                let obj = decode(self.res, &kv).ok()?;
                let now = self.matches(&obj);
                let before = prev
                    .and_then(|p| decode(self.res, &p).ok())
                    .map(|p| self.matches(&p));
                match (before, now) {
                    (None | Some(false), true) => Some(("ADDED", obj)),
                    (Some(true), true) => Some(("MODIFIED", obj)),
                    (Some(true), false) => Some(("DELETED", obj)),
                    (_, false) => None,
                }
            }
            Event::Delete { prev, revision } => {
                let mut obj = decode(self.res, &prev).ok()?;
                super::set_resource_version(&mut obj, revision);
                self.matches(&obj).then_some(("DELETED", obj))
            }
        }
    }
}
