//! kubectl get in every output form, get -w, describe, api-resources, explain.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::{APP_YAML, cluster, kubectl_test};

kubectl_test!(get_prints_tables_and_documents, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let table = k.ok(&["get", "deploy", "-n", "demo"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{table}"
    );
    assert!(
        table.lines().nth(1).unwrap_or("").starts_with("web "),
        "{table}"
    );
    let wide = k.ok(&["get", "deploy", "-n", "demo", "-o", "wide"]);
    assert!(
        wide.contains("CONTAINERS")
            && wide.contains("registry.local/web:1.0")
            && wide.contains("app=web"),
        "{wide}"
    );
    let svc = k.ok(&["get", "svc", "-n", "demo"]);
    assert!(
        svc.contains("CLUSTER-IP") && svc.contains("80/TCP"),
        "{svc}"
    );
    let yaml = k.ok(&["get", "cm", "web-config", "-n", "demo", "-o", "yaml"]);
    assert!(
        yaml.contains("greeting: hello") && yaml.contains("kind: ConfigMap"),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "cm", "web-config", "-n", "demo", "-o", "json"]))
            .expect("json output");
    assert_eq!(json["data"]["greeting"], "hello");
    assert!(
        json["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    let cols = k.ok(&[
        "get",
        "deploy",
        "-n",
        "demo",
        "-o",
        "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas",
    ]);
    assert!(
        cols.lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .eq(["web", "2"]),
        "{cols}"
    );
    let names = k.ok(&["get", "ns", "-o", "jsonpath={.items[*].metadata.name}"]);
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "demo",
    ] {
        assert!(
            names.split(' ').any(|n| n == ns),
            "namespace {ns} missing from {names}"
        );
    }
    let labels = k.ok(&["get", "deploy", "-n", "demo", "--show-labels"]);
    assert!(labels.contains("app=web"), "{labels}");
    let all_ns = k.ok(&["get", "cm", "-A"]);
    assert!(
        all_ns.lines().next().unwrap_or("").starts_with("NAMESPACE"),
        "{all_ns}"
    );
});

kubectl_test!(get_watch_sees_an_update, |v| {
    let (_s, k) = cluster(v);
    k.ok(&["create", "configmap", "watched", "--from-literal=a=1"]);
    let mut child = std::process::Command::new(&k.bin)
        .args([
            "get",
            "cm",
            "watched",
            "-w",
            "-o",
            "jsonpath={.data.a}{\"\\n\"}",
        ])
        .env("KUBECONFIG", &k.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .ok()
            .as_deref(),
        Some("1")
    );
    k.ok(&[
        "patch",
        "cm",
        "watched",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"2"}}"#,
    ]);
    let seen = rx.recv_timeout(std::time::Duration::from_secs(20)).ok();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.as_deref(), Some("2"), "the watch saw the update");
});

kubectl_test!(get_watch_prints_table_rows, |v| {
    let (_s, k) = cluster(v);
    let mut child = std::process::Command::new(&k.bin)
        .args(["get", "cm", "-w"])
        .env("KUBECONFIG", &k.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    k.ok(&["create", "configmap", "late", "--from-literal=a=1"]);
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        lines.push(line);
        if lines.iter().any(|l| l.starts_with("late ")) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("late ") && l.contains(" 1 ")),
        "{lines:?}"
    );
});

kubectl_test!(describe_shows_the_deployment, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let out = k.ok(&["describe", "deploy", "web", "-n", "demo"]);
    for want in [
        "Name:",
        "web",
        "Namespace:",
        "demo",
        "Selector:",
        "app=web",
        "StrategyType:",
        "RollingUpdate",
        "registry.local/web:1.0",
        "MODE:",
        "prod",
    ] {
        assert!(out.contains(want), "describe lacks {want:?}:\n{out}");
    }
    let svc = k.ok(&["describe", "svc", "web", "-n", "demo"]);
    assert!(
        svc.contains("Type:") && svc.contains("ClusterIP") && svc.contains("80/TCP"),
        "{svc}"
    );
});

kubectl_test!(api_resources_lists_every_kind, |v| {
    let (_s, k) = cluster(v);
    let out = k.ok(&["api-resources"]);
    for (name, short) in [
        ("pods", "po"),
        ("deployments", "deploy"),
        ("services", "svc"),
        ("cronjobs", "cj"),
        ("horizontalpodautoscalers", "hpa"),
        ("ingresses", "ing"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(name) && l.split_whitespace().nth(1) == Some(short)),
            "{name} ({short}) missing:\n{out}"
        );
    }
    assert!(
        out.contains("rbac.authorization.k8s.io/v1") && out.contains("coordination.k8s.io/v1"),
        "{out}"
    );
    let namespaced = k.ok(&["api-resources", "--namespaced=false", "-o", "name"]);
    assert!(
        namespaced.lines().any(|l| l == "nodes") && !namespaced.lines().any(|l| l == "pods"),
        "{namespaced}"
    );
});

kubectl_test!(explain_describes_fields, |v| {
    let (_s, k) = cluster(v);
    let out = k.ok(&["explain", "deployment.spec.strategy"]);
    assert!(out.contains("rollingUpdate"), "{out}");
    assert!(out.to_lowercase().contains("deployment strategy"), "{out}");
    let out = k.ok(&["explain", "pods.spec.containers.image"]);
    assert!(out.contains("image"), "{out}");
});
