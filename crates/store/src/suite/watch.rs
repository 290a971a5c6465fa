//! Watch cases of the backend suite: event kinds, catch-up, compaction, fan-out, lag.

use std::time::Duration;

use futures::StreamExt;

use super::{BIG, Make, assert_quiet, next_event};
use crate::{Error, Event, Revision};

pub(crate) async fn watch_event_kinds_and_prefix(make: Make) {
    let (store, _guard) = make(BIG);
    let mut watch = store.watch("/w/", 0).await.unwrap();
    let a = store.create("/w/a", b"1".to_vec()).await.unwrap();
    store.create("/x/a", b"other".to_vec()).await.unwrap();
    let a2 = store
        .update("/w/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let (_, deleted_at) = store.delete("/w/a", None).await.unwrap();
    let a3 = store.create("/w/a", b"3".to_vec()).await.unwrap();

    assert_eq!(
        next_event(&mut watch).await,
        Event::Put {
            kv: a.clone(),
            prev: None
        }
    );
    assert_eq!(
        next_event(&mut watch).await,
        Event::Put {
            kv: a2.clone(),
            prev: Some(a.clone())
        }
    );
    assert_eq!(
        next_event(&mut watch).await,
        Event::Delete {
            prev: a2.clone(),
            revision: deleted_at
        }
    );
    assert_eq!(
        next_event(&mut watch).await,
        Event::Put {
            kv: a3.clone(),
            prev: None
        }
    );
    assert_quiet(&mut watch).await;

    // The same events replayed from history.
    let mut replay = store.watch("/w/", 0).await.unwrap();
    let mut revisions = Vec::new();
    for _ in 0..4 {
        let event = next_event(&mut replay).await;
        assert_eq!(event.key(), "/w/a");
        revisions.push(event.revision());
    }
    assert_eq!(revisions, [1, 3, 4, 5]);
    let mut from_middle = store.watch("/w/", 3).await.unwrap();
    assert_eq!(
        next_event(&mut from_middle).await,
        Event::Delete {
            prev: a2,
            revision: deleted_at
        }
    );
}

/// Writers run while a watcher catches up from history: it must see every revision once.
pub(crate) async fn watch_catch_up_then_live(make: Make) {
    let (store, _guard) = make(BIG);
    // More history than one catch-up page, with noise outside the prefix.
    let after: Revision = 100;
    // Written by concurrent tasks so a durable backend can commit them in groups.
    let mut expected: Vec<Revision> = futures::stream::iter(0..1200)
        .map(|i| {
            let store = store.clone();
            async move {
                let live = i % 3 != 0;
                let key = format!("{}{i}", if live { "/live/" } else { "/noise/" });
                let revision = store.create(&key, vec![]).await.unwrap().mod_revision;
                (live && revision > after).then_some(revision)
            }
        })
        .buffer_unordered(32)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    assert_eq!(store.current_revision().await.unwrap(), 1200);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..60 {
                    let key = format!("/live/w{w}/{i}");
                    let kv = store.create(&key, vec![1]).await.unwrap();
                    revisions.push(kv.mod_revision);
                    let kv = store.update(&key, vec![2], kv.mod_revision).await.unwrap();
                    revisions.push(kv.mod_revision);
                    if i % 2 == 0 {
                        store
                            .create(&format!("/noise/w{w}/{i}"), vec![])
                            .await
                            .unwrap();
                    }
                }
                revisions
            })
        })
        .collect();
    let mut watch = store.watch("/live/", after).await.unwrap();
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }
    expected.sort_unstable();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let event = next_event(&mut watch).await;
        assert!(event.key().starts_with("/live/"));
        got.push(event.revision());
    }
    assert_eq!(got, expected);
    assert_quiet(&mut watch).await;
}

pub(crate) async fn watch_from_now(make: Make) {
    let (store, _guard) = make(BIG);
    for i in 0..10 {
        store.create(&format!("/n/{i}"), vec![]).await.unwrap();
    }
    let now = store.current_revision().await.unwrap();
    let mut watch = store.watch("/n/", now).await.unwrap();
    assert_quiet(&mut watch).await;
    let kv = store.create("/n/new", vec![]).await.unwrap();
    assert_eq!(next_event(&mut watch).await.revision(), kv.mod_revision);
    // A watch may start in the future: it waits for that revision.
    let mut future = store.watch("/n/", kv.mod_revision + 1).await.unwrap();
    store.create("/n/x", vec![]).await.unwrap();
    let y = store.create("/n/y", vec![]).await.unwrap();
    assert_eq!(next_event(&mut future).await.revision(), y.mod_revision);
}

pub(crate) async fn watch_from_compacted_revision(make: Make) {
    let (store, _guard) = make(BIG);
    let kv = store.create("/k/a", b"1".to_vec()).await.unwrap();
    let mut rev = kv.mod_revision;
    for i in 0..10 {
        rev = store
            .update("/k/a", vec![i], rev)
            .await
            .unwrap()
            .mod_revision;
    }
    store.compact(6).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), 6);
    assert!(matches!(
        store.watch("/k/", 5).await,
        Err(Error::Compacted {
            requested: 5,
            compacted: 6
        })
    ));
    assert!(matches!(
        store.watch("/k/", 0).await,
        Err(Error::Compacted { .. })
    ));
    assert!(matches!(
        store.range("/k/", None, 0, Some(5)).await,
        Err(Error::Compacted { .. })
    ));
    let mut watch = store.watch("/k/", 6).await.unwrap();
    let first = next_event(&mut watch).await;
    assert_eq!(first.revision(), 7);
    // The previous value of the first event after the compaction point is still there.
    let Event::Put {
        prev: Some(prev), ..
    } = first
    else {
        panic!("expected an update, got {first:?}");
    };
    assert_eq!(prev.mod_revision, 6);
    assert_eq!(
        store.compact(rev + 1).await,
        Err(Error::FutureRevision {
            requested: rev + 1,
            current: rev
        })
    );
    // Compacting to an older revision is a no-op.
    store.compact(3).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), 6);
}

pub(crate) async fn many_watchers(make: Make) {
    let (store, _guard) = make(BIG);
    let mut watches = Vec::new();
    for i in 0..100 {
        let prefix = if i % 2 == 0 { "/m/" } else { "/m/even/" };
        watches.push((prefix, store.watch(prefix, 0).await.unwrap()));
    }
    for i in 0..20 {
        let key = if i % 2 == 0 {
            format!("/m/even/{i}")
        } else {
            format!("/m/odd/{i}")
        };
        store.create(&key, vec![]).await.unwrap();
    }
    for (prefix, watch) in &mut watches {
        let wanted = if *prefix == "/m/" { 20 } else { 10 };
        for n in 0..wanted {
            let event = next_event(watch).await;
            assert!(event.key().starts_with(*prefix));
            if *prefix == "/m/" {
                assert_eq!(event.revision(), n + 1);
            }
        }
    }
}

pub(crate) async fn lagging_watcher_gets_error(make: Make) {
    let (store, _guard) = make(16);
    let mut watch = store.watch("/lag/", 0).await.unwrap();
    let kv = store.create("/lag/a", vec![]).await.unwrap();
    assert_eq!(next_event(&mut watch).await.revision(), kv.mod_revision);
    for i in 0..100 {
        store.create(&format!("/lag/{i}"), vec![]).await.unwrap();
    }
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), watch.next()).await {
            Ok(Some(Ok(_))) => delivered += 1,
            Ok(Some(Err(Error::Backend(msg)))) => {
                assert!(msg.contains("fell behind"), "{msg}");
                break;
            }
            other => panic!("expected a lag error, got {other:?}"),
        }
    }
    assert!(delivered < 100);
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(1), watch.next()).await,
        Ok(None)
    ));
}

/// Watchers started at random moments while writers run, each from a slightly older
/// revision: every one sees exactly the writes after its starting point, in order.
pub(crate) async fn watchers_started_during_writes(make: Make) {
    let (store, _guard) = make(BIG);
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..25 {
                    let key = format!("/race/{w}/{i}");
                    let kv = store.create(&key, vec![]).await.unwrap();
                    revisions.push(kv.mod_revision);
                    if i % 5 == 0 {
                        let (_, revision) =
                            store.delete(&key, Some(kv.mod_revision)).await.unwrap();
                        revisions.push(revision);
                    }
                }
                revisions
            })
        })
        .collect();
    let mut watchers = Vec::new();
    for n in 0..10u64 {
        tokio::time::sleep(Duration::from_millis(n % 3)).await;
        let after = (store.current_revision().await.unwrap() - (n as Revision) * 7).max(0);
        watchers.push((after, store.watch("/race/", after).await.unwrap()));
    }
    let mut all = Vec::new();
    for writer in writers {
        all.extend(writer.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all.len(), 16 * 30);
    for (after, mut watch) in watchers {
        let expected: Vec<Revision> = all.iter().copied().filter(|r| *r > after).collect();
        let mut got = Vec::with_capacity(expected.len());
        while got.len() < expected.len() {
            got.push(next_event(&mut watch).await.revision());
        }
        assert_eq!(got, expected, "watch from {after}");
        assert_quiet(&mut watch).await;
    }
}
