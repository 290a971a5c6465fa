//! Importing docker-save tarballs and OCI archives, and the once-only import directory.

mod common;

use common::*;
use skiff_images::{Error, ImageStore, import_dir_once};
use skiff_testkit::oci;

#[test]
fn imports_a_docker_save_tarball() {
    let tmp = tempfile::tempdir().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    let tarball = tmp.path().join("busybox.tar");
    oci::docker_save_tarball(&img, &tarball, "busybox:1.36").unwrap();
    let store = store(tmp.path(), None);
    let recs = store.import_archive(&tarball).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].reference, "docker.io/library/busybox:1.36");
    assert_eq!(recs[0].id, img.config_digest);
    assert_eq!(recs[0].config.cmd, ["sh"]);
    assert!(recs[0].layers[0].join("bin/busybox").is_file());
    assert_eq!(
        store.resolve("busybox:1.36").unwrap(),
        Some(recs[0].clone())
    );
    assert_eq!(names(&store.root().join("tmp")), Vec::<String>::new());
}

#[test]
fn imports_an_oci_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let img = oci::multi_layer_image(&tmp.path().join("img")).unwrap();
    let archive = tmp.path().join("multi.oci.tar");
    oci::oci_archive(&img, &archive).unwrap();
    let store = store(tmp.path(), None);
    let recs = store.import_archive(&archive).unwrap();
    assert_eq!(recs[0].reference, "import.local/multi:latest");
    assert_eq!(recs[0].digest, img.manifest_digest);
    assert_eq!(recs[0].layers.len(), 4);
    let named = store
        .import_archive_named(&archive, Some("example.com/team/multi"))
        .unwrap();
    assert_eq!(named[0].reference, "example.com/team/multi:latest");
    assert_eq!(named[0].layers, recs[0].layers);
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn corrupt_oci_archive_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    let blob = img
        .dir
        .join("blobs/sha256")
        .join(img.layers[0].0.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let archive = tmp.path().join("bad.tar");
    oci::oci_archive(&img, &archive).unwrap();
    let store = store(tmp.path(), None);
    let err = store.import_archive(&archive).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert_empty(&store);
    let junk = tmp.path().join("junk.tar");
    std::fs::write(&junk, b"not a tarball at all").unwrap();
    assert!(store.import_archive(&junk).is_err());
    assert_empty(&store);
}

#[test]
fn import_dir_imports_each_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    let store = store(tmp.path(), None);
    let dir = store.import_dir();
    oci::docker_save_tarball(&img, &dir.join("bb.tar"), "bb:v1").unwrap();
    std::fs::write(dir.join("broken.tar"), b"garbage").unwrap();

    let first = import_dir_once(&store, &dir).unwrap();
    assert_eq!(first.imported.len(), 1);
    assert_eq!(first.failed.len(), 1);
    assert_eq!(first.imported[0].reference, "docker.io/library/bb:v1");

    // A restart (new open) does not import again; removing the image does not bring it back.
    let reopened = ImageStore::open(store.root()).unwrap();
    let second = import_dir_once(&reopened, &dir).unwrap();
    assert!(second.imported.is_empty());
    assert_eq!(second.skipped.len(), 1);
    reopened.remove("bb:v1").unwrap();
    assert!(
        import_dir_once(&reopened, &dir)
            .unwrap()
            .imported
            .is_empty()
    );

    // A replaced file (new mtime) is imported again.
    let f = std::fs::File::options()
        .write(true)
        .open(dir.join("bb.tar"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    let third = import_dir_once(&reopened, &dir).unwrap();
    assert_eq!(third.imported.len(), 1);
    assert!(reopened.resolve("bb:v1").unwrap().is_some());
}
