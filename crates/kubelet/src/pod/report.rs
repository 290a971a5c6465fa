//! Posting the pod status computed from the worker's view.

use std::collections::BTreeMap;

use chrono::Utc;
use skiff_runtime::ContainerState;

use super::status::{self, ProbeFlags, Waiting};
use super::termination;
use super::worker::{State, Worker, terminal};

impl Worker {
    /// Compute the status and patch it when it changed.
    pub(super) async fn post_status(&mut self) {
        let probes: BTreeMap<String, ProbeFlags> = self
            .probes
            .snapshot()
            .into_iter()
            .map(|(id, r)| {
                (
                    id,
                    ProbeFlags {
                        ready: r.is_ready(),
                        started: r.is_started(),
                    },
                )
            })
            .collect();
        let running: Vec<&str> = self
            .containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.name.as_str())
            .collect();
        let waiting: BTreeMap<String, Waiting> = self
            .waiting
            .iter()
            .filter(|(n, _)| !running.contains(&n.as_str()))
            .map(|(n, w)| (n.clone(), w.clone()))
            .collect();
        let phase_override = if self.state == State::Finished && terminal(&self.pod) {
            // Never leave a terminal phase.
            self.pod
                .status
                .as_ref()
                .and_then(|s| match s.phase.as_deref() {
                    Some("Succeeded") => Some("Succeeded"),
                    Some("Failed") => Some("Failed"),
                    _ => None,
                })
        } else {
            self.phase_override
        };
        let pod_dir = self.ctx.config.pod_dir(&self.key().uid);
        let containers = termination::with_messages(&self.pod, &pod_dir, &self.containers);
        let input = status::Input {
            pod: &self.pod,
            containers: &containers,
            sandbox_ready: self.sandbox_ready,
            waiting: &waiting,
            probes: &probes,
            image_ids: &self.image_ids,
            pod_ips: &self.pod_ips,
            host_ip: self.ctx.config.node_ip,
            phase_override,
            reason: self.status_reason,
            now: Utc::now(),
        };
        let st = status::compute(&input);
        if self.last_status.as_ref() == Some(&st) {
            return;
        }
        let key = self.key();
        match self
            .ctx
            .api
            .patch_status(&key.namespace, &key.name, &st)
            .await
        {
            Ok(()) => {
                self.pod.status = Some(st.clone());
                self.last_status = Some(st);
            }
            Err(e) => tracing::debug!(pod = %key, error = %e, "patching pod status"),
        }
    }
}
