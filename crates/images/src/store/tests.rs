use super::*;

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

#[test]
fn open_creates_the_layout_and_rejects_damaged_records() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path().join("agent")).unwrap();
    for sub in ["blobs/sha256", "snapshots", "tmp", "images"] {
        assert!(store.root().join(sub).is_dir(), "{sub}");
    }
    assert!(store.list().unwrap().is_empty());
    assert_eq!(store.resolve("busybox").unwrap(), None);
    assert!(store.resolve("Not A Ref").is_err());
    assert!(store.remove("busybox").unwrap().is_empty());
    fs::write(store.root().join("images.json"), b"{not json").unwrap();
    let err = ImageStore::open(store.root()).err().unwrap().to_string();
    assert!(err.contains("images.json"), "{err}");
}

#[test]
fn records_resolve_by_reference_digest_and_id() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path()).unwrap();
    let img = StoredImage {
        reference: "127.0.0.1:5000/app:v1".into(),
        digest: digest('a'),
        manifest_digest: digest('a'),
        config_digest: digest('c'),
        layers: vec![StoredLayer {
            digest: digest('1'),
            diff_id: digest('2'),
            size: 10,
            media_type: manifest::OCI_LAYER_GZIP.into(),
        }],
        config: ImageConfig {
            cmd: vec!["sh".into()],
            ..Default::default()
        },
        size: 42,
        created: "2026-01-01T00:00:00Z".into(),
    };
    let mut db = Db::default();
    db.images.insert(img.reference.clone(), img);
    store.save_db(&db).unwrap();
    // The snapshot is missing: the image does not resolve (a pull repairs it).
    assert_eq!(store.resolve("127.0.0.1:5000/app:v1").unwrap(), None);
    let snap = store.snapshot_path(&digest('2')).unwrap();
    fs::create_dir_all(&snap).unwrap();
    let rec = store.resolve("127.0.0.1:5000/app:v1").unwrap().unwrap();
    assert_eq!(rec.layers, [snap]);
    assert_eq!((rec.id.as_str(), rec.size), (digest('c').as_str(), 42));
    assert_eq!(store.resolve(&digest('c')).unwrap(), Some(rec.clone()));
    assert_eq!(store.resolve(&"c".repeat(64)).unwrap(), Some(rec.clone()));
    let pinned = format!("127.0.0.1:5000/app@{}", digest('a'));
    assert_eq!(store.resolve(&pinned).unwrap(), Some(rec.clone()));
    let other_repo = format!("127.0.0.1:5000/other@{}", digest('a'));
    assert_eq!(store.resolve(&other_repo).unwrap(), None);
    assert!(
        !names(store.root()).iter().any(|n| n.contains("tmp-")),
        "temp file left"
    );
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn prune_removes_unreferenced_content_and_dead_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path()).unwrap();
    let blob = store.blob_path(&digest('b')).unwrap();
    fs::write(&blob, b"0123456789").unwrap();
    let snap = store.snapshot_path(&digest('d')).unwrap();
    fs::create_dir_all(&snap).unwrap();
    fs::write(snap.join("f"), b"abc").unwrap();
    let dead = store.root().join("tmp/999999999-0-0");
    fs::create_dir_all(&dead).unwrap();
    let live = store.staging().unwrap();
    let report = store.prune().unwrap();
    assert_eq!(report.blobs_removed, 1);
    assert_eq!(report.snapshots_removed, 1);
    assert_eq!(report.bytes_freed, 13);
    assert!(!blob.exists() && !dead.exists());
    assert!(live.dir.is_dir(), "a live process's staging must stay");
    drop(live);
    assert!(names(&store.root().join("tmp")).is_empty());
}
