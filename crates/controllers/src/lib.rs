//! Workload and service controllers of Skiff, clients of the API as kube-controller-manager's are.
//!
//! Every controller lives in its own folder with the same skeleton: `mod.rs` wires a
//! `kube::runtime::Controller` (reflector-fed caches, a queue of keys, one sync per key at a
//! time, requeue with backoff) to a `sync` that gathers the state, a pure `decide` that says
//! what to do, and the API calls that do it. [`registry`] lists them; [`run`] starts those
//! selected, with kube-controller-manager's `--controllers` syntax.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod error;
pub mod job;
pub mod replicaset;
pub mod statefulset;
pub mod util;

use std::collections::HashSet;

use futures::future::BoxFuture;

pub use error::{Error, Result};

/// Starts one controller; the future runs until the controller stops.
pub type StartFn = fn(kube::Client) -> BoxFuture<'static, Result<()>>;

/// One registered controller.
#[derive(Clone, Copy)]
pub struct ControllerDef {
    /// The canonical name used in `--controllers` (upstream's, e.g. "deployment-controller").
    pub name: &'static str,
    /// Other accepted names (upstream's pre-1.28 names, e.g. "deployment").
    pub aliases: &'static [&'static str],
    /// Started by "*" (upstream disables a few by default, e.g. "bootstrapsigner").
    pub enabled_by_default: bool,
    /// Starts it.
    pub start: StartFn,
}

impl std::fmt::Debug for ControllerDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerDef")
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("enabled_by_default", &self.enabled_by_default)
            .finish()
    }
}

/// Every controller this crate provides.
pub fn registry() -> Vec<ControllerDef> {
    vec![
        ControllerDef {
            name: "replicaset-controller",
            aliases: &["replicaset"],
            enabled_by_default: true,
            start: |c| Box::pin(replicaset::run(c)),
        },
        ControllerDef {
            name: "replicationcontroller-controller",
            aliases: &["replicationcontroller"],
            enabled_by_default: true,
            start: |c| Box::pin(replicaset::run_rc(c)),
        },
        ControllerDef {
            name: "deployment-controller",
            aliases: &["deployment"],
            enabled_by_default: true,
            start: |c| Box::pin(deployment::run(c)),
        },
        ControllerDef {
            name: "daemonset-controller",
            aliases: &["daemonset"],
            enabled_by_default: true,
            start: |c| Box::pin(daemonset::run(c)),
        },
        ControllerDef {
            name: "statefulset-controller",
            aliases: &["statefulset"],
            enabled_by_default: true,
            start: |c| Box::pin(statefulset::run(c)),
        },
        ControllerDef {
            name: "job-controller",
            aliases: &["job"],
            enabled_by_default: true,
            start: |c| Box::pin(job::run(c)),
        },
        ControllerDef {
            name: "cronjob-controller",
            aliases: &["cronjob"],
            enabled_by_default: true,
            start: |c| Box::pin(cronjob::run(c)),
        },
        ControllerDef {
            name: "endpoints-controller",
            aliases: &["endpoint"],
            enabled_by_default: true,
            start: |c| Box::pin(endpoints::run_endpoints(c)),
        },
        ControllerDef {
            name: "endpointslice-controller",
            aliases: &["endpointslice"],
            enabled_by_default: true,
            start: |c| Box::pin(endpoints::run_slices(c)),
        },
        ControllerDef {
            name: "endpointslice-mirroring-controller",
            aliases: &["endpointslicemirroring"],
            enabled_by_default: true,
            start: |c| Box::pin(endpoints::run_mirroring(c)),
        },
        ControllerDef {
            name: "ttl-after-finished-controller",
            aliases: &["ttl-after-finished"],
            enabled_by_default: true,
            start: |c| Box::pin(job::ttl::run(c)),
        },
    ]
}

/// Checks the registry (unique names and aliases) and resolves `enabled` against it, with
/// kube-controller-manager's `--controllers` syntax: "*" is every controller enabled by
/// default, "name" adds one, "-name" removes one (names or aliases); an empty list means
/// "*". Unknown names are an error, as kube-controller-manager refuses them.
pub fn select(defs: &[ControllerDef], enabled: &[&str]) -> Result<Vec<ControllerDef>> {
    let mut seen = HashSet::new();
    for d in defs {
        for n in std::iter::once(&d.name).chain(d.aliases) {
            if !seen.insert(*n) {
                return Err(Error::DuplicateController(n.to_string()));
            }
        }
    }
    let known = || defs.iter().map(|d| d.name).collect::<Vec<_>>().join(", ");
    let enabled: Vec<&str> = if enabled.is_empty() {
        vec!["*"]
    } else {
        enabled.to_vec()
    };
    for e in &enabled {
        let n = e.strip_prefix('-').unwrap_or(e);
        if n != "*" && !seen.contains(n) {
            return Err(Error::UnknownController(n.to_string(), known()));
        }
    }
    let named = |d: &ControllerDef, n: &str| d.name == n || d.aliases.contains(&n);
    let star = enabled.contains(&"*");
    Ok(defs
        .iter()
        .filter(|d| {
            let off = enabled
                .iter()
                .any(|e| e.strip_prefix('-').is_some_and(|n| named(d, n)));
            let on = enabled.iter().any(|e| named(d, e));
            !off && (on || (star && d.enabled_by_default))
        })
        .copied()
        .collect())
}

/// Starts the selected controllers and runs them until one fails.
pub async fn run(client: kube::Client, enabled: &[&str]) -> anyhow::Result<()> {
    let chosen = select(&registry(), enabled)?;
    let names: Vec<&str> = chosen.iter().map(|d| d.name).collect();
    tracing::info!(controllers = ?names, "starting controllers");
    let futs = chosen.into_iter().map(|d| {
        let c = client.clone();
        async move {
            (d.start)(c)
                .await
                .map_err(|e| anyhow::anyhow!("controller {}: {e}", d.name))
        }
    });
    futures::future::try_join_all(futs).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[ControllerDef]) -> Vec<&'static str> {
        v.iter().map(|d| d.name).collect()
    }

    #[test]
    fn star_selects_all_and_minus_removes() {
        let r = registry();
        assert_eq!(names(&select(&r, &[]).unwrap_or_default()).len(), r.len());
        let s = select(&r, &["*", "-cronjob"]).unwrap_or_default();
        assert!(!names(&s).contains(&"cronjob-controller"));
        assert!(names(&s).contains(&"deployment-controller"));
        let only = select(&r, &["job"]).unwrap_or_default();
        assert_eq!(names(&only), ["job-controller"]);
        let both = select(&r, &["job-controller", "replicaset"]).unwrap_or_default();
        assert_eq!(names(&both), ["replicaset-controller", "job-controller"]);
        let none = select(&r, &["*", "-deployment-controller"]).unwrap_or_default();
        assert!(!names(&none).contains(&"deployment-controller"));
    }

    #[test]
    fn unknown_and_duplicate_names_are_refused() {
        let r = registry();
        let e = select(&r, &["deploymnet"]).err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("unknown controller \"deploymnet\"")));
        let mut dup = registry();
        dup.push(dup[0]);
        assert!(matches!(
            select(&dup, &[]),
            Err(Error::DuplicateController(_))
        ));
    }
}
