//! End-to-end scenarios: each test proves one user-visible behaviour with real clients
//! (kubectl 1.27 and 1.33, the Python client, kube-rs) against a real `skiff server`.

mod api_apply;
mod api_clients;
mod api_durability;
mod api_errors;
mod api_get;
mod api_mutate;
mod api_protobuf;
mod api_subresources;
mod api_versions;
mod node_config;
mod node_jobs;
mod node_lifecycle;
mod node_multi;
mod node_pods;
mod node_probes;
mod node_services;
mod node_storage;
mod node_streams;
mod node_workloads;

use skiff_testkit::{Kubectl, SkiffServer};

/// A fresh server and a kubectl of `version` pointed at it.
pub fn cluster(version: &str) -> (SkiffServer, Kubectl) {
    let server = SkiffServer::start().expect("skiff server starts");
    let kubectl = Kubectl::new(version, &server.kubeconfig());
    (server, kubectl)
}

/// Define one test per supported kubectl version: `name_v1_27`, `name_v1_33`.
#[macro_export]
macro_rules! kubectl_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn v1_27() {
                let f: fn(&str) = $body;
                f("1.27")
            }
            #[test]
            fn v1_33() {
                let f: fn(&str) = $body;
                f("1.33")
            }
        }
    };
}

/// Poll `f` until it returns Some, for up to `secs` seconds.
pub fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Like [`eventually`], with `context()` (e.g. `kubectl describe`) in the failure message.
pub fn eventually_or<T>(
    secs: u64,
    mut f: impl FnMut() -> Option<T>,
    context: impl FnOnce() -> String,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() >= deadline {
            panic!("condition not met within {secs}s\n{}", context());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

pub const APP_YAML: &str = include_str!("../../examples/demo-app.yaml");
