//! The shared backend suite on SQLite, plus persistence and crash tests.

use std::sync::Arc;

use super::SqliteStore;
use crate::Store;
use crate::suite::store_suite;

fn make(capacity: usize) -> (Arc<dyn Store>, Box<dyn std::any::Any + Send>) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open_with_watch_capacity(&dir.path().join("db/state.db"), capacity).unwrap();
    (Arc::new(store), Box::new(dir))
}

store_suite!(make);

fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path).unwrap()
}

/// A raw connection for inspecting the file (never used while a store has it open for
/// writing, except for reads).
fn raw(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn log_rows(path: &std::path::Path) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM log", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn reopen_keeps_data_and_revision_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = open(&path);
        let a = store.create("/a", b"1".to_vec()).await.unwrap();
        store
            .update("/a", b"2".to_vec(), a.mod_revision)
            .await
            .unwrap();
        store.create("/gone", vec![]).await.unwrap();
        store.delete("/gone", None).await.unwrap();
        store.create("/b", b"b".to_vec()).await.unwrap(); // 5
        store.compact(3).await.unwrap();
        // The newest rows are a deletion and its value: compaction removes both, the
        // revision must not go back.
        store.create("/last", vec![]).await.unwrap();
        store.delete("/last", None).await.unwrap(); // 7
        store.compact(7).await.unwrap();
    }
    let store = open(&path);
    assert_eq!(store.current_revision().await.unwrap(), 7);
    assert_eq!(store.compacted_revision().await.unwrap(), 7);
    let a = store.get("/a").await.unwrap().unwrap();
    assert_eq!(
        (a.value.as_slice(), a.create_revision, a.mod_revision),
        (&b"2"[..], 1, 2)
    );
    assert_eq!(store.get("/gone").await.unwrap(), None);
    assert_eq!(store.get("/last").await.unwrap(), None);
    assert_eq!(store.count("/").await.unwrap(), 2);
    assert_eq!(log_rows(&path), 2);
    assert!(matches!(
        store.watch("/", 6).await,
        Err(crate::Error::Compacted { .. })
    ));
    let c = store.create("/c", vec![]).await.unwrap();
    assert_eq!(c.mod_revision, 8);
    drop(store);
    assert_eq!(open(&path).current_revision().await.unwrap(), 8);
}

#[tokio::test]
async fn compaction_deletes_history_and_gives_space_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = open(&path);
    let store = Arc::new(store);
    let writers: Vec<_> = (0..10)
        .map(|k| {
            let store = store.clone();
            tokio::spawn(async move {
                let value = vec![7u8; 8 * 1024];
                let key = format!("/big/{k}");
                let mut kv = store.create(&key, value.clone()).await.unwrap();
                for _ in 0..30 {
                    kv = store
                        .update(&key, value.clone(), kv.mod_revision)
                        .await
                        .unwrap();
                }
                kv
            })
        })
        .collect();
    let mut keys = Vec::new();
    for writer in writers {
        keys.push(writer.await.unwrap());
    }
    store.delete("/big/0", None).await.unwrap();
    let conn = raw(&path);
    let pages = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("PRAGMA page_count", [], |row| row.get(0))
            .unwrap()
    };
    let auto_vacuum: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |row| row.get(0))
        .unwrap();
    assert_eq!(auto_vacuum, 2, "incremental auto-vacuum");
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let before = pages(&conn);
    assert_eq!(log_rows(&path), 311);

    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    assert_eq!(log_rows(&path), 9);
    // The vacuum runs in the background after the compaction.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while pages(&conn) > before / 4 {
        let free: i64 = conn
            .query_row("PRAGMA freelist_count", [], |row| row.get(0))
            .unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "space not reclaimed: {before} -> {} pages, {free} free",
            pages(&conn)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for kv in &keys[1..] {
        assert_eq!(store.get(&kv.key).await.unwrap().as_ref(), Some(kv));
    }
}

#[tokio::test]
async fn interrupted_compaction_resumes_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = open(&path);
        let mut kv = store.create("/k", vec![0]).await.unwrap();
        for i in 1..50 {
            kv = store.update("/k", vec![i], kv.mod_revision).await.unwrap();
        }
    }
    // As if the process died right after recording the compaction point.
    raw(&path)
        .execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('compact_revision', 40)",
            [],
        )
        .unwrap();
    let store = open(&path);
    assert_eq!(store.compacted_revision().await.unwrap(), 40);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while log_rows(&path) != 11 {
        assert!(
            std::time::Instant::now() < deadline,
            "compaction not resumed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let at = store.range("/", None, 0, Some(40)).await.unwrap();
    assert_eq!(at.kvs[0].value, vec![39]);
}

#[tokio::test]
async fn unusable_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        SqliteStore::open(dir.path()),
        Err(crate::Error::Backend(_))
    ));
    let file = dir.path().join("file");
    std::fs::write(
        &file,
        b"not a database, just some bytes that are long enough to matter",
    )
    .unwrap();
    assert!(SqliteStore::open(&file).is_err());
}

/// Set in the child process of [`acknowledged_writes_survive_sigkill`]: the database path.
const CRASH_CHILD_DB: &str = "SKIFF_STORE_CRASH_CHILD_DB";

/// Child half of the crash test (a no-op in normal runs): concurrent writers create keys
/// forever, printing `key revision` for each acknowledged write.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_CHILD_DB) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = Arc::new(open(std::path::Path::new(&path)));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("/crash/{w}/{i}");
                        let kv = store.create(&key, vec![w; 100]).await.unwrap();
                        use std::io::Write;
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "{key} {}", kv.mod_revision).unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let test_name = format!(
        "{}::crash_child",
        module_path!().split_once("::").unwrap().1
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([&test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_DB, &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("/crash/") && lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut acked = Vec::new();
    while acked.len() < 400 {
        match lines_rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(line) => acked.push(line),
            Err(err) => panic!("child stopped acknowledging after {}: {err}", acked.len()),
        }
    }
    // SIGKILL in the middle of the burst.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    acked.extend(lines_rx.try_iter());

    let check: String = raw(&path)
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let store = open(&path);
    let mut max = 0;
    for line in &acked {
        let Some((key, revision)) = line.split_once(' ') else {
            panic!("malformed acknowledgement {line:?}");
        };
        let revision: i64 = revision.parse().unwrap();
        let kv = store.get(key).await.unwrap();
        assert_eq!(kv.map(|kv| kv.mod_revision), Some(revision), "{key} lost");
        max = max.max(revision);
    }
    let current = store.current_revision().await.unwrap();
    assert!(current >= max);
    assert_eq!(
        store.create("/after", vec![]).await.unwrap().mod_revision,
        current + 1
    );
}
