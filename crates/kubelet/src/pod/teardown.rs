//! Leaving the Running state: a terminal phase (Finished) or deletion (Terminating).

use std::collections::BTreeMap;
use std::time::Duration;

use skiff_runtime::ContainerState;

use super::config;
use super::worker::{Next, State, Worker};
use crate::{labels, volume};

impl Worker {
    /// A terminal phase: stop what still runs (sidecars), stop the sandbox, free the network.
    pub(super) async fn finish(&mut self, sandbox: &str) {
        let grace = self.grace_period();
        for c in self.containers.clone() {
            if c.state == ContainerState::Running {
                let msg = format!("Stopping container {}", c.name);
                self.kill_container(&c.id, &c.name, &msg, grace).await;
            }
        }
        let _ = self.list_containers(sandbox).await;
        let _ = self.ctx.runtime.stop_pod_sandbox(sandbox).await;
        if !config::host_network(&self.pod) {
            let _ = self.ctx.network.teardown(&self.key()).await;
        }
        self.sandbox_ready = false;
        self.finished_here = true;
        self.probes.retain(&[]);
    }

    pub(super) async fn terminate(&mut self) -> (State, Next) {
        let key = self.key();
        let rt = self.ctx.runtime.clone();
        let grace = self.grace_period();
        let sandboxes = rt
            .list_pod_sandboxes(BTreeMap::from([(
                labels::POD_UID.to_string(),
                key.uid.clone(),
            )]))
            .await
            .unwrap_or_default();
        let mut all = Vec::new();
        for sb in &sandboxes {
            let _ = self.list_containers(&sb.id).await;
            all.extend(self.containers.clone());
        }
        self.containers = all.clone();
        let kills = all
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| {
                let msg = format!("Stopping container {}", c.name);
                let (id, name) = (c.id.clone(), c.name.clone());
                async move { (id, name, msg) }
            });
        let targets: Vec<(String, String, String)> = futures::future::join_all(kills).await;
        self.kill_all(targets, grace).await;
        self.probes.retain(&[]);
        let mut all = Vec::new();
        for sb in &sandboxes {
            let _ = self.list_containers(&sb.id).await;
            all.extend(self.containers.clone());
        }
        self.containers = all;
        self.sandbox_ready = false;
        if !self.gone {
            self.post_status().await;
        }
        for sb in &sandboxes {
            let _ = rt.stop_pod_sandbox(&sb.id).await;
        }
        if !config::host_network(&self.pod) {
            let _ = self.ctx.network.teardown(&key).await;
        }
        for c in &self.containers {
            let _ = rt.remove_container(&c.id).await;
        }
        for sb in &sandboxes {
            if let Err(e) = rt.remove_pod_sandbox(&sb.id).await {
                tracing::warn!(pod = %key, error = %e, "removing sandbox");
            }
        }
        if let Err(e) = volume::teardown(&self.ctx.config.pod_dir(&key.uid)) {
            tracing::warn!(pod = %key, error = %e, "removing pod volumes");
        }
        if !self.gone
            && let Err(e) = self
                .ctx
                .api
                .delete_pod(&key.namespace, &key.name, &key.uid)
                .await
        {
            tracing::warn!(pod = %key, error = %e, "deleting pod");
            return (State::Terminating, Next::After(Duration::from_secs(2)));
        }
        (State::Terminated, Next::Done)
    }
}
