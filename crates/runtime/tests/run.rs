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

    let second = skiff_runtime::Runtime::open(env.config(), images()).unwrap_err();
    assert!(
        second.to_string().contains("in use by another process"),
        "{second}"
    );
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

#[tokio::test]
async fn security_context_and_volumes_apply() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("sec");
    let rt = env.open();
    let vols = tempfile::tempdir().unwrap();
    let ro = vols.path().join("ro");
    let rw = vols.path().join("rw");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::set_permissions(&rw, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(ro.join("data"), "hello-volume\n").unwrap();
    let sb = rt.run_pod_sandbox(sandbox_config("sec")).await.unwrap();

    let mut cfg = sh(
        "user",
        "id -u; id -g; id -G; grep NoNewPrivs /proc/self/status; cat /data/data; \
         touch /data/x 2>/dev/null || echo ro-vol; touch /rootfile 2>/dev/null || echo ro-root; \
         echo w > /out/f && echo rw-vol",
    );
    cfg.security.run_as_user = Some(1000);
    cfg.security.run_as_group = Some(1000);
    cfg.security.supplemental_groups = vec![10];
    cfg.security.readonly_rootfs = true;
    cfg.security.no_new_privs = true;
    cfg.mounts = vec![
        skiff_runtime::Mount {
            host_path: ro.clone(),
            container_path: "/data".into(),
            readonly: true,
        },
        skiff_runtime::Mount {
            host_path: rw.clone(),
            container_path: "/out".into(),
            readonly: false,
        },
    ];
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 10).await;
    let out: Vec<String> = log_lines(&st)
        .into_iter()
        .filter(|(s, _)| s == "stdout")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        out,
        vec![
            "1000",
            "1000",
            "1000 10",
            "NoNewPrivs:\t1",
            "hello-volume",
            "ro-vol",
            "ro-root",
            "rw-vol"
        ],
        "{:?}",
        log_lines(&st)
    );
    assert_eq!(std::fs::read_to_string(rw.join("f")).unwrap(), "w\n");

    let mut cfg = sh(
        "caps",
        "grep -E '^Cap(Eff|Bnd)' /proc/self/status; grep NoNewPrivs /proc/self/status",
    );
    cfg.security.drop_capabilities = vec!["ALL".into()];
    cfg.security.add_capabilities = vec!["NET_BIND_SERVICE".into()];
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 10).await;
    let out: Vec<String> = log_lines(&st).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        out,
        vec![
            "CapEff:\t0000000000000400",
            "CapBnd:\t0000000000000400",
            "NoNewPrivs:\t0"
        ],
        "{out:?}"
    );

    let mut cfg = sh("default-caps", "grep CapEff /proc/self/status");
    cfg.security.privileged = false;
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 10).await;
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
    // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    assert_eq!(
        log_lines(&st),
        vec![(
            "stdout".to_string(),
            "CapEff:\t00000000a80425fb".to_string()
        )]
    );

    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn host_network_pod_uses_the_host_namespaces() {
    let env = Env::new("hostnet");
    let rt = env.open();
    let mut cfg = sandbox_config("hostnet");
    cfg.host_network = true;
    let sb = rt.run_pod_sandbox(cfg).await.unwrap();
    assert_eq!(rt.pod_sandbox_status(&sb).await.unwrap().netns_path, None);
    let id = run(
        &rt,
        &sb,
        sh(
            "h",
            "hostname; readlink /proc/1/ns/net >/dev/null; ls /sys/class/net | wc -l",
        ),
    )
    .await;
    let st = wait(&rt, &id, 10).await;
    let out: Vec<String> = log_lines(&st).into_iter().map(|(_, t)| t).collect();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host_ifaces = std::fs::read_dir("/sys/class/net").unwrap().count();
    assert_eq!(
        out,
        vec![host_name.trim().to_string(), host_ifaces.to_string()],
        "{out:?}"
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}
