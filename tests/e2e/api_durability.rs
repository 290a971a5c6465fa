//! The datastore keeps every acknowledged write across restarts and kill -9.

use std::sync::{Arc, Mutex};

use crate::{APP_YAML, cluster};

#[test]
fn restart_keeps_every_object() {
    let (mut s, k) = cluster("1.33");
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let before = k.ok(&[
        "get",
        "cm,secret,svc",
        "-n",
        "demo",
        "-o",
        "jsonpath={range .items[*]}{.metadata.uid} {.metadata.resourceVersion}{\"\\n\"}{end}",
    ]);
    let deploy_uid = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    s.restart().expect("server restarts");
    // Controllers may update the Deployment's status after a restart; its identity stays.
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.metadata.uid}"
        ]),
        deploy_uid
    );
    let after = k.ok(&[
        "get",
        "cm,secret,svc",
        "-n",
        "demo",
        "-o",
        "jsonpath={range .items[*]}{.metadata.uid} {.metadata.resourceVersion}{\"\\n\"}{end}",
    ]);
    assert_eq!(
        before, after,
        "same objects, same uids and resourceVersions after a restart"
    );
    k.ok(&["create", "configmap", "after-restart"]);
    let rv: i64 = k
        .ok(&[
            "get",
            "cm",
            "after-restart",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .expect("numeric rv");
    let max_before = before
        .lines()
        .filter_map(|l| l.split(' ').nth(1)?.parse::<i64>().ok())
        .max()
        .unwrap_or(0);
    assert!(rv > max_before, "revisions keep increasing after a restart");
}

#[test]
fn kill_9_during_concurrent_creates_loses_no_acknowledged_write() {
    let (mut s, k) = cluster("1.33");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let acked = acked.clone();
        let stop = stop.clone();
        let kubeconfig = s.kubeconfig();
        workers.push(std::thread::spawn(move || {
            let k = skiff_testkit::Kubectl::new("1.33", &kubeconfig);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("burst-{w}-{i}");
                i += 1;
                let out = k.run(&[
                    "create",
                    "configmap",
                    &name,
                    "--from-literal=k=v",
                    "--request-timeout=5s",
                ]);
                if out.status.success() {
                    acked.lock().unwrap_or_else(|e| e.into_inner()).push(name);
                }
            }
        }));
    }
    // Kill while the burst is in full flow: once a few writes have been acknowledged.
    crate::eventually(60, || {
        (acked.lock().unwrap_or_else(|e| e.into_inner()).len() > 10).then_some(())
    });
    s.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        acked.len() > 10,
        "the burst created objects before the kill ({} acked)",
        acked.len()
    );
    s.kill_and_restart().expect("server restarts after kill -9");
    let names = k.ok(&["get", "cm", "-o", "jsonpath={.items[*].metadata.name}"]);
    let present: std::collections::HashSet<&str> = names.split(' ').collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|n| !present.contains(n.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged creates lost after kill -9: {lost:?}"
    );
}
