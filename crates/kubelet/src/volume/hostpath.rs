//! hostPath volumes and their `type` checks.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Check (or create) `path` as `type` asks; the error text is upstream's.
pub fn check(path: &Path, kind: Option<&str>) -> Result<()> {
    let p = path.display();
    let meta = std::fs::metadata(path);
    let fail = |what: &str| {
        Err(Error::Mount(format!(
            "hostPath type check failed: {p} is not {what}"
        )))
    };
    match kind.unwrap_or("") {
        "" => Ok(()),
        "DirectoryOrCreate" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => fail("a directory"),
            Err(_) => std::fs::create_dir_all(path)
                .and_then(|_| {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                })
                .map_err(|e| Error::Mount(format!("hostPath: create {p}: {e}"))),
        },
        "Directory" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => fail("a directory"),
            Err(_) => Err(Error::Mount(format!(
                "hostPath type check failed: {p} is not a directory"
            ))),
        },
        "FileOrCreate" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => fail("a file"),
            Err(_) => {
                if let Some(parent) = path.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|_| {
                        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
                    })
                    .map_err(|e| Error::Mount(format!("hostPath: create {p}: {e}")))
            }
        },
        "File" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            _ => fail("a file"),
        },
        "Socket" => match meta {
            Ok(m) if m.file_type().is_socket() => Ok(()),
            _ => fail("a socket file"),
        },
        "CharDevice" => match meta {
            Ok(m) if m.file_type().is_char_device() => Ok(()),
            _ => fail("a character device"),
        },
        "BlockDevice" => match meta {
            Ok(m) if m.file_type().is_block_device() => Ok(()),
            _ => fail("a block device"),
        },
        other => Err(Error::Mount(format!("hostPath: unknown type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_and_created() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("made/dir");
        check(&d, Some("DirectoryOrCreate")).unwrap();
        assert!(d.is_dir());
        check(&d, Some("Directory")).unwrap();
        let e = check(&d, Some("File")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("hostPath type check failed: {} is not a file", d.display())
        );
        let f = tmp.path().join("new/file");
        check(&f, Some("FileOrCreate")).unwrap();
        assert!(f.is_file());
        let e = check(&f, Some("Directory")).unwrap_err();
        assert!(e.to_string().ends_with("is not a directory"), "{e}");
        assert!(check(&tmp.path().join("nope"), Some("Directory")).is_err());
        assert!(check(&f, Some("Socket")).is_err());
        check(&tmp.path().join("anything"), None).unwrap();
    }
}
