//! Upstream's FailedScheduling message: "0/3 nodes are available: 1 node(s) had untolerated
//! taint {k: v}, 2 Insufficient cpu. preemption: ..."

use std::collections::HashMap;
use std::fmt;

use crate::framework::Status;

/// Sorted "count reason" strings joined by ", " (sorted as strings, like upstream).
pub fn histogram<'a>(reasons: impl IntoIterator<Item = &'a str>) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in reasons {
        *counts.entry(r).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    parts.sort();
    parts.join(", ")
}

/// Why no node fits a pod.
#[derive(Clone, Debug, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    /// Filter status of each rejecting node, by node name.
    pub statuses: Vec<(String, Status)>,
    /// Set when a PreFilter plugin rejected the pod before any node was tried.
    pub pre_filter_msg: Option<String>,
    /// The PostFilter (preemption) outcome.
    pub post_filter_msg: Option<String>,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        match &self.pre_filter_msg {
            Some(m) => write!(f, " {m}.")?,
            None => {
                let h = histogram(
                    self.statuses
                        .iter()
                        .flat_map(|(_, s)| s.reasons.iter().map(String::as_str)),
                );
                write!(f, " {h}.")?
            }
        }
        if let Some(m) = &self.post_filter_msg {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_format() {
        let e = FitError {
            num_all_nodes: 3,
            statuses: vec![
                (
                    "a".into(),
                    Status::unresolvable(
                        "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
                    ),
                ),
                ("b".into(), Status::unschedulable("Insufficient cpu")),
                ("c".into(), Status::unschedulable("Insufficient cpu")),
            ],
            pre_filter_msg: None,
            post_filter_msg: Some(
                "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
                    .into(),
            ),
        };
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, \
             2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn sorted_as_strings() {
        let r = ["x"; 10].into_iter().chain(["y"; 2]);
        assert_eq!(histogram(r), "10 x, 2 y");
    }
}
