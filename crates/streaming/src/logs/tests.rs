use std::io::Write;

use super::*;

fn never_running() -> Box<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync> {
    Box::new(|| Box::pin(async { false }))
}

async fn collect(path: &Path, opts: LogOptions) -> String {
    let (tx, mut rx) = mpsc::channel(16);
    let source = LogSource {
        path: path.to_path_buf(),
        running: never_running(),
    };
    tokio::spawn(stream(source, opts, tx));
    let mut out = Vec::new();
    while let Some(b) = rx.recv().await {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).expect("utf8")
}

const LOG: &str = "2016-10-06T00:17:09.669794202Z stdout F first\n\
2016-10-06T00:17:10.000000000Z stderr P par\n\
2016-10-06T00:17:10.100000000Z stdout F second\n\
2016-10-06T00:17:10.200000000Z stderr F tial\n\
2016-10-06T00:17:11.5Z stdout F third\n";

fn write_log(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn assembler_joins_partials_per_stream() {
    let mut a = Assembler::default();
    assert_eq!(a.push(b"2016-10-06T00:17:09Z stdout P ab"), None);
    assert_eq!(
        a.push(b"2016-10-06T00:17:09Z stderr F x").map(|m| m.text),
        Some(b"x".to_vec())
    );
    let m = a
        .push(b"2016-10-06T00:17:10Z stdout F cd")
        .expect("message");
    assert_eq!(m.text, b"abcd");
    assert!(!m.stderr);
    assert_eq!(a.push(b"garbage"), None);
    assert_eq!(a.push(b"2016-10-06T00:17:10Z stdin F x"), None);
}

#[test]
fn time_format_trims_zeros_like_upstream() {
    let t = DateTime::parse_from_rfc3339("2016-10-06T00:17:09.669794200Z")
        .expect("time")
        .with_timezone(&Utc);
    assert_eq!(format_time(&t), "2016-10-06T00:17:09.6697942Z");
    let t = DateTime::parse_from_rfc3339("2016-10-06T00:17:09Z")
        .expect("time")
        .with_timezone(&Utc);
    assert_eq!(format_time(&t), "2016-10-06T00:17:09Z");
}

#[test]
fn options_parse_and_reject_bad_values() {
    let o = LogOptions::from_query(Some("follow=true&tailLines=3&timestamps=1&limitBytes=10"))
        .expect("options");
    assert!(o.follow && o.timestamps);
    assert_eq!(o.tail_lines, Some(3));
    assert_eq!(o.limit_bytes, Some(10));
    assert!(LogOptions::from_query(Some("tailLines=-1")).is_err());
    assert!(LogOptions::from_query(Some("tailLines=x")).is_err());
    assert!(LogOptions::from_query(Some("sinceSeconds=0")).is_err());
    assert!(LogOptions::from_query(Some("sinceSeconds=5&sinceTime=2020-01-01T00:00:00Z")).is_err());
    let o = LogOptions::from_query(Some("sinceSeconds=10")).expect("options");
    assert!(o.since.is_some_and(|s| s < Utc::now()));
}

#[tokio::test]
async fn whole_tail_since_timestamps_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write_log(dir.path(), "c.log", LOG);
    assert_eq!(
        collect(&p, LogOptions::default()).await,
        "first\nsecond\npartial\nthird\n"
    );
    let tail = LogOptions {
        tail_lines: Some(2),
        ..Default::default()
    };
    assert_eq!(collect(&p, tail).await, "partial\nthird\n");
    let ts = LogOptions {
        tail_lines: Some(1),
        timestamps: true,
        ..Default::default()
    };
    assert_eq!(collect(&p, ts).await, "2016-10-06T00:17:11.5Z third\n");
    let since = LogOptions {
        since: Some(
            DateTime::parse_from_rfc3339("2016-10-06T00:17:10.05Z")
                .expect("t")
                .with_timezone(&Utc),
        ),
        ..Default::default()
    };
    assert_eq!(collect(&p, since).await, "second\nthird\n");
    let limit = LogOptions {
        limit_bytes: Some(8),
        ..Default::default()
    };
    assert_eq!(collect(&p, limit).await, "first\nse");
}

#[tokio::test]
async fn rotated_files_come_first() {
    let dir = tempfile::tempdir().expect("tmp");
    write_log(dir.path(), "c.log.2", "2016-10-06T00:00:01Z stdout F one\n");
    write_log(dir.path(), "c.log.1", "2016-10-06T00:00:02Z stdout F two\n");
    let p = write_log(dir.path(), "c.log", "2016-10-06T00:00:03Z stdout F three\n");
    assert_eq!(
        collect(&p, LogOptions::default()).await,
        "one\ntwo\nthree\n"
    );
}

#[tokio::test]
async fn follow_sees_appends_and_rotation_and_stops_when_the_container_stops() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write_log(dir.path(), "c.log", "2016-10-06T00:00:01Z stdout F one\n");
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let r = running.clone();
    let source = LogSource {
        path: p.clone(),
        running: Box::new(move || {
            let r = r.clone();
            Box::pin(async move { r.load(std::sync::atomic::Ordering::SeqCst) })
        }),
    };
    let (tx, mut rx) = mpsc::channel(16);
    let opts = LogOptions {
        follow: true,
        ..Default::default()
    };
    let task = tokio::spawn(stream(source, opts, tx));
    assert_eq!(rx.recv().await.as_deref(), Some(&b"one\n"[..]));
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open");
        f.write_all(b"2016-10-06T00:00:02Z stdout P t")
            .expect("write");
        f.write_all(b"\n2016-10-06T00:00:02Z stdout F wo\n")
            .expect("write");
    }
    assert_eq!(rx.recv().await.as_deref(), Some(&b"two\n"[..]));
    // Rotate: the writer renames and starts a new file.
    std::fs::rename(&p, dir.path().join("c.log.1")).expect("rename");
    write_log(dir.path(), "c.log", "2016-10-06T00:00:03Z stdout F three\n");
    assert_eq!(rx.recv().await.as_deref(), Some(&b"three\n"[..]));
    running.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("follow ends once the container stopped")
        .expect("join");
}
