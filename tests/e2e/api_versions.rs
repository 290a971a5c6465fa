//! Every supported kubectl, 1.27 through 1.33, applies, reads and deletes an app.

use crate::{APP_YAML, cluster};

#[test]
fn every_kubectl_from_1_27_to_1_33_works() {
    for minor in 27..=33 {
        let v = format!("1.{minor}");
        let (_s, k) = cluster(&v);
        let out = k.ok_stdin(&["apply", "-f", "-"], Some(APP_YAML));
        assert!(
            out.contains("deployment.apps/web created"),
            "kubectl {v}: {out}"
        );
        let table = k.ok(&["get", "deploy,svc,cm", "-n", "demo"]);
        assert!(
            table.contains("deployment.apps/web") && table.contains("service/web"),
            "kubectl {v}: {table}"
        );
        let out = k.ok(&["delete", "deploy", "web", "-n", "demo"]);
        assert!(
            out.contains("deployment.apps \"web\" deleted"),
            "kubectl {v}: {out}"
        );
    }
}
