//! Attach output: follow a container's CRI log from its current end and yield raw bytes.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream};

use crate::error::{IoContext, Result};
use crate::log::{Stream, parse_line};

/// Follow `log` from its end until `exit_file` appears; returns (stdout, stderr) readers.
pub fn follow_log(log: PathBuf, exit_file: PathBuf) -> Result<(DuplexStream, DuplexStream)> {
    let mut file = std::fs::File::open(&log).ctx("open log", &log)?;
    let mut pos = file.seek(SeekFrom::End(0)).ctx("seek log", &log)?;
    let (mut out_w, out_r) = tokio::io::duplex(64 * 1024);
    let (mut err_w, err_r) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut pending = String::new();
        loop {
            let done = exit_file.exists();
            // Reopen when the log was rotated away (a new inode or a shorter file).
            let rotated = match (std::fs::metadata(&log), file.metadata()) {
                (Ok(path_meta), Ok(open_meta)) => {
                    path_meta.ino() != open_meta.ino() || path_meta.len() < pos
                }
                _ => false,
            };
            if rotated {
                // Finish what is left in the old file first.
                let mut rest = String::new();
                let _ = file.read_to_string(&mut rest);
                pending.push_str(&rest);
                if let Ok(f) = std::fs::File::open(&log) {
                    file = f;
                    pos = 0;
                }
            }
            let mut chunk = String::new();
            if file.read_to_string(&mut chunk).is_ok() {
                pos += chunk.len() as u64;
            }
            pending.push_str(&chunk);
            while let Some(nl) = pending.find('\n') {
                let line: String = pending.drain(..=nl).collect();
                if let Some(l) = parse_line(line.trim_end_matches('\n')) {
                    let mut bytes = l.text.as_bytes().to_vec();
                    if !l.partial {
                        bytes.push(b'\n');
                    }
                    let w = if l.stream == Stream::Stdout {
                        &mut out_w
                    } else {
                        &mut err_w
                    };
                    if w.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
            if done && chunk.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Ok((out_r, err_r))
}
