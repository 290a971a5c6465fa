//! Behaviour tests every backend must pass; each backend instantiates them with
//! [`store_suite!`].

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::{Error, Event, Store, WatchStream};

/// A fresh store with the given watch channel capacity, plus whatever must outlive it.
pub(crate) type Make = fn(usize) -> (Arc<dyn Store>, Box<dyn Any + Send>);

/// Generate one `#[tokio::test]` per suite case for the backend built by `$make`.
macro_rules! store_suite {
    ($make:expr) => {
        $crate::suite::store_suite!(@cases $make;
            crud, range_prefix_limit_start_after, range_past_revision, count,
            watch_event_kinds_and_prefix, watch_catch_up_then_live, watch_from_now,
            watch_from_compacted_revision, compaction_keeps_latest_values,
            concurrent_writers, many_watchers, lagging_watcher_gets_error, compactor_task,
            watchers_started_during_writes);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::suite::$case($make).await;
            }
        )*
    };
}
pub(crate) use store_suite;

mod watch;

pub(crate) use watch::*;

pub(crate) const BIG: usize = 1 << 14;

pub(crate) async fn next_event(stream: &mut WatchStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

pub(crate) async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(50), stream.next()).await {
        panic!("expected no event, got {item:?}");
    }
}

pub(crate) async fn crud(make: Make) {
    let (store, _guard) = make(BIG);
    assert_eq!(store.current_revision().await.unwrap(), 0);
    assert_eq!(store.get("/a").await.unwrap(), None);

    let a = store.create("/a", b"1".to_vec()).await.unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (1, 1));
    assert_eq!(a.value, b"1");
    assert_eq!(store.get("/a").await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.create("/a", b"x".to_vec()).await,
        Err(Error::AlreadyExists("/a".into()))
    );

    let a2 = store.update("/a", b"2".to_vec(), 1).await.unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision), (1, 2));
    assert_eq!(
        store.update("/a", b"3".to_vec(), 1).await,
        Err(Error::Conflict {
            key: "/a".into(),
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(
        store.update("/missing", b"3".to_vec(), 1).await,
        Err(Error::NotFound("/missing".into()))
    );
    assert_eq!(
        store.delete("/a", Some(1)).await,
        Err(Error::Conflict {
            key: "/a".into(),
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(store.get("/a").await.unwrap(), Some(a2.clone()));
    assert_eq!(store.current_revision().await.unwrap(), 2);

    let (deleted, revision) = store.delete("/a", Some(2)).await.unwrap();
    assert_eq!(deleted, a2);
    assert_eq!(revision, 3);
    assert_eq!(store.get("/a").await.unwrap(), None);
    assert_eq!(
        store.delete("/a", None).await,
        Err(Error::NotFound("/a".into()))
    );

    // Re-created: a new create revision.
    let again = store.create("/a", b"4".to_vec()).await.unwrap();
    assert_eq!((again.create_revision, again.mod_revision), (4, 4));
    let (deleted, revision) = store.delete("/a", None).await.unwrap();
    assert_eq!((deleted.value.as_slice(), revision), (&b"4"[..], 5));
    // Failed writes used no revision.
    assert_eq!(store.current_revision().await.unwrap(), 5);
}

pub(crate) async fn range_prefix_limit_start_after(make: Make) {
    let (store, _guard) = make(BIG);
    for key in [
        "/r/a_b/1", "/r/a_b/2", "/r/a%b/1", "/r/aXb/1", "/r/a_c", "/r/a_b", "/s/x",
    ] {
        store.create(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let keys = |kvs: &[crate::KeyValue]| kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();

    let all = store.range("/r/a_b/", None, 0, None).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/r/a_b/1", "/r/a_b/2"]);
    assert!(!all.more);
    assert_eq!(all.revision, 7);
    let percent = store.range("/r/a%", None, 0, None).await.unwrap();
    assert_eq!(keys(&percent.kvs), ["/r/a%b/1"]);
    let everything = store.range("", None, 0, None).await.unwrap();
    assert_eq!(everything.kvs.len(), 7);
    assert_eq!(everything.kvs[0].value, everything.kvs[0].key.as_bytes());

    // Pages of two, in key order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.range("/r/", after.as_deref(), 2, None).await.unwrap();
        assert!(page.kvs.len() <= 2);
        seen.extend(keys(&page.kvs));
        after = page.kvs.last().map(|kv| kv.key.clone());
        if !page.more {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "/r/a%b/1", "/r/aXb/1", "/r/a_b", "/r/a_b/1", "/r/a_b/2", "/r/a_c"
        ]
    );
    let exact = store.range("/r/", None, 6, None).await.unwrap();
    assert_eq!((exact.kvs.len(), exact.more), (6, false));
    let last = store.range("/r/", Some("/r/a_c"), 0, None).await.unwrap();
    assert!(last.kvs.is_empty() && !last.more);
    let none = store.range("/nothing/", None, 0, None).await.unwrap();
    assert!(none.kvs.is_empty());
}

pub(crate) async fn range_past_revision(make: Make) {
    let (store, _guard) = make(BIG);
    let a = store.create("/p/a", b"a1".to_vec()).await.unwrap(); // 1
    let b = store.create("/p/b", b"b1".to_vec()).await.unwrap(); // 2
    store
        .update("/p/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap(); // 3
    store.delete("/p/b", Some(b.mod_revision)).await.unwrap(); // 4
    store.create("/p/c", b"c1".to_vec()).await.unwrap(); // 5

    let values = |r: &crate::RangeResult| {
        r.kvs
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone(), kv.mod_revision))
            .collect::<Vec<_>>()
    };
    let at2 = store.range("/p/", None, 0, Some(2)).await.unwrap();
    assert_eq!(at2.revision, 2);
    assert_eq!(
        values(&at2),
        [
            ("/p/a".into(), b"a1".to_vec(), 1),
            ("/p/b".into(), b"b1".to_vec(), 2)
        ]
    );
    let at3 = store.range("/p/", None, 1, Some(3)).await.unwrap();
    assert_eq!(values(&at3), [("/p/a".into(), b"a2".to_vec(), 3)]);
    assert!(at3.more);
    let at3b = store.range("/p/", Some("/p/a"), 0, Some(3)).await.unwrap();
    assert_eq!(values(&at3b), [("/p/b".into(), b"b1".to_vec(), 2)]);
    let at4 = store.range("/p/", None, 0, Some(4)).await.unwrap();
    assert_eq!(values(&at4), [("/p/a".into(), b"a2".to_vec(), 3)]);
    let now = store.range("/p/", None, 0, Some(5)).await.unwrap();
    assert_eq!(now, store.range("/p/", None, 0, None).await.unwrap());
    assert_eq!(now.kvs.len(), 2);
    assert_eq!(
        store.range("/p/", None, 0, Some(6)).await,
        Err(Error::FutureRevision {
            requested: 6,
            current: 5
        })
    );
}

pub(crate) async fn count(make: Make) {
    let (store, _guard) = make(BIG);
    for i in 0..5 {
        store.create(&format!("/c/ns/{i}"), vec![]).await.unwrap();
    }
    store.create("/c/other", vec![]).await.unwrap();
    store.create("/c/ns_x", vec![]).await.unwrap();
    store.delete("/c/ns/0", None).await.unwrap();
    assert_eq!(store.count("/c/ns/").await.unwrap(), 4);
    assert_eq!(store.count("/c/").await.unwrap(), 6);
    assert_eq!(store.count("").await.unwrap(), 6);
    assert_eq!(store.count("/d/").await.unwrap(), 0);
}

pub(crate) async fn compaction_keeps_latest_values(make: Make) {
    let (store, _guard) = make(BIG);
    let mut expected = Vec::new();
    for k in 0..20 {
        let key = format!("/keep/{k:02}");
        let mut kv = store.create(&key, vec![0]).await.unwrap();
        for v in 1..=k % 4 {
            kv = store
                .update(&key, vec![v as u8], kv.mod_revision)
                .await
                .unwrap();
        }
        if k % 5 == 0 {
            store.delete(&key, None).await.unwrap();
        } else {
            expected.push(kv);
        }
    }
    let before = store.current_revision().await.unwrap();
    store.compact(before).await.unwrap();
    let now = store.range("/keep/", None, 0, None).await.unwrap();
    assert_eq!(now.kvs, expected);
    let at = store.range("/keep/", None, 0, Some(before)).await.unwrap();
    assert_eq!(at.kvs, expected);
    assert_eq!(store.count("/keep/").await.unwrap(), 16);
    for kv in &expected {
        assert_eq!(store.get(&kv.key).await.unwrap().as_ref(), Some(kv));
    }
    // Writes continue after compaction, deleted keys can be re-created, history after the
    // compaction point is readable.
    assert_eq!(store.current_revision().await.unwrap(), before);
    let again = store.create("/keep/00", vec![9]).await.unwrap();
    assert_eq!(again.mod_revision, before + 1);
    let updated = store
        .update(&expected[0].key, vec![7], expected[0].mod_revision)
        .await
        .unwrap();
    let old = store
        .range("/keep/", None, 0, Some(before + 1))
        .await
        .unwrap();
    assert_eq!(old.kvs[1], expected[0]);
    store.compact(updated.mod_revision).await.unwrap();
    let mut watch = store.watch("/keep/", updated.mod_revision).await.unwrap();
    assert_quiet(&mut watch).await;
    assert_eq!(store.get(&updated.key).await.unwrap(), Some(updated));
}

pub(crate) async fn concurrent_writers(make: Make) {
    let (store, _guard) = make(BIG);
    let tasks: Vec<_> = (0..64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..10 {
                    let key = format!("/cc/{w}/{i}");
                    revisions.push(
                        store
                            .create(&key, vec![w as u8])
                            .await
                            .unwrap()
                            .mod_revision,
                    );
                }
                // Everyone fights over one key with compare-and-swap until it succeeds.
                loop {
                    let current = store.get("/cc/shared").await.unwrap();
                    let result = match current {
                        None => store.create("/cc/shared", vec![0]).await,
                        Some(kv) => {
                            store
                                .update("/cc/shared", vec![w as u8], kv.mod_revision)
                                .await
                        }
                    };
                    match result {
                        Ok(kv) => {
                            revisions.push(kv.mod_revision);
                            break;
                        }
                        Err(Error::Conflict { .. } | Error::AlreadyExists(_)) => continue,
                        Err(err) => panic!("unexpected {err}"),
                    }
                }
                revisions
            })
        })
        .collect();
    let mut all = HashSet::new();
    for task in tasks {
        let revisions = task.await.unwrap();
        assert!(revisions.windows(2).all(|w| w[0] < w[1]));
        for r in revisions {
            assert!(all.insert(r), "revision {r} given twice");
        }
    }
    assert_eq!(all.len(), 64 * 11);
    assert_eq!(store.current_revision().await.unwrap(), 64 * 11);
    assert_eq!(*all.iter().max().unwrap(), 64 * 11);
    assert_eq!(store.count("/cc/").await.unwrap(), 64 * 10 + 1);
}

pub(crate) async fn compactor_task(make: Make) {
    let (store, _guard) = make(BIG);
    let mut kv = store.create("/cmp/a", vec![0]).await.unwrap();
    for i in 1..30 {
        kv = store
            .update("/cmp/a", vec![i], kv.mod_revision)
            .await
            .unwrap();
    }
    assert_eq!(
        crate::compact_once(store.as_ref(), 100).await.unwrap(),
        None
    );
    let task = crate::spawn_compactor(store.clone(), Duration::from_millis(20), 10);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.compacted_revision().await.unwrap() != 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "compactor did not run"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert_eq!(store.get("/cmp/a").await.unwrap(), Some(kv));
}
