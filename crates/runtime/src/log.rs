//! CRI log format writer (`<RFC3339Nano> <stream> <P|F> <text>`) with size-based rotation.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

/// Longest line written as one entry; longer lines are split into `P` entries.
pub const MAX_LINE: usize = 16 * 1024;

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Rotation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rotation {
    /// Rotate when the file reaches this many bytes (0 = never).
    pub max_size: u64,
    /// Files kept in total, the live one included (kubelet's containerLogMaxFiles).
    pub max_files: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size: 10 << 20,
            max_files: 5,
        }
    }
}

/// Writes container output to a CRI-format log file.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    pending: [Vec<u8>; 2],
}

fn open_append(path: &Path) -> std::io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

impl LogWriter {
    /// Open (append) the log file at `path`.
    pub fn open(path: &Path, rotation: Rotation) -> std::io::Result<Self> {
        let (file, size) = open_append(path)?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
            pending: [Vec::new(), Vec::new()],
        })
    }

    /// Reopen the file (after someone else rotated it away).
    pub fn reopen(&mut self) -> std::io::Result<()> {
        let (file, size) = open_append(&self.path)?;
        self.file = file;
        self.size = size;
        Ok(())
    }

    /// Feed raw output of `stream`; complete lines are written, the rest is kept for later.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> std::io::Result<()> {
        let idx = stream as usize;
        let mut buf = std::mem::take(&mut self.pending[idx]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
            let line = &buf[start..start + nl];
            self.emit_long(stream, line)?;
            start += nl + 1;
        }
        let mut rest = buf.split_off(start);
        while rest.len() >= MAX_LINE {
            let tail = rest.split_off(MAX_LINE);
            self.entry(stream, true, &rest)?;
            rest = tail;
        }
        self.pending[idx] = rest;
        Ok(())
    }

    /// Write out what is pending for `stream` as a full line (the stream ended).
    pub fn finish(&mut self, stream: Stream) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.pending[stream as usize]);
        if !rest.is_empty() {
            self.entry(stream, false, &rest)?;
        }
        Ok(())
    }

    fn emit_long(&mut self, stream: Stream, mut line: &[u8]) -> std::io::Result<()> {
        while line.len() > MAX_LINE {
            self.entry(stream, true, &line[..MAX_LINE])?;
            line = &line[MAX_LINE..];
        }
        self.entry(stream, false, line)
    }

    fn entry(&mut self, stream: Stream, partial: bool, text: &[u8]) -> std::io::Result<()> {
        let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut out = Vec::with_capacity(ts.len() + text.len() + 12);
        out.extend_from_slice(ts.as_bytes());
        out.push(b' ');
        out.extend_from_slice(stream.as_str().as_bytes());
        out.extend_from_slice(if partial { b" P " } else { b" F " });
        out.extend_from_slice(text);
        out.push(b'\n');
        self.file.write_all(&out)?;
        self.size += out.len() as u64;
        if self.rotation.max_size > 0 && self.size >= self.rotation.max_size {
            self.rotate()?;
        }
        Ok(())
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let keep = self.rotation.max_files.saturating_sub(1);
        if keep == 0 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.rotated(keep));
        for n in (1..keep).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        self.reopen()
    }
}

/// One parsed CRI log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub time: DateTime<Utc>,
    pub stream: Stream,
    pub partial: bool,
    pub text: &'a str,
}

/// Parse a line written by [`LogWriter`] (without its trailing newline).
pub fn parse_line(line: &str) -> Option<LogLine<'_>> {
    let mut it = line.splitn(4, ' ');
    let time = DateTime::parse_from_rfc3339(it.next()?)
        .ok()?
        .with_timezone(&Utc);
    let stream = match it.next()? {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = match it.next()? {
        "P" => true,
        "F" => false,
        _ => return None,
    };
    Some(LogLine {
        time,
        stream,
        partial,
        text: it.next().unwrap_or(""),
    })
}

#[cfg(test)]
mod tests;
