//! A busybox image pulled from a local registry through the image store runs in the runtime.

mod common;

use std::sync::Arc;

use common::*;
use skiff_runtime::{ImageService, Runtime, RuntimeService};
use skiff_testkit::oci;
use skiff_testkit::registry::Registry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_image_runs_with_its_config() {
    let env = Env::new("pull");
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let img = oci::busybox_image(&tmp.path().join("img")).unwrap();
    oci::push(&img, &reg.addr(), "busybox:latest").unwrap();
    let store = skiff_images::ImageStore::open(tmp.path().join("images")).unwrap();
    let rt = Runtime::open(env.config(), Arc::new(store)).unwrap();
    let reference = format!("{}/busybox:latest", reg.addr());
    let rec = rt.pull_image(&reference).await.unwrap();
    assert_eq!(
        rt.image_status(&reference).await.unwrap().map(|r| r.digest),
        Some(rec.digest.clone())
    );
    assert_eq!(rt.list_images().await.unwrap().len(), 1);

    let sb = rt.run_pod_sandbox(sandbox_config("pulled")).await.unwrap();
    let mut cfg = sh("app", "id -u; id -g; echo $HOME; pwd; echo $PATH");
    cfg.image = reference.clone();
    cfg.security.run_as_username = Some("app".into());
    cfg.working_dir = "/work".into();
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 10).await;
    assert_eq!(st.exit_code, Some(0), "{:?}", log_lines(&st));
    let out: Vec<String> = log_lines(&st).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        out,
        vec![
            "1000",
            "1000",
            "/home/app",
            "/work",
            oci::DEFAULT_PATH.trim_start_matches("PATH=")
        ]
    );

    // Image CMD is `sh`: with args only, the entrypoint (none) + args run.
    let mut cfg = sh("args-only", "");
    cfg.image = reference.clone();
    cfg.command = vec![];
    cfg.args = vec!["echo".into(), "from-args".into()];
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 10).await;
    assert_eq!(
        log_lines(&st),
        vec![("stdout".to_string(), "from-args".to_string())]
    );

    rt.remove_pod_sandbox(&sb).await.unwrap();
    rt.remove_image(&reference).await.unwrap();
    env.assert_clean();
}
