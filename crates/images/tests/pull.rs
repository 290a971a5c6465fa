//! Pulling from a real registry (Debian's docker-registry) as root: files, overlay, auth,
//! corrupt blobs, malicious layers, zstd, shared layers.

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use skiff_images::{Error, ImageStore};
use skiff_testkit::oci::{self, Compression, LayerBuilder};
use skiff_testkit::registry::{Registry, TokenServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_busybox_and_unpacks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "busybox:latest").unwrap();
    let store = store(tmp.path(), None);
    let reference = format!("{}/busybox", reg.addr());
    let rec = store.pull(&reference).await.unwrap();
    assert_eq!(rec.reference, format!("{}/busybox:latest", reg.addr()));
    assert_eq!(rec.digest, img.manifest_digest);
    assert_eq!(rec.id, img.config_digest);
    assert_eq!(rec.config.cmd, ["sh"]);
    assert_eq!(rec.config.env, [oci::DEFAULT_PATH]);
    assert_eq!(rec.layers.len(), 1);
    let fs = &rec.layers[0];
    let bb = std::fs::metadata(fs.join("bin/busybox")).unwrap();
    assert_eq!(bb.len(), std::fs::metadata(oci::BUSYBOX).unwrap().len());
    assert_eq!(bb.mode() & 0o777, 0o755);
    assert_eq!(
        std::fs::read_link(fs.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    let passwd = std::fs::read_to_string(fs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("app:x:1000:1000"), "{passwd}");
    let home = std::fs::metadata(fs.join("home/app")).unwrap();
    assert_eq!((home.uid(), home.gid()), (1000, 1000));
    assert_eq!(
        std::fs::metadata(fs.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    assert!(store.blob_path(&img.manifest_digest).unwrap().is_file());
    assert_eq!(store.resolve(&reference).unwrap(), Some(rec.clone()));
    assert_eq!(
        store.resolve(&img.config_digest).unwrap(),
        Some(rec.clone())
    );
    let by_digest = format!("{}/busybox@{}", reg.addr(), img.manifest_digest);
    assert_eq!(
        store.resolve(&by_digest).unwrap().map(|r| r.digest),
        Some(rec.digest.clone())
    );
    assert_eq!(store.resolve("busybox").unwrap(), None);

    // Pulling again is a no-op that keeps the same content; pulling by digest works too.
    let again = store.pull(&reference).await.unwrap();
    assert_eq!(again.layers, rec.layers);
    store.pull(&by_digest).await.unwrap();

    // A second store open sees the record.
    let reopened = ImageStore::open(store.root()).unwrap();
    assert_eq!(reopened.list().unwrap().len(), 2);
    assert!(!store.remove(&reference).unwrap().is_empty());
    assert!(!store.remove(&by_digest).unwrap().is_empty());
    assert_empty(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_layer_whiteouts_and_opaque_dirs_work_in_overlay() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::multi_layer_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "multi:v1").unwrap();
    let store = store(tmp.path(), None);
    let rec = store
        .pull(&format!("{}/multi:v1", reg.addr()))
        .await
        .unwrap();
    assert_eq!(rec.layers.len(), 4);
    if !is_root() {
        eprintln!("not root: skipping the overlay mount");
        return;
    }
    let merged = Overlay::mount(&rec.layers, &tmp.path().join("merged"));
    let m = &merged.target;
    assert_eq!(
        std::fs::read_to_string(m.join("etc/keep")).unwrap(),
        "keep\n"
    );
    assert_eq!(
        std::fs::read_to_string(m.join("etc/added")).unwrap(),
        "added\n"
    );
    assert!(
        !m.join("etc/remove-me").exists(),
        "whiteout did not hide the file"
    );
    assert_eq!(
        names(&m.join("data")),
        ["new"],
        "opaque dir leaked lower entries"
    );
    assert!(m.join("bin/busybox").is_file());
    assert!(
        std::fs::read_to_string(m.join("etc/passwd"))
            .unwrap()
            .contains("nobody")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_blob_is_refused_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "busybox:latest").unwrap();
    let layer_digest = &img.layers[0].0;
    let data = reg.blob_data_path(layer_digest);
    let mut bytes = std::fs::read(&data).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();

    let store = store(tmp.path(), None);
    let err = store
        .pull(&format!("{}/busybox", reg.addr()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(layer_digest) && msg.contains("nothing was stored"),
        "{msg}"
    );
    assert_empty(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_uses_registries_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start_with_basic_auth("alice", "s3cret").unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push_with_creds(&img, &reg.addr(), "private/bb:1", "alice", "s3cret").unwrap();
    let reference = format!("{}/private/bb:1", reg.addr());

    let anonymous = store(&tmp.path().join("anon"), None);
    let err = anonymous.pull(&reference).await.unwrap_err().to_string();
    assert!(err.contains("401") && err.contains(&reg.addr()), "{err}");
    assert!(err.contains("registries.yaml"), "{err}");
    assert_empty(&anonymous);

    let wrong = format!(
        "configs:\n  \"{}\":\n    auth:\n      username: alice\n      password: nope\n",
        reg.addr()
    );
    let wrong_store = store(&tmp.path().join("wrong"), Some(&wrong));
    let err = wrong_store.pull(&reference).await.unwrap_err().to_string();
    assert!(err.contains("401") && err.contains("check them"), "{err}");

    let yaml = format!(
        "configs:\n  \"{}\":\n    auth:\n      username: alice\n      password: s3cret\n",
        reg.addr()
    );
    let authed = store(&tmp.path().join("authed"), Some(&yaml));
    let rec = authed.pull(&reference).await.unwrap();
    assert!(rec.layers[0].join("bin/busybox").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_dance() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "team/bb:latest").unwrap();
    let tokens = TokenServer::start(&reg.addr(), Some(("bob", "pw"))).unwrap();
    let reference = format!("{}/team/bb", tokens.addr());

    let anonymous = store(&tmp.path().join("anon"), None);
    let err = anonymous.pull(&reference).await.unwrap_err().to_string();
    assert!(
        err.contains("refused a token") && err.contains("registries.yaml"),
        "{err}"
    );
    assert_empty(&anonymous);

    let yaml = format!(
        "configs:\n  \"{}\":\n    auth:\n      username: bob\n      password: pw\n",
        tokens.addr()
    );
    let authed = store(&tmp.path().join("authed"), Some(&yaml));
    let rec = authed.pull(&reference).await.unwrap();
    assert!(rec.layers[0].join("bin/busybox").is_file());
    assert!(tokens.tokens_issued() >= 1);
    assert!(
        tokens
            .scopes()
            .iter()
            .all(|s| s == "repository:team/bb:pull"),
        "{:?}",
        tokens.scopes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_are_tried_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "library/busybox:latest").unwrap();
    let dead = format!(
        "127.0.0.1:{}",
        skiff_testkit::registry::free_port().unwrap()
    );
    let yaml = format!(
        "mirrors:\n  docker.io:\n    endpoint:\n      - \"http://{dead}\"\n      - \"http://{}\"\n",
        reg.addr()
    );
    let store = store(tmp.path(), Some(&yaml));
    let rec = store.pull("busybox").await.unwrap();
    assert_eq!(rec.reference, "docker.io/library/busybox:latest");
    assert!(store.resolve("busybox:latest").unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_layers_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"secret").unwrap();
    let outside_s = outside.display().to_string();

    let mut dotdot = LayerBuilder::new();
    dotdot
        .raw(tar::EntryType::Regular, "../../../../escape", None, b"x")
        .unwrap();
    let mut through_symlink = LayerBuilder::new();
    through_symlink
        .raw(tar::EntryType::Symlink, "evil", Some(&outside_s), b"")
        .unwrap()
        .raw(tar::EntryType::Regular, "evil/pwned", None, b"x")
        .unwrap();
    let mut hardlink = LayerBuilder::new();
    hardlink
        .raw(
            tar::EntryType::Link,
            "stolen",
            Some(&format!("{outside_s}/secret")),
            b"",
        )
        .unwrap();
    let store = store(tmp.path(), None);
    for (i, (layer, needle)) in [
        (dotdot, "'..'"),
        (through_symlink, "symlink"),
        (hardlink, "absolute"),
    ]
    .into_iter()
    .enumerate()
    {
        let layer = layer.build(Compression::Gzip).unwrap();
        let img = oci::write_image(
            &tmp.path().join(format!("img{i}")),
            "latest",
            &[layer],
            &Default::default(),
        )
        .unwrap();
        oci::push(&img, &reg.addr(), &format!("evil{i}:latest")).unwrap();
        let err = store
            .pull(&format!("{}/evil{i}", reg.addr()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnsafeLayer { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert_empty(&store);
    }
    assert_eq!(names(&outside), ["secret"]);
    assert_eq!(
        std::fs::metadata(outside.join("secret")).unwrap().nlink(),
        1
    );
    assert!(!tmp.path().join("escape").exists());
    assert!(!std::path::Path::new("/escape").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_and_shared_layers_are_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let zimg = oci::write_image(
        &tmp.path().join("zimg"),
        "latest",
        &[oci::busybox_layer(Compression::Zstd).unwrap()],
        &Default::default(),
    )
    .unwrap();
    oci::push(&zimg, &reg.addr(), "bbz:latest").unwrap();
    let bb = oci::busybox_image(&tmp.path().join("bb")).unwrap();
    oci::push(&bb, &reg.addr(), "busybox:latest").unwrap();
    let multi = oci::multi_layer_image(&tmp.path().join("multi")).unwrap();
    oci::push(&multi, &reg.addr(), "multi:latest").unwrap();

    let store = store(tmp.path(), None);
    let z = store.pull(&format!("{}/bbz", reg.addr())).await.unwrap();
    assert!(z.layers[0].join("bin/busybox").is_file());
    let b = store
        .pull(&format!("{}/busybox", reg.addr()))
        .await
        .unwrap();
    let m = store.pull(&format!("{}/multi", reg.addr())).await.unwrap();
    // The zstd and gzip busybox layers have the same diffID: one snapshot for all three images.
    assert_eq!(z.layers[0], b.layers[0]);
    assert_eq!(b.layers[0], m.layers[0]);
    assert_eq!(names(&store.root().join("snapshots")).len(), 4);
    // blobs: 2 busybox layer blobs (zstd, gzip) + 3 more multi layers + 2 configs (the zstd
    // and gzip busybox images have the same config) + 3 manifests.
    assert_eq!(names(&store.root().join("blobs/sha256")).len(), 10);

    store.remove(&format!("{}/busybox", reg.addr())).unwrap();
    store.remove(&format!("{}/bbz", reg.addr())).unwrap();
    let still = store
        .resolve(&format!("{}/multi", reg.addr()))
        .unwrap()
        .unwrap();
    assert!(still.layers[0].join("bin/busybox").is_file());
    assert_eq!(names(&store.root().join("snapshots")).len(), 4);
    store.remove(&format!("{}/multi", reg.addr())).unwrap();
    assert_empty(&store);
    assert_eq!(store.prune().unwrap(), Default::default());
}
