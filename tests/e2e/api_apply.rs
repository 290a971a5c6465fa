//! kubectl apply: multi-document files, no-op re-apply, strategic merge, server-side apply.

use crate::{APP_YAML, cluster, kubectl_test};

kubectl_test!(apply_creates_every_document, |v| {
    let (_s, k) = cluster(v);
    let out = k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    for line in [
        "namespace/demo created",
        "configmap/web-config created",
        "secret/web-secret created",
        "deployment.apps/web created",
        "service/web created",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let all = k.ok(&["get", "all", "-n", "demo"]);
    assert!(all.contains("deployment.apps/web"), "{all}");
    assert!(all.contains("service/web"), "{all}");
    let ip = k.ok(&[
        "get",
        "svc",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    assert!(
        ip.starts_with("10.43."),
        "ClusterIP {ip:?} not from the service CIDR"
    );
    let pw = k.ok(&[
        "get",
        "secret",
        "web-secret",
        "-n",
        "demo",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(
        pw, "czNjcmV0",
        "stringData is stored base64-encoded in data"
    );
});

kubectl_test!(apply_again_is_unchanged, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let rv1 = k.ok(&[
        "get",
        "cm,svc",
        "-n",
        "demo",
        "-o",
        "jsonpath={.items[*].metadata.resourceVersion}",
    ]);
    let out = k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    assert!(out.contains("deployment.apps/web unchanged"), "{out}");
    assert!(out.contains("service/web unchanged"), "{out}");
    let rv2 = k.ok(&[
        "get",
        "cm,svc",
        "-n",
        "demo",
        "-o",
        "jsonpath={.items[*].metadata.resourceVersion}",
    ]);
    assert_eq!(
        rv1, rv2,
        "a no-op apply must not write (controllers write deployment status, so look at objects they leave alone)"
    );
});

kubectl_test!(apply_modified_file_merges_strategically, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    // Someone else adds an env var and a label outside the file.
    k.ok(&["label", "deploy", "web", "-n", "demo", "team=blue"]);
    let changed = APP_YAML
        .replace("registry.local/web:1.0", "registry.local/web:2.0")
        .replace("replicas: 2", "replicas: 3");
    let out = k.ok_stdin(&["apply", "-f", "-"], Some(&changed));
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let image = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "registry.local/web:2.0");
    let replicas = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "3");
    let team = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.metadata.labels.team}",
    ]);
    assert_eq!(
        team, "blue",
        "fields set outside the file survive a client-side apply"
    );
    let env = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[0].value}",
    ]);
    assert_eq!(env, "prod");
});

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  key: one\n";

kubectl_test!(server_side_apply_conflicts_unless_forced, |v| {
    let (_s, k) = cluster(v);
    let out = k.ok_stdin(&["apply", "--server-side", "-f", "-"], Some(CM));
    assert!(out.contains("configmap/ssa serverside-applied"), "{out}");
    let managers = k.ok(&[
        "get",
        "cm",
        "ssa",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
        "--show-managed-fields",
    ]);
    assert!(
        managers.contains("kubectl"),
        "managedFields records the applier: {managers}"
    );
    // A second manager applying a different value conflicts…
    let other = CM.replace("key: one", "key: two");
    let err = k.fails_stdin(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&other),
    );
    assert!(err.contains("conflict"), "{err}");
    assert_eq!(
        k.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data.key}"]),
        "one"
    );
    // …until it forces.
    k.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&other),
    );
    assert_eq!(
        k.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data.key}"]),
        "two"
    );
});

kubectl_test!(diff_shows_pending_change, |v| {
    let (_s, k) = cluster(v);
    k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
    let changed = APP_YAML.replace("greeting: hello", "greeting: bonjour");
    let out = k.run_stdin(&["diff", "-f", "-"], Some(&changed));
    // kubectl diff exits 1 when there are differences.
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+  greeting: bonjour") && text.contains("-  greeting: hello"),
        "{text}"
    );
    // The dry run changed nothing.
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "web-config",
            "-n",
            "demo",
            "-o",
            "jsonpath={.data.greeting}"
        ]),
        "hello"
    );
});
