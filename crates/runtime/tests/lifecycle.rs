//! Lifecycle: localhost between containers of a pod, stop with grace period, exec, restart adoption.

mod common;

use std::time::{Duration, Instant};

use common::*;
use skiff_runtime::{ContainerState, ExecOptions, RuntimeService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn containers_of_a_pod_talk_over_localhost() {
    let env = Env::new("net");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("net")).await.unwrap();
    let server = run(&rt, &sb, sh("server", "mkdir -p /www && echo hi-from-server > /www/index.html && exec httpd -f -p 8080 -h /www")).await;
    let client = run(
        &rt,
        &sb,
        sh("client", "for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1"),
    )
    .await;
    let st = wait(&rt, &client, 15).await;
    assert_eq!(st.exit_code, Some(0), "{:?}", log_lines(&st));
    assert!(log_lines(&st).contains(&("stdout".into(), "hi-from-server".into())));
    // Another pod does not share the network namespace.
    let other = rt.run_pod_sandbox(sandbox_config("other")).await.unwrap();
    let outsider = run(
        &rt,
        &other,
        sh("outsider", "wget -q -T 1 -O - http://127.0.0.1:8080/"),
    )
    .await;
    let st = wait(&rt, &outsider, 15).await;
    assert_ne!(st.exit_code, Some(0));
    rt.stop_container(&server, Duration::from_secs(1))
        .await
        .unwrap();
    rt.remove_pod_sandbox(&sb).await.unwrap();
    rt.remove_pod_sandbox(&other).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn stop_sends_term_then_kill_after_grace() {
    let env = Env::new("stop");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("stop")).await.unwrap();
    let stubborn = run(
        &rt,
        &sb,
        sh(
            "stubborn",
            "trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done",
        ),
    )
    .await;
    let polite = run(
        &rt,
        &sb,
        sh(
            "polite",
            "trap 'echo bye; exit 0' TERM; while :; do sleep 0.05; done",
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    rt.stop_container(&stubborn, Duration::from_millis(700))
        .await
        .unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(650),
        "stopped too early: {took:?}"
    );
    let st = rt.container_status(&stubborn).await.unwrap();
    assert_eq!(
        (st.state, st.exit_code, st.reason.as_str()),
        (ContainerState::Exited, Some(137), "Error")
    );
    assert!(
        log_lines(&st).contains(&("stdout".into(), "got-term".into())),
        "{:?}",
        log_lines(&st)
    );

    let t0 = Instant::now();
    rt.stop_container(&polite, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    let st = rt.container_status(&polite).await.unwrap();
    assert_eq!((st.exit_code, st.reason.as_str()), (Some(0), "Completed"));
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn exec_runs_inside_the_container() {
    let env = Env::new("exec");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("exec")).await.unwrap();
    let id = run(
        &rt,
        &sb,
        sh("main", "echo marker > /tmp/marker; exec sleep 60"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = rt
        .exec_sync(
            &id,
            vec![
                "sh".into(),
                "-c".into(),
                "cat /tmp/marker; hostname; echo err >&2; cat /proc/1/comm; exit 3".into(),
            ],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.exit_code, 3);
    assert_eq!(String::from_utf8_lossy(&r.stdout), "marker\nexec\nsleep\n");
    assert_eq!(String::from_utf8_lossy(&r.stderr), "err\n");

    let err = rt
        .exec_sync(
            &id,
            vec!["sleep".into(), "10".into()],
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let r = rt
        .exec_sync(&id, vec!["nonexistent-cmd".into()], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.exit_code, 127, "{r:?}");

    let mut s = rt
        .exec(
            &id,
            vec!["tr".into(), "a-z".into(), "A-Z".into()],
            ExecOptions {
                stdin: true,
                tty: false,
            },
        )
        .await
        .unwrap();
    let mut stdin = s.stdin.take().unwrap();
    stdin.write_all(b"shout\n").await.unwrap();
    drop(stdin);
    let mut out = String::new();
    s.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert_eq!(out, "SHOUT\n");
    assert_eq!(s.exit.await.unwrap(), 0);

    let mut s = rt
        .exec(
            &id,
            vec!["sh".into(), "-c".into(), "tty && exit 5".into()],
            ExecOptions {
                stdin: false,
                tty: true,
            },
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut reader = s.stdout.take().unwrap();
    let code = s.exit.await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(300), reader.read_to_end(&mut out)).await;
    assert_eq!(code, 5);
    assert!(
        String::from_utf8_lossy(&out).contains("/dev/pts/"),
        "{out:?}"
    );

    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn reopened_runtime_adopts_running_containers_and_sees_exits() {
    let env = Env::new("adopt");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("adopt")).await.unwrap();
    let long = run(&rt, &sb, sh("long", "echo started; exec sleep 60")).await;
    let short = run(&rt, &sb, sh("short", "sleep 0.3; exit 7")).await;
    let pid = rt.container_status(&long).await.unwrap().pid.unwrap();
    let exit_file = rt.container_path(&short).join("exit.json");
    drop(rt);
    // Let the short one finish while no runtime is open.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !exit_file.exists() {
        assert!(Instant::now() < deadline, "short container never exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let rt = env.open();
    let st = rt.container_status(&long).await.unwrap();
    assert_eq!((st.state, st.pid), (ContainerState::Running, Some(pid)));
    let st = rt.container_status(&short).await.unwrap();
    assert_eq!(
        (st.state, st.exit_code, st.reason.as_str()),
        (ContainerState::Exited, Some(7), "Error")
    );
    assert_eq!(
        rt.list_pod_sandboxes(Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let r = rt
        .exec_sync(
            &long,
            vec!["echo".into(), "still here".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, b"still here\n");
    rt.stop_container(&long, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        rt.container_status(&long).await.unwrap().exit_code,
        Some(137)
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn attach_feeds_stdin_and_follows_output_and_log_reopens() {
    let env = Env::new("attach");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("attach")).await.unwrap();
    let mut cfg = sh("reader", "while read line; do echo got-$line; done");
    cfg.stdin = true;
    let id = run(&rt, &sb, cfg).await;
    let mut a = rt.attach(&id).await.unwrap();
    a.stdin.as_mut().unwrap().write_all(b"one\n").await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), a.stdout.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"got-one\n");

    // kubelet-style rotation: rename the file away, then ask for a reopen.
    let st = rt.container_status(&id).await.unwrap();
    let rotated = st.log_path.with_extension("log.old");
    std::fs::rename(&st.log_path, &rotated).unwrap();
    rt.reopen_container_log(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.stdin.as_mut().unwrap().write_all(b"two\n").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&st.log_path)
        .unwrap_or_default()
        .contains("got-two")
    {
        assert!(Instant::now() < deadline, "no output in the reopened log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        std::fs::read_to_string(&rotated)
            .unwrap()
            .contains("got-one")
    );
    rt.stop_container(&id, Duration::ZERO).await.unwrap();
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn tty_container_gets_a_terminal_from_its_own_devpts() {
    let env = Env::new("tty");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("tty")).await.unwrap();
    let mut cfg = sh("tty", "tty; read line; echo got-$line");
    cfg.tty = true;
    cfg.stdin = true;
    let id = run(&rt, &sb, cfg).await;
    let mut a = rt.attach(&id).await.unwrap();
    a.stdin
        .as_mut()
        .unwrap()
        .write_all(b"typed\n")
        .await
        .unwrap();
    let st = wait(&rt, &id, 10).await;
    assert_eq!(st.exit_code, Some(0));
    let text: Vec<String> = log_lines(&st)
        .into_iter()
        .map(|(_, t)| t.trim_end_matches('\r').to_string())
        .collect();
    assert!(text.contains(&"/dev/pts/0".to_string()), "{text:?}");
    assert!(text.contains(&"got-typed".to_string()), "{text:?}");
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}
