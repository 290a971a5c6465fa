//! Reading CRI-format container logs (`<RFC3339Nano> <stream> <P|F> <text>`) for
//! `kubectl logs`: partial lines joined, tail, since, timestamps, byte limit, and follow
//! across rotation (the writer renames `path` to `path.1`, `path.1` to `path.2`, ...).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// How often a followed log is polled for new data.
const POLL: Duration = Duration::from_millis(100);

/// Query options of `/containerLogs` (and of `pods/log`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub tail_lines: Option<u64>,
    pub since: Option<DateTime<Utc>>,
    pub timestamps: bool,
    pub limit_bytes: Option<u64>,
}

fn flag(v: &str) -> bool {
    matches!(v, "true" | "1" | "True" | "TRUE" | "")
}

impl LogOptions {
    /// Parse the query string; a bad value is a message for a 400 answer.
    pub fn from_query(query: Option<&str>) -> Result<LogOptions, String> {
        let mut o = LogOptions::default();
        let mut since_seconds = None;
        let mut since_time = None;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "follow" => o.follow = flag(&v),
                "previous" => o.previous = flag(&v),
                "timestamps" => o.timestamps = flag(&v),
                "tailLines" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("invalid tailLines {v:?}: must be an integer"))?;
                    if n < 0 {
                        return Err(
                            "tailLines: Invalid value: must be greater than or equal to 0".into(),
                        );
                    }
                    o.tail_lines = Some(n as u64);
                }
                "limitBytes" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("invalid limitBytes {v:?}: must be an integer"))?;
                    if n < 1 {
                        return Err("limitBytes: Invalid value: must be greater than 0".into());
                    }
                    o.limit_bytes = Some(n as u64);
                }
                "sinceSeconds" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("invalid sinceSeconds {v:?}: must be an integer"))?;
                    if n < 1 {
                        return Err("sinceSeconds: Invalid value: must be greater than 0".into());
                    }
                    since_seconds = Some(n);
                }
                "sinceTime" => {
                    let t = DateTime::parse_from_rfc3339(&v)
                        .map_err(|e| format!("invalid sinceTime {v:?}: {e}"))?;
                    since_time = Some(t.with_timezone(&Utc));
                }
                _ => {}
            }
        }
        if since_seconds.is_some() && since_time.is_some() {
            return Err("at most one of sinceTime or sinceSeconds may be specified".into());
        }
        o.since =
            since_time.or_else(|| since_seconds.map(|s| Utc::now() - chrono::Duration::seconds(s)));
        Ok(o)
    }
}

/// One complete log message (partial entries joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub time: DateTime<Utc>,
    pub stderr: bool,
    pub text: Vec<u8>,
}

/// Upstream's RFC3339Nano: nanoseconds without trailing zeros.
pub fn format_time(t: &DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

impl Message {
    /// The bytes `kubectl logs` shows for this message.
    pub fn render(&self, timestamps: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 40);
        if timestamps {
            out.extend_from_slice(format_time(&self.time).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&self.text);
        out.push(b'\n');
        out
    }
}

/// Joins `P` entries with the `F` entry that ends them, per stream.
#[derive(Debug, Default)]
pub struct Assembler {
    pending: [Option<Message>; 2],
}

impl Assembler {
    /// Feed one file line (without its newline); a message once it is complete.
    pub fn push(&mut self, line: &[u8]) -> Option<Message> {
        let mut it = line.splitn(4, |b| *b == b' ');
        let time = std::str::from_utf8(it.next()?).ok()?;
        let time = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
        let stderr = match it.next()? {
            b"stdout" => false,
            b"stderr" => true,
            _ => return None,
        };
        let partial = match it.next()? {
            b"P" => true,
            b"F" => false,
            _ => return None,
        };
        let text = it.next().unwrap_or(b"");
        let slot = &mut self.pending[stderr as usize];
        let msg = match slot.take() {
            Some(mut m) => {
                m.text.extend_from_slice(text);
                m
            }
            None => Message {
                time,
                stderr,
                text: text.to_vec(),
            },
        };
        if partial {
            *slot = Some(msg);
            None
        } else {
            Some(msg)
        }
    }
}

/// Split complete lines off `buf` into messages; the unfinished tail stays in `buf`.
fn drain_lines(buf: &mut Vec<u8>, asm: &mut Assembler, out: &mut Vec<Message>) {
    let mut start = 0;
    while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
        if let Some(m) = asm.push(&buf[start..start + nl]) {
            out.push(m);
        }
        start += nl + 1;
    }
    buf.drain(..start);
}

/// Existing rotated files of `path`, oldest first, then `path` itself.
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    for n in 1.. {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{n}"));
        let p = PathBuf::from(s);
        if !p.exists() {
            break;
        }
        rotated.push(p);
    }
    rotated.reverse();
    rotated.push(path.to_path_buf());
    rotated
}

/// Where a log comes from: its file, and whether the container may still write to it.
pub struct LogSource {
    pub path: PathBuf,
    /// Resolves to whether the container is still running (follow stops once it is not).
    pub running: Box<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>,
}

struct Sink {
    tx: mpsc::Sender<Bytes>,
    left: Option<u64>,
    timestamps: bool,
    since: Option<DateTime<Utc>>,
}

impl Sink {
    /// Send one message; false when the client is gone or the byte limit is reached.
    async fn send(&mut self, m: &Message) -> bool {
        if self.since.is_some_and(|s| m.time < s) {
            return true;
        }
        let mut bytes = m.render(self.timestamps);
        if let Some(left) = self.left.as_mut() {
            if bytes.len() as u64 >= *left {
                bytes.truncate(*left as usize);
                let _ = self.tx.send(Bytes::from(bytes)).await;
                return false;
            }
            *left -= bytes.len() as u64;
        }
        self.tx.send(Bytes::from(bytes)).await.is_ok()
    }
}

/// Stream the log of `source` as `opts` asks into `tx` (ends when done or `tx` is closed).
pub async fn stream(source: LogSource, opts: LogOptions, tx: mpsc::Sender<Bytes>) {
    if let Err(e) = stream_inner(source, opts, tx).await {
        tracing::debug!(error = %e, "log streaming ended");
    }
}

async fn stream_inner(
    source: LogSource,
    opts: LogOptions,
    tx: mpsc::Sender<Bytes>,
) -> std::io::Result<()> {
    let mut sink = Sink {
        tx,
        left: opts.limit_bytes,
        timestamps: opts.timestamps,
        since: opts.since,
    };
    let files = log_files(&source.path);
    let mut asm = Assembler::default();
    let mut messages = Vec::new();
    let mut buf = Vec::new();
    // Read everything up to now; keep the live file open at its end for follow.
    let mut live = None;
    for (i, p) in files.iter().enumerate() {
        let mut f = match tokio::fs::File::open(p).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        f.read_to_end(&mut buf).await?;
        drain_lines(&mut buf, &mut asm, &mut messages);
        if i + 1 == files.len() {
            live = Some(f);
        } else if !buf.is_empty() {
            // A rotated file always ends a line.
            buf.push(b'\n');
            drain_lines(&mut buf, &mut asm, &mut messages);
        }
    }
    let skip = match opts.tail_lines {
        Some(n) => messages.len().saturating_sub(n as usize),
        None => 0,
    };
    for m in &messages[skip..] {
        if !sink.send(m).await {
            return Ok(());
        }
    }
    if !opts.follow {
        return Ok(());
    }
    let mut file = live;
    let mut idle = Duration::ZERO;
    loop {
        let mut got = 0;
        if let Some(f) = file.as_mut() {
            got = f.read_to_end(&mut buf).await?;
        }
        let mut out = Vec::new();
        drain_lines(&mut buf, &mut asm, &mut out);
        for m in &out {
            if !sink.send(m).await {
                return Ok(());
            }
        }
        if got > 0 {
            idle = Duration::ZERO;
            continue;
        }
        if rotated(&source.path, file.as_ref()).await {
            if !buf.is_empty() {
                buf.push(b'\n');
                let mut out = Vec::new();
                drain_lines(&mut buf, &mut asm, &mut out);
                for m in &out {
                    if !sink.send(m).await {
                        return Ok(());
                    }
                }
            }
            file = tokio::fs::File::open(&source.path).await.ok();
            continue;
        }
        if sink.tx.is_closed() {
            return Ok(());
        }
        idle += POLL;
        // Check the container now and then; stop once it has exited and all is read.
        if idle >= Duration::from_secs(1) {
            idle = Duration::ZERO;
            if !(source.running)().await {
                return Ok(());
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether `path` now names another file than `open` (or `open` was truncated away).
async fn rotated(path: &Path, open: Option<&tokio::fs::File>) -> bool {
    let Ok(now) = tokio::fs::metadata(path).await else {
        return false;
    };
    let Some(f) = open else {
        return true;
    };
    match f.metadata().await {
        Ok(m) => m.ino() != now.ino() || m.dev() != now.dev(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests;
