//! Durable records of sandboxes and containers, written atomically as JSON.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use skiff_images::ImageConfig;

use crate::error::{Error, IoContext, Result};
use crate::spec::ProcessSpec;
use crate::types::{ContainerConfig, ContainerState, PodSandboxConfig, SandboxState};

/// Write `value` as JSON to `path` via a temporary file and rename.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).ctx("write", &tmp)?;
    std::fs::rename(&tmp, path).ctx("rename into place", path)
}

/// Read a JSON file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = std::fs::read(path).ctx("read", path)?;
    serde_json::from_slice(&data).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Where an image's layers are, lowest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootfsSource {
    pub lower_dirs: Vec<PathBuf>,
}

/// A sandbox as recorded on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub id: String,
    pub config: PodSandboxConfig,
    pub state: SandboxState,
    pub created_at: DateTime<Utc>,
    pub init_pid: Option<i32>,
    pub init_start: Option<u64>,
    pub cgroup_path: String,
}

/// A container as recorded on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub sandbox_id: String,
    pub config: ContainerConfig,
    pub image_config: ImageConfig,
    pub rootfs: RootfsSource,
    pub process: ProcessSpec,
    pub state: ContainerState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub reason: String,
    pub message: String,
    pub pid: Option<i32>,
    pub pid_start: Option<u64>,
    pub shim_pid: Option<i32>,
    pub shim_start: Option<u64>,
    pub cgroup_path: String,
    pub log_path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_json_atomic(
            &p,
            &RootfsSource {
                lower_dirs: vec!["/a".into()],
            },
        )
        .unwrap();
        let back: RootfsSource = read_json(&p).unwrap();
        assert_eq!(back.lower_dirs, vec![PathBuf::from("/a")]);
        assert!(!dir.path().join("x.json.tmp").exists());
    }

    #[test]
    fn corrupt_record_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{nope").unwrap();
        let err = read_json::<RootfsSource>(&p).unwrap_err();
        assert!(err.to_string().contains("bad.json"), "{err}");
    }
}
