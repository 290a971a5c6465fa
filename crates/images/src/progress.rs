//! Pull progress reporting: events, a no-op sink, plain lines, and indicatif bars.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

/// What a pull reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The reference resolved to this manifest digest.
    Resolved { reference: String, digest: String },
    /// A blob download starts (`total` from the descriptor).
    BlobStart { digest: String, total: u64 },
    /// Bytes received so far for a blob.
    BlobProgress {
        digest: String,
        done: u64,
        total: u64,
    },
    /// The blob is already in the store.
    BlobExists { digest: String },
    /// The blob arrived and its digest matched.
    BlobDone { digest: String },
    /// A layer is being unpacked.
    Unpacking { diff_id: String },
    /// The image is stored.
    Done { reference: String },
}

/// A sink for [`ProgressEvent`]s.
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent);
}

/// Ignores every event.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent) {}
}

/// `sha256:abcdef012345…` (first 12 hex digits).
pub fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    format!("sha256:{}…", &hex[..hex.len().min(12)])
}

/// Human size, decimal units like crictl (`1.2 MB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Plain lines on a writer (for logs and non-terminals), at most one progress line per blob
/// per 10%.
pub struct LineProgress<W: Write + Send> {
    out: Mutex<(W, HashMap<String, u64>)>,
}

impl<W: Write + Send> LineProgress<W> {
    pub fn new(out: W) -> Self {
        LineProgress {
            out: Mutex::new((out, HashMap::new())),
        }
    }
}

impl<W: Write + Send> Progress for LineProgress<W> {
    fn event(&self, event: ProgressEvent) {
        let Ok(mut guard) = self.out.lock() else {
            return;
        };
        let (out, last) = &mut *guard;
        let line = match event {
            ProgressEvent::Resolved { reference, digest } => {
                format!("resolved {reference} to {digest}")
            }
            ProgressEvent::BlobStart { digest, total } => {
                last.insert(digest.clone(), 0);
                format!(
                    "pulling {} 0 B/{}",
                    short_digest(&digest),
                    human_size(total)
                )
            }
            ProgressEvent::BlobProgress {
                digest,
                done,
                total,
            } => {
                let step = (total / 10).max(1);
                let prev = last.get(&digest).copied().unwrap_or(0);
                if done < prev + step || done >= total {
                    return;
                }
                last.insert(digest.clone(), done);
                format!(
                    "pulling {} {}/{}",
                    short_digest(&digest),
                    human_size(done),
                    human_size(total)
                )
            }
            ProgressEvent::BlobExists { digest } => format!("exists {}", short_digest(&digest)),
            ProgressEvent::BlobDone { digest } => format!("done {}", short_digest(&digest)),
            ProgressEvent::Unpacking { diff_id } => format!("unpacking {}", short_digest(&diff_id)),
            ProgressEvent::Done { reference } => format!("done: {reference}"),
        };
        let _ = writeln!(out, "{line}");
    }
}

/// One indicatif bar per blob.
pub struct BarProgress {
    multi: indicatif::MultiProgress,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Default for BarProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl BarProgress {
    pub fn new() -> Self {
        BarProgress {
            multi: indicatif::MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, digest: &str, total: u64) -> indicatif::ProgressBar {
        let Ok(mut bars) = self.bars.lock() else {
            return indicatif::ProgressBar::hidden();
        };
        bars.entry(digest.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(indicatif::ProgressBar::new(total));
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(short_digest(digest));
                bar
            })
            .clone()
    }
}

impl Progress for BarProgress {
    fn event(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::BlobStart { digest, total } => {
                self.bar(&digest, total);
            }
            ProgressEvent::BlobProgress {
                digest,
                done,
                total,
            } => {
                self.bar(&digest, total).set_position(done);
            }
            ProgressEvent::BlobExists { digest } => {
                self.bar(&digest, 0).finish_with_message("exists");
            }
            ProgressEvent::BlobDone { digest } => {
                self.bar(&digest, 0).finish_with_message("done");
            }
            ProgressEvent::Resolved { reference, digest } => {
                let _ = self
                    .multi
                    .println(format!("resolved {reference} to {digest}"));
            }
            ProgressEvent::Unpacking { diff_id } => {
                let _ = self
                    .multi
                    .println(format!("unpacking {}", short_digest(&diff_id)));
            }
            ProgressEvent::Done { reference } => {
                let _ = self.multi.println(format!("done: {reference}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines() {
        let p = LineProgress::new(Vec::new());
        let d = format!("sha256:{}", "ab".repeat(32));
        p.event(ProgressEvent::BlobStart {
            digest: d.clone(),
            total: 3_400_000,
        });
        p.event(ProgressEvent::BlobProgress {
            digest: d.clone(),
            done: 1_200_000,
            total: 3_400_000,
        });
        p.event(ProgressEvent::BlobProgress {
            digest: d.clone(),
            done: 1_200_001,
            total: 3_400_000,
        });
        p.event(ProgressEvent::BlobDone { digest: d });
        let text = String::from_utf8(p.out.into_inner().unwrap().0).unwrap();
        assert_eq!(
            text,
            "pulling sha256:abababababab… 0 B/3.4 MB\n\
             pulling sha256:abababababab… 1.2 MB/3.4 MB\n\
             done sha256:abababababab…\n"
        );
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500), "1.5 kB");
    }
}
