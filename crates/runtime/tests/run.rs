//! A container runs in a sandbox, prints to a CRI log, reports exit code and reason.

mod common;

use common::*;
use skiff_runtime::{ContainerState, RuntimeService, SandboxState};

#[tokio::test]
async fn container_runs_and_logs_in_cri_format() {
    let env = Env::new("run");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("web")).await.unwrap();
    let st = rt.pod_sandbox_status(&sb).await.unwrap();
    assert_eq!(st.state, SandboxState::Ready);
    assert!(st.netns_path.as_ref().unwrap().exists());
    let id = run(
        &rt,
        &sb,
        sh(
            "hello",
            "echo hello; echo oops >&2; cat /etc/hostname; test -c /dev/null && echo devnull; \
             wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo pid=$$; id -u; ls /dev/pts/ptmx >/dev/null && echo pts; \
             touch /proc/sys/kernel/x 2>/dev/null || echo rosys; printf partial",
        ),
    )
    .await;
    let st = wait(&rt, &id, 10).await;
    assert_eq!(st.exit_code, Some(0));
    assert_eq!(st.reason, "Completed");
    assert!(st.started_at.is_some() && st.finished_at >= st.started_at);
    let lines = log_lines(&st);
    let out: Vec<&str> = lines
        .iter()
        .filter(|(s, _)| s == "stdout")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(
        out,
        vec![
            "hello", "web", "devnull", "0", "0", "pid=1", "0", "pts", "rosys", "partial"
        ],
        "{lines:?}"
    );
    assert!(lines.contains(&("stderr".into(), "oops".into())));

    let id2 = run(&rt, &sb, sh("fail", "exit 3")).await;
    let st2 = wait(&rt, &id2, 10).await;
    assert_eq!((st2.exit_code, st2.reason.as_str()), (Some(3), "Error"));

    rt.remove_pod_sandbox(&sb).await.unwrap();
    assert!(rt.container_status(&id).await.is_err());
    env.assert_clean();
}

#[tokio::test]
async fn start_failure_is_reported_and_cleaned_up() {
    let env = Env::new("fail");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("bad")).await.unwrap();
    let mut cfg = sh("missing", "");
    cfg.command = vec!["/no/such/binary".into()];
    let sbc = rt.pod_sandbox_status(&sb).await.unwrap().config;
    let id = rt.create_container(&sb, cfg, &sbc).await.unwrap();
    let err = rt.start_container(&id).await.unwrap_err().to_string();
    assert!(err.contains("/no/such/binary"), "{err}");
    let st = rt.container_status(&id).await.unwrap();
    assert_eq!(st.state, ContainerState::Exited);
    assert_eq!(st.reason, "StartError");
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn cgroup_v2_driver_places_containers_in_the_unified_hierarchy() {
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    let mount = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        std::path::Path::new("/sys/fs/cgroup")
    } else if unified.join("cgroup.controllers").exists() {
        unified
    } else {
        return;
    };
    let env = Env::new("v2");
    let mut cfg = env.config();
    cfg.cgroup_mount = mount.to_path_buf();
    let rt = skiff_runtime::Runtime::open(cfg, images()).unwrap();
    assert_eq!(rt.cgroup_version(), "v2");
    let sb = rt.run_pod_sandbox(sandbox_config("v2")).await.unwrap();
    let id = run(&rt, &sb, sh("v2", "cat /proc/self/cgroup | grep '^0::'")).await;
    let st = wait(&rt, &id, 10).await;
    assert_eq!(st.exit_code, Some(0));
    let lines = log_lines(&st);
    assert!(
        lines
            .iter()
            .any(|(_, t)| t.ends_with(&format!("/{}", st.cgroup_path))),
        "{lines:?} vs {}",
        st.cgroup_path
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
    assert!(!mount.join(&st.cgroup_path).exists());
    env.assert_clean();
}
