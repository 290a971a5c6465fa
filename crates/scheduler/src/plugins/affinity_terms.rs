//! Pod (anti-)affinity terms resolved against the owning pod's namespace.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodAffinityTerm;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::helpers::selector_matches;
use crate::podinfo::PodInfo;

/// A term whose namespaces are resolved: listed ones, the owner's, or all (empty selector).
#[derive(Clone, Debug)]
pub struct Term {
    pub namespaces: Vec<String>,
    pub all_namespaces: bool,
    pub selector: Option<LabelSelector>,
    pub topology_key: String,
    pub weight: i64,
}

impl Term {
    pub fn new(t: &PodAffinityTerm, owner_ns: &str, weight: i64) -> Term {
        let mut namespaces = t.namespaces.clone().unwrap_or_default();
        let all_namespaces = t.namespace_selector.as_ref().is_some_and(|s| {
            s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && s.match_expressions.as_ref().is_none_or(|m| m.is_empty())
        });
        if namespaces.is_empty() && t.namespace_selector.is_none() {
            namespaces.push(owner_ns.to_string());
        }
        Term {
            namespaces,
            all_namespaces,
            selector: t.label_selector.clone(),
            topology_key: t.topology_key.clone(),
            weight,
        }
    }

    /// Whether `pod` is one of the pods this term selects.
    pub fn matches(&self, pod: &PodInfo) -> bool {
        (self.all_namespaces || self.namespaces.contains(&pod.namespace))
            && selector_matches(self.selector.as_ref(), pod.labels())
    }

    /// The (key, value) pair of the node for this term's topology key.
    pub fn pair<'a>(&self, labels: &'a BTreeMap<String, String>) -> Option<(String, &'a String)> {
        labels
            .get(&self.topology_key)
            .map(|v| (self.topology_key.clone(), v))
    }
}

/// The four term lists of a pod.
#[derive(Clone, Debug, Default)]
pub struct PodTerms {
    pub required_affinity: Vec<Term>,
    pub required_anti: Vec<Term>,
    pub preferred_affinity: Vec<Term>,
    pub preferred_anti: Vec<Term>,
}

impl PodTerms {
    pub fn of(pod: &PodInfo) -> PodTerms {
        let mut out = PodTerms::default();
        let Some(aff) = pod.spec().and_then(|s| s.affinity.as_ref()) else {
            return out;
        };
        let ns = pod.namespace.as_str();
        if let Some(a) = &aff.pod_affinity {
            for t in a
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.required_affinity.push(Term::new(t, ns, 1));
            }
            for w in a
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.preferred_affinity
                    .push(Term::new(&w.pod_affinity_term, ns, w.weight as i64));
            }
        }
        if let Some(a) = &aff.pod_anti_affinity {
            for t in a
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.required_anti.push(Term::new(t, ns, 1));
            }
            for w in a
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.preferred_anti
                    .push(Term::new(&w.pod_affinity_term, ns, w.weight as i64));
            }
        }
        out
    }
}
