//! Scheduler configuration: one profile (plugins per extension point, score weights) plus
//! queue, sampling and binding knobs, with upstream's defaults.

use std::time::Duration;

use crate::error::Error;
use crate::framework::Framework;
use crate::plugins::registry;

/// Plugins enabled at each extension point of the profile, in order.
#[derive(Clone, Debug)]
pub struct Plugins {
    pub pre_filter: Vec<String>,
    pub filter: Vec<String>,
    pub post_filter: Vec<String>,
    /// (plugin, weight).
    pub score: Vec<(String, i64)>,
    pub bind: Vec<String>,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Default for Plugins {
    fn default() -> Self {
        Plugins {
            pre_filter: names(&["PodTopologySpread", "InterPodAffinity", "VolumeBinding"]),
            filter: names(&[
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
            ]),
            post_filter: names(&["DefaultPreemption"]),
            score: [
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesFit", 1),
                ("NodeResourcesBalancedAllocation", 1),
                ("ImageLocality", 1),
            ]
            .into_iter()
            .map(|(n, w)| (n.to_string(), w))
            .collect(),
            bind: names(&["DefaultBinder"]),
        }
    }
}

/// Everything [`crate::run`] needs besides the client.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Pods whose `spec.schedulerName` is this are ours.
    pub scheduler_name: String,
    pub plugins: Plugins,
    /// Share of nodes to find feasible before scoring; `None` = adaptive like upstream.
    pub percentage_of_nodes_to_score: Option<u32>,
    pub pod_initial_backoff: Duration,
    pub pod_max_backoff: Duration,
    /// Pods left unschedulable this long are retried even without a cluster event.
    pub max_in_unschedulable: Duration,
    /// Bindings in flight at once.
    pub bind_concurrency: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scheduler_name: "default-scheduler".into(),
            plugins: Plugins::default(),
            percentage_of_nodes_to_score: None,
            pod_initial_backoff: Duration::from_secs(1),
            pod_max_backoff: Duration::from_secs(10),
            max_in_unschedulable: Duration::from_secs(5 * 60),
            bind_concurrency: 256,
        }
    }
}

impl SchedulerConfig {
    /// Instantiate the profile's plugins from the registry.
    pub fn framework(&self) -> Result<Framework, Error> {
        let reg = registry();
        let mut built: std::collections::HashMap<
            String,
            std::sync::Arc<dyn crate::framework::Plugin>,
        > = Default::default();
        let mut get = |n: &str| -> Result<
            (&'static str, std::sync::Arc<dyn crate::framework::Plugin>),
            Error,
        > {
            let p = match built.get(n) {
                Some(p) => p.clone(),
                None => {
                    let f = reg
                        .get(n)
                        .ok_or_else(|| Error::UnknownPlugin(n.to_string()))?;
                    let p = f();
                    built.insert(n.to_string(), p.clone());
                    p
                }
            };
            Ok((p.name(), p))
        };
        let check = |ok: bool, plugin: &str, point: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(Error::NotAtPoint {
                    plugin: plugin.to_string(),
                    point,
                })
            }
        };
        let mut fw = Framework::default();
        for n in &self.plugins.pre_filter {
            let (name, p) = get(n)?;
            check(p.as_pre_filter().is_some(), n, "PreFilter")?;
            fw.pre_filters.push((name, p));
        }
        for n in &self.plugins.filter {
            let (name, p) = get(n)?;
            check(p.as_filter().is_some(), n, "Filter")?;
            fw.filters.push((name, p));
        }
        for n in &self.plugins.post_filter {
            let (name, p) = get(n)?;
            check(p.as_post_filter().is_some(), n, "PostFilter")?;
            fw.post_filters.push((name, p));
        }
        for (n, w) in &self.plugins.score {
            let (name, p) = get(n)?;
            check(p.as_score().is_some(), n, "Score")?;
            fw.scores.push((name, p, *w));
        }
        for n in &self.plugins.bind {
            let (name, p) = get(n)?;
            check(p.as_bind().is_some(), n, "Bind")?;
            fw.binds.push((name, p));
        }
        if fw.binds.is_empty() {
            return Err(Error::NoBinder);
        }
        Ok(fw)
    }
}
