//! The few kernel settings the pod network needs, written through /proc/sys.

use std::path::PathBuf;

use crate::error::{Error, Result};

fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// Reads a setting, trimmed.
pub fn get(key: &str) -> Result<String> {
    let p = path(key);
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("read", p, e))
}

/// Writes a setting unless it already has the value (so unchanged settings are never touched).
pub fn ensure(key: &str, value: &str) -> Result<()> {
    if get(key).is_ok_and(|v| v == value) {
        return Ok(());
    }
    let p = path(key);
    std::fs::write(&p, value).map_err(|e| Error::io("write", p, e))
}

/// Writes a per-interface IPv4 setting (`net.ipv4.conf.<iface>.<setting>`) unless it already
/// has the value; interface names may hold dots, so the path is built directly.
pub fn ensure_iface(iface: &str, setting: &str, value: &str) -> Result<()> {
    let p = PathBuf::from("/proc/sys/net/ipv4/conf")
        .join(iface)
        .join(setting);
    if std::fs::read_to_string(&p).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&p, value).map_err(|e| Error::io("write", p, e))
}
