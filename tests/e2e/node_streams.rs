//! Streams between kubectl and a running container: `logs -f`, `--tail`, `--previous`, and
//! interactive `exec -i` / `exec -it`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::eventually;
use crate::node_pods::{Killed, apply, node_cluster, pod_field, wait_ready};

/// The first run prints `attempt-1` and fails; the second prints `attempt-2`, then a numbered
/// line every 200 ms for ever.
fn chatty(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: chatty
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: data
    emptyDir: {{}}
  containers:
  - name: c
    image: {image}
    command:
    - sh
    - -c
    - |
      n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n
      echo attempt-$n
      [ $n -eq 1 ] && exit 1
      i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done
    volumeMounts:
    - name: data
      mountPath: /data
"#
    )
}

fn line_number(l: &str) -> Option<u64> {
    l.trim().strip_prefix("line-")?.parse().ok()
}

crate::kubectl_test!(logs_follow_tail_and_previous, |v| {
    let c = node_cluster(v);
    apply(&c.k, &chatty(&c.image));
    eventually(60, || {
        (pod_field(
            &c.k,
            "chatty",
            "{.status.containerStatuses[0].restartCount}",
        ) == "1")
            .then_some(())
    });
    wait_ready(&c.k, "chatty", 30);
    assert_eq!(
        c.k.ok(&["logs", "chatty", "--previous"]).trim(),
        "attempt-1",
        "--previous shows the run before the restart"
    );
    let before = eventually(30, || {
        let l = c.k.ok(&["logs", "chatty"]);
        l.lines().filter_map(line_number).max()
    });
    let logs = c.k.ok(&["logs", "chatty"]);
    assert_eq!(logs.lines().next(), Some("attempt-2"), "{logs}");

    let tail = c.k.ok(&["logs", "chatty", "--tail=2"]);
    let tail: Vec<u64> = tail.lines().filter_map(line_number).collect();
    assert_eq!(tail.len(), 2, "{tail:?}");
    assert_eq!(tail[0] + 1, tail[1]);
    assert!(tail[0] >= before, "the tail is the newest lines");

    let mut follow = Killed(
        Command::new(&c.k.bin)
            .args(["logs", "-f", "chatty"])
            .env("KUBECONFIG", &c.k.kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl logs -f starts"),
    );
    let stdout = follow.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let target = before + 5;
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("no new line from logs -f ({e}); saw {seen:?}"));
        if let Some(n) = line_number(&line) {
            seen.push(n);
            if n >= target {
                break;
            }
        }
    }
    assert_eq!(
        follow.0.try_wait().ok().flatten(),
        None,
        "logs -f is still following"
    );
    assert!(
        seen.windows(2).all(|w| w[0] + 1 == w[1]),
        "lines in order, none lost: {seen:?}"
    );
    drop(follow);
});

crate::kubectl_test!(logs_follow_ends_with_the_container, |v| {
    let c = node_cluster(v);
    let pod = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: brief
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {}
    command: ["sh", "-c", "echo first; sleep 3; echo last"]
"#,
        c.image
    );
    apply(&c.k, &pod);
    eventually(60, || {
        let started = pod_field(
            &c.k,
            "brief",
            "{.status.containerStatuses[0].state.running}",
        );
        (!started.is_empty()).then_some(())
    });
    let err = c.k.fails(&["logs", "brief", "--previous"]);
    assert!(
        err.contains("previous terminated container \"c\" in pod \"brief\" not found"),
        "{err}"
    );
    let start = std::time::Instant::now();
    let out = c.k.run(&["logs", "-f", "brief"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nlast\n");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "logs -f returns when the container ends"
    );
    eventually(30, || {
        (pod_field(&c.k, "brief", "{.status.phase}") == "Succeeded").then_some(())
    });
});

fn shell_pod(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {image}
    command: ["sleep", "3600"]
"#
    )
}

crate::kubectl_test!(
    interactive_exec_takes_stdin_and_returns_the_exit_code,
    |v| {
        let c = node_cluster(v);
        apply(&c.k, &shell_pod(&c.image));
        wait_ready(&c.k, "shell", 90);

        let out = c.k.run_stdin(
            &[
                "exec",
                "-i",
                "shell",
                "--",
                "sh",
                "-c",
                "read x; echo got-$x; exit 5",
            ],
            Some("hello\n"),
        );
        assert_eq!(
            out.status.code(),
            Some(5),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "got-hello");

        // With a terminal: `script` gives kubectl a pty, so `-t` is honoured end to end.
        let cmd = format!(
            "{} exec -it shell -- sh -c 'tty; read x; echo got-$((x*7)); exit 3'",
            c.k.bin.display()
        );
        let mut script = Killed(
            Command::new("script")
                .args(["-qec", &cmd, "/dev/null"])
                .env("KUBECONFIG", &c.k.kubeconfig)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("script runs"),
        );
        let mut stdin = script.0.stdin.take().expect("stdin");
        let mut stdout = script.0.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
            }
            String::from_utf8_lossy(&all).into_owned()
        });
        // Type the answer once the shell runs (it printed its terminal).
        loop {
            let seen = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the shell in the pod prints its tty");
            if seen.contains("/dev/pts/") {
                break;
            }
        }
        std::io::Write::write_all(&mut stdin, b"6\n").expect("typing");
        let status = eventually(30, || script.0.try_wait().ok().flatten());
        drop(stdin);
        let text = reader.join().unwrap_or_default();
        assert!(text.contains("/dev/pts/"), "a tty inside: {text}");
        assert!(text.contains("got-42"), "{text}");
        assert_eq!(status.code(), Some(3), "{text}");
    }
);
