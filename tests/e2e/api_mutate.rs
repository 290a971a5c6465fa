//! label, annotate, patch (json/merge/strategic), edit, replace, scale, create, delete.

use crate::{APP_YAML, cluster, kubectl_test};

kubectl_test!(label_and_annotate, |v| {
    let (_s, k) = cluster(v);
    k.ok(&["create", "configmap", "c", "--from-literal=a=1"]);
    k.ok(&["label", "cm", "c", "tier=backend"]);
    k.ok(&["annotate", "cm", "c", "owner=ops"]);
    assert_eq!(
        k.ok(&["get", "cm", "-l", "tier=backend", "-o", "name"])
            .trim(),
        "configmap/c"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "c",
            "-o",
            "jsonpath={.metadata.annotations.owner}"
        ]),
        "ops"
    );
    let err = k.fails(&["label", "cm", "c", "tier=frontend"]);
    assert!(err.contains("already has a value"), "{err}");
    k.ok(&["label", "cm", "c", "tier-"]);
    assert_eq!(k.ok(&["get", "cm", "-l", "tier", "-o", "name"]).trim(), "");
});

kubectl_test!(patch_json_merge_and_strategic, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ]);
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "4"
    );
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"patched":"merge"}}}"#,
    ]);
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.metadata.labels.patched}"
        ]),
        "merge"
    );
    // Strategic merge: the container list merges by name, keeping the port and env.
    k.ok(&["patch", "deploy", "web", "-n", "demo", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.local/web:3.0"}]}}}}"#]);
    let c = k.ok(&["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].name}"]);
    assert_eq!(c, "registry.local/web:3.0 MODE");
    let err = k.fails(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(
        err.contains("test failed"),
        "a failed JSON-patch test op is refused: {err}"
    );
    let generation = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    // Two spec patches on top of the create; the deployment controller's revision
    // annotation bumps it too, as upstream, so only a lower bound holds.
    let generation: i64 = generation.parse().unwrap_or(0);
    assert!(
        generation >= 3,
        "spec changes bump generation ({generation})"
    );
});

kubectl_test!(edit_with_scripted_editor, |v| {
    let (s, k) = cluster(v);
    k.ok(&["create", "configmap", "ed", "--from-literal=color=red"]);
    let script = s.data_dir().join("editor.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsed -i 's/color: red/color: green/' \"$1\"\n",
    )
    .expect("write editor");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let editor = script.display().to_string();
    let out = k.run_env(
        &["edit", "cm", "ed"],
        &[("KUBE_EDITOR", &editor), ("EDITOR", &editor)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configmap/ed edited"));
    assert_eq!(
        k.ok(&["get", "cm", "ed", "-o", "jsonpath={.data.color}"]),
        "green"
    );
});

kubectl_test!(replace_and_optimistic_concurrency, |v| {
    let (_s, k) = cluster(v);
    k.ok(&["create", "configmap", "r", "--from-literal=a=1"]);
    let json = k.ok(&["get", "cm", "r", "-o", "json"]);
    let mut obj: serde_json::Value = serde_json::from_str(&json).expect("json");
    obj["data"]["a"] = "2".into();
    k.ok_stdin(&["replace", "-f", "-"], Some(&obj.to_string()));
    assert_eq!(k.ok(&["get", "cm", "r", "-o", "jsonpath={.data.a}"]), "2");
    // The same (now stale) resourceVersion again conflicts.
    obj["data"]["a"] = "3".into();
    let err = k.fails_stdin(&["replace", "-f", "-"], Some(&obj.to_string()));
    assert!(
        err.contains("Error from server (Conflict)")
            && err.contains("the object has been modified"),
        "{err}"
    );
});

kubectl_test!(scale_changes_replicas, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let out = k.ok(&["scale", "deploy", "web", "-n", "demo", "--replicas=5"]);
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "5"
    );
    let scale = k.ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/demo/deployments/web/scale",
    ]);
    let scale: serde_json::Value = serde_json::from_str(&scale).expect("scale json");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 5);
    assert_eq!(scale["status"]["selector"], "app=web");
});

kubectl_test!(create_secret_and_configmap_from_literals, |v| {
    let (_s, k) = cluster(v);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        "--from-literal=user=admin",
        "--from-literal=pass=pw",
    ]);
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=mode=fast",
    ]);
    assert_eq!(
        k.ok(&["get", "secret", "db", "-o", "jsonpath={.data.user}"]),
        "YWRtaW4="
    );
    assert_eq!(
        k.ok(&["get", "secret", "db", "-o", "jsonpath={.type}"]),
        "Opaque"
    );
    let table = k.ok(&["get", "secret", "db"]);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .take(3)
            .eq(["db", "Opaque", "2"]),
        "{table}"
    );
    assert_eq!(
        k.ok(&["get", "cm", "settings", "-o", "jsonpath={.data.mode}"]),
        "fast"
    );
});

kubectl_test!(delete_by_name_selector_and_all, |v| {
    let (_s, k) = cluster(v);
    for (name, tier) in [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y")] {
        k.ok(&["create", "configmap", name, "--from-literal=k=v"]);
        k.ok(&["label", "cm", name, &format!("tier={tier}")]);
    }
    assert!(
        k.ok(&["delete", "cm", "a"])
            .contains("configmap \"a\" deleted")
    );
    let out = k.ok(&["delete", "cm", "-l", "tier=y"]);
    assert!(
        out.contains("\"c\" deleted") && out.contains("\"d\" deleted"),
        "{out}"
    );
    let left = k.ok(&["get", "cm", "-l", "tier", "-o", "name"]);
    assert_eq!(left.trim(), "configmap/b");
    k.ok(&["delete", "cm", "--all"]);
    assert_eq!(k.ok(&["get", "cm", "-l", "tier", "-o", "name"]).trim(), "");
});

kubectl_test!(deleting_a_namespace_removes_its_content, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    k.ok(&["delete", "ns", "demo", "--wait=true", "--timeout=60s"]);
    let err = k.fails(&["get", "ns", "demo"]);
    assert!(err.contains("NotFound"), "{err}");
    let left = k.ok(&["get", "cm,deploy,svc,secret", "-n", "demo", "-o", "name"]);
    assert_eq!(left.trim(), "", "nothing remains in the deleted namespace");
});
