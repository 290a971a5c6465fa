//! Termination messages: the file each container may write at `terminationMessagePath`
//! (default `/dev/termination-log`), read back into `state.terminated.message` once it exits,
//! or the tail of its log under `terminationMessagePolicy: FallbackToLogsOnError`.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use skiff_runtime::{ContainerState, ContainerStatus};

/// Most bytes read from a termination-message file (upstream's limit).
pub const MAX_MESSAGE: u64 = 4096;
/// Most log lines, and bytes, taken as the message under `FallbackToLogsOnError`.
pub const MAX_LOG_LINES: usize = 80;
pub const MAX_LOG_BYTES: usize = 2048;

/// Host file bound at one attempt's `terminationMessagePath`.
pub fn host_path(pod_dir: &Path, container: &str, attempt: u32) -> PathBuf {
    pod_dir
        .join("containers")
        .join(container)
        .join(format!("{attempt}.termination-log"))
}

/// Create the empty host file, writable by any user the container runs as.
pub fn prepare(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, b"")?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
}

/// The first [`MAX_MESSAGE`] bytes of a message file (empty when missing).
fn read_message(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_MESSAGE).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The last [`MAX_LOG_LINES`] lines of a CRI log, at most [`MAX_LOG_BYTES`] of text.
pub fn log_tail(path: &Path) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    // Each CRI line carries a ~40-byte prefix: read enough of the end for 80 lines of text.
    let window = (MAX_LOG_BYTES + MAX_LOG_LINES * 64) as u64;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(window);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut raw = Vec::new();
    if f.read_to_end(&mut raw).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&raw);
    let mut lines = text.lines();
    if start > 0 {
        lines.next(); // a cut line
    }
    let mut out = String::new();
    for l in lines.filter_map(skiff_runtime::log::parse_line) {
        out.push_str(l.text);
        if !l.partial {
            out.push('\n');
        }
    }
    let kept: Vec<&str> = out.split_inclusive('\n').collect();
    let mut out: String = kept[kept.len().saturating_sub(MAX_LOG_LINES)..].concat();
    if out.len() > MAX_LOG_BYTES {
        let mut cut = out.len() - MAX_LOG_BYTES;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    out
}

/// `containers` with the termination message of every exited one filled in.
pub fn with_messages(
    pod: &Pod,
    pod_dir: &Path,
    containers: &[ContainerStatus],
) -> Vec<ContainerStatus> {
    let spec = pod.spec.as_ref();
    containers
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if c.state != ContainerState::Exited {
                return c;
            }
            let mut msg = read_message(&host_path(pod_dir, &c.name, c.attempt));
            let fallback = spec
                .into_iter()
                .flat_map(|s| {
                    s.containers
                        .iter()
                        .chain(s.init_containers.iter().flatten())
                })
                .find(|s| s.name == c.name)
                .and_then(|s| s.termination_message_policy.as_deref())
                == Some("FallbackToLogsOnError");
            if msg.is_empty() && fallback && c.exit_code.unwrap_or(0) != 0 {
                msg = log_tail(&c.log_path);
            }
            if !msg.is_empty() {
                if !c.message.is_empty() {
                    c.message.push_str(": ");
                }
                c.message.push_str(&msg);
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::plan::tests::{ctr, pod};
    use serde_json::json;

    #[test]
    fn message_file_then_log_fallback_on_error_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = pod(json!({"containers": [
            {"name": "file"},
            {"name": "logs", "terminationMessagePolicy": "FallbackToLogsOnError"},
            {"name": "ok", "terminationMessagePolicy": "FallbackToLogsOnError"},
        ]}));
        let written = host_path(dir.path(), "file", 0);
        prepare(&written).unwrap();
        assert_eq!(
            std::fs::metadata(&written).unwrap().permissions().mode() & 0o777,
            0o666
        );
        std::fs::write(&written, "x".repeat(5000)).unwrap();
        let log = dir.path().join("0.log");
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!(
                "2026-01-01T00:00:00.000000000Z stdout F line {i}\n"
            ));
        }
        text.push_str("2026-01-01T00:00:00.000000000Z stderr P half \n");
        text.push_str("2026-01-01T00:00:00.000000000Z stderr F and half\n");
        std::fs::write(&log, text).unwrap();
        let mut logs = ctr("logs", 0, ContainerState::Exited, Some(1), None);
        logs.log_path = log.clone();
        let mut ok = ctr("ok", 0, ContainerState::Exited, Some(0), None);
        ok.log_path = log;
        let cs = [
            ctr("file", 0, ContainerState::Exited, Some(0), None),
            logs,
            ok,
            ctr("file", 1, ContainerState::Running, None, None),
        ];
        let out = with_messages(&p, dir.path(), &cs);
        assert_eq!(out[0].message.len(), 4096, "the file, cut at 4 KiB");
        let tail: Vec<&str> = out[1].message.lines().collect();
        assert_eq!(tail.len(), 80);
        assert_eq!(tail[0], "line 21");
        assert_eq!(tail[79], "half and half", "partial lines joined");
        assert_eq!(out[2].message, "", "exit 0: no fallback to logs");
        assert_eq!(out[3].message, "", "running: no message");
    }
}
