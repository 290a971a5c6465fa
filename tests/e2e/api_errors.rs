//! Errors read as upstream: NotFound, AlreadyExists, Invalid, missing namespace, bad input.

use crate::{cluster, kubectl_test};

kubectl_test!(not_found_and_already_exists_read_as_upstream, |v| {
    let (_s, k) = cluster(v);
    let err = k.fails(&["get", "pod", "nope"]);
    assert!(
        err.contains(r#"Error from server (NotFound): pods "nope" not found"#),
        "{err}"
    );
    let err = k.fails(&["get", "deploy", "nope"]);
    assert!(
        err.contains(r#"Error from server (NotFound): deployments.apps "nope" not found"#),
        "{err}"
    );
    k.ok(&["create", "configmap", "twice"]);
    let again = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n";
    let err = k.fails_stdin(&["create", "-f", "-"], Some(again));
    assert!(
        err.contains("Error from server (AlreadyExists)")
            && err.contains(r#"configmaps "twice" already exists"#),
        "{err}"
    );
});

kubectl_test!(invalid_objects_get_422_with_causes, |v| {
    let (_s, k) = cluster(v);
    let bad_name = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n";
    let err = k.fails_stdin(&["create", "-f", "-"], Some(bad_name));
    assert!(
        err.contains("Invalid") && err.contains("metadata.name") && err.contains("RFC 1123"),
        "{err}"
    );
    let bad_selector = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
    let err = k.fails_stdin(&["create", "-f", "-"], Some(bad_selector));
    assert!(
        err.contains("is invalid") && err.contains("selector"),
        "{err}"
    );
});

kubectl_test!(immutable_selector_is_refused, |v| {
    let (_s, k) = cluster(v);
    let d = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a","x":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
    k.ok_stdin(&["create", "-f", "-"], Some(d));
    let err = k.fails(&[
        "patch",
        "deploy",
        "d",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"selector":{"matchLabels":{"app":"a","x":"y"}}}}"#,
    ]);
    assert!(err.contains("field is immutable"), "{err}");
});

kubectl_test!(create_in_missing_namespace_is_not_found, |v| {
    let (_s, k) = cluster(v);
    let err = k.fails(&["create", "configmap", "x", "-n", "ghost"]);
    assert!(err.contains(r#"namespaces "ghost" not found"#), "{err}");
});

kubectl_test!(unknown_fields_are_refused_by_strict_validation, |v| {
    let (_s, k) = cluster(v);
    let doc =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  a: b\nbogus: field\n";
    let err = k.fails_stdin(&["create", "-f", "-"], Some(doc));
    assert!(err.contains("bogus"), "{err}");
    k.ok_stdin(&["create", "--validate=false", "-f", "-"], Some(doc));
});

#[test]
fn anonymous_requests_get_401_except_health() {
    let (s, _k) = cluster("1.33");
    let base = format!("https://127.0.0.1:{}", s.port);
    let curl = |path: &str| {
        let out = std::process::Command::new("curl")
            .args([
                "-sk",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{base}{path}"),
            ])
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl("/readyz"), "200");
    assert_eq!(curl("/healthz"), "200");
    assert_eq!(curl("/version"), "200");
    assert_eq!(curl("/api/v1/namespaces"), "401");
}

#[test]
fn malformed_and_oversized_bodies_get_4xx() {
    let (_s, k) = cluster("1.33");
    let out = k.run_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        Some("{not json"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BadRequest") || err.contains("400"), "{err}");
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    let out = k.run_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        Some(&big),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too large") || err.contains("413"), "{err}");
    let wrong_kind = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"w"}}"#;
    let out = k.run_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        Some(wrong_kind),
    );
    assert!(
        !out.status.success(),
        "a Secret posted to configmaps is refused"
    );
}

kubectl_test!(wrongly_typed_fields_are_refused, |v| {
    let (_s, k) = cluster(v);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typed\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [true]\n";
    let err = k.fails_stdin(&["create", "--validate=false", "-f", "-"], Some(pod));
    assert!(
        err.contains("cannot unmarshal") || err.contains("BadRequest"),
        "{err}"
    );
    let err = k.fails_stdin(
        &["create", "--validate=false", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\ndata:\n  a: 1\n"),
    );
    assert!(
        err.contains("cannot unmarshal") || err.contains("BadRequest"),
        "{err}"
    );
});
