use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::*;

fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    name: &str,
    link: Option<&str>,
    data: &[u8],
    mode: u32,
) {
    let mut h = tar::Header::new_gnu();
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        old.linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(1_600_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    fn new() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }
    fn dir(mut self, n: &str) -> Self {
        raw_entry(&mut self.0, tar::EntryType::Directory, n, None, b"", 0o755);
        self
    }
    fn file(mut self, n: &str, data: &[u8], mode: u32) -> Self {
        raw_entry(&mut self.0, tar::EntryType::Regular, n, None, data, mode);
        self
    }
    fn symlink(mut self, n: &str, t: &str) -> Self {
        raw_entry(&mut self.0, tar::EntryType::Symlink, n, Some(t), b"", 0o777);
        self
    }
    fn hardlink(mut self, n: &str, t: &str) -> Self {
        raw_entry(&mut self.0, tar::EntryType::Link, n, Some(t), b"", 0o644);
        self
    }
    fn chardev(mut self, n: &str) -> Self {
        raw_entry(&mut self.0, tar::EntryType::Char, n, None, b"", 0o666);
        self
    }
    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("snap/fs");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    (tmp, dest, outside)
}

#[test]
fn unpacks_files_links_whiteouts_and_opaque_dirs() {
    let (_tmp, dest, _) = setup();
    let layer = Layer::new()
        .dir("./")
        .dir("./etc/")
        .file("./etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644)
        .file("bin/tool", b"#!", 0o4755)
        .symlink("bin/sh", "tool")
        .hardlink("bin/tool2", "bin/tool")
        .file("gone/.wh.old", b"", 0o644)
        .dir("opaque/")
        .file("opaque/.wh..wh..opq", b"", 0o644)
        .file("opaque/kept", b"k", 0o600)
        .chardev("dev/null")
        .bytes();
    let stats = unpack_layer(&layer[..], &dest, "test").unwrap();
    assert_eq!(stats.whiteouts, 2);
    assert_eq!(stats.skipped_devices, 1);
    assert_eq!(
        fs::read(dest.join("etc/passwd")).unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    let tool = fs::metadata(dest.join("bin/tool")).unwrap();
    assert_eq!(tool.mtime(), 1_600_000_000);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(tool.mode() & 0o7777, 0o4755);
    }
    assert_eq!(
        fs::read_link(dest.join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(
        fs::metadata(dest.join("bin/tool2")).unwrap().ino(),
        tool.ino()
    );
    assert!(!dest.join("dev/null").exists());
    if nix::unistd::geteuid().is_root() {
        let wh = fs::symlink_metadata(dest.join("gone/old")).unwrap();
        assert!(wh.file_type().is_char_device());
        assert_eq!(wh.rdev(), 0);
        assert_eq!(
            get_xattr(&dest.join("opaque"), "trusted.overlay.opaque").unwrap(),
            Some(b"y".to_vec())
        );
    }
    assert_eq!(fs::read(dest.join("opaque/kept")).unwrap(), b"k");
}

fn assert_refused(layer: Vec<u8>, dest: &Path, outside: &Path, needle: &str) {
    let err = unpack_layer(&layer[..], dest, "evil").unwrap_err();
    assert!(matches!(err, Error::UnsafeLayer { .. }), "{err}");
    assert!(err.to_string().contains(needle), "{err}");
    assert_eq!(
        fs::read_dir(outside).unwrap().count(),
        0,
        "something escaped"
    );
    assert!(
        !dest
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("escape")
            .exists()
    );
}

#[test]
fn refuses_dotdot_and_absolute_paths() {
    let (_tmp, dest, outside) = setup();
    assert_refused(
        Layer::new().file("../../escape", b"x", 0o644).bytes(),
        &dest,
        &outside,
        "'..'",
    );
    let abs = format!("{}/abs", outside.display());
    assert_refused(
        Layer::new().file(&abs, b"x", 0o644).bytes(),
        &dest,
        &outside,
        "absolute",
    );
}

#[test]
fn refuses_writing_through_symlinks() {
    let (_tmp, dest, outside) = setup();
    let target = outside.display().to_string();
    let layer = Layer::new()
        .symlink("evil", &target)
        .file("evil/file", b"x", 0o644)
        .bytes();
    assert_refused(layer, &dest, &outside, "symlink");
    let (_tmp, dest, outside) = setup();
    let layer = Layer::new()
        .symlink("up", "../..")
        .file("up/outside/f", b"x", 0o644)
        .bytes();
    assert_refused(layer, &dest, &outside, "symlink");
    let (_tmp, dest, outside) = setup();
    let layer = Layer::new()
        .symlink("evil", &target)
        .file("evil/.wh.x", b"", 0o644)
        .bytes();
    assert_refused(layer, &dest, &outside, "symlink");
}

#[test]
fn refuses_hardlinks_out_of_the_layer() {
    let (_tmp, dest, outside) = setup();
    fs::write(outside.join("secret"), b"s").unwrap();
    let secret = outside.join("secret").display().to_string();
    for link in ["../../outside/secret", secret.as_str(), "missing"] {
        let layer = Layer::new().hardlink("hl", link).bytes();
        let err = unpack_layer(&layer[..], &dest, "evil").unwrap_err();
        assert!(matches!(err, Error::UnsafeLayer { .. }), "{link}: {err}");
    }
    let layer = Layer::new()
        .symlink("evil", &outside.display().to_string())
        .hardlink("hl", "evil/secret")
        .bytes();
    let err = unpack_layer(&layer[..], &dest, "evil").unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(fs::metadata(outside.join("secret")).unwrap().nlink(), 1);
}

#[test]
fn a_file_replaces_a_symlink_instead_of_writing_through_it() {
    let (_tmp, dest, outside) = setup();
    fs::write(outside.join("victim"), b"original").unwrap();
    let victim = outside.join("victim").display().to_string();
    let layer = Layer::new()
        .symlink("s", &victim)
        .file("s", b"new", 0o644)
        .bytes();
    unpack_layer(&layer[..], &dest, "l").unwrap();
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"original");
    assert_eq!(fs::read(dest.join("s")).unwrap(), b"new");
    assert!(
        !fs::symlink_metadata(dest.join("s"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
