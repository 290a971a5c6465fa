//! Shared helpers of the image integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use skiff_images::{ImageStore, RegistriesConfig};

/// A store in a temp dir with an optional registries.yaml.
pub fn store(tmp: &Path, registries_yaml: Option<&str>) -> ImageStore {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    if let Some(y) = registries_yaml {
        std::fs::write(data.join("registries.yaml"), y).unwrap();
    }
    ImageStore::open_data_dir(&data).unwrap()
}

/// A store with an explicit registries config.
pub fn store_with(tmp: &Path, reg: RegistriesConfig) -> ImageStore {
    ImageStore::open(tmp.join("data/agent"))
        .unwrap()
        .with_registries(reg)
}

/// Entries of a directory (names), sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Asserts the store holds nothing: no record, no blob, no snapshot, no staging leftovers.
pub fn assert_empty(store: &ImageStore) {
    assert!(store.list().unwrap().is_empty(), "records left");
    let root = store.root();
    assert_eq!(
        names(&root.join("blobs/sha256")),
        Vec::<String>::new(),
        "blobs left"
    );
    assert_eq!(
        names(&root.join("snapshots")),
        Vec::<String>::new(),
        "snapshots left"
    );
    assert_eq!(
        names(&root.join("tmp")),
        Vec::<String>::new(),
        "staging left"
    );
}

/// An overlay mount of `layers` (lowest first), unmounted on drop.
pub struct Overlay {
    pub target: PathBuf,
}

impl Overlay {
    pub fn mount(layers: &[PathBuf], target: &Path) -> Overlay {
        std::fs::create_dir_all(target).unwrap();
        let lower: Vec<String> = layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let opts = format!("lowerdir={}", lower.join(":"));
        nix::mount::mount(
            Some("overlay"),
            target,
            Some("overlay"),
            nix::mount::MsFlags::MS_RDONLY,
            Some(opts.as_str()),
        )
        .unwrap();
        Overlay {
            target: target.to_path_buf(),
        }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.target, nix::mount::MntFlags::MNT_DETACH);
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
