//! `RuntimeService` and `ImageService` for [`Runtime`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use skiff_images::ImageRecord;

use super::Runtime;
use crate::error::{Error, Result};
use crate::service::{
    AttachSession, ExecOptions, ExecSession, ExecSyncResult, ImageService, RuntimeService,
    rootfs_of,
};
use crate::types::{
    ContainerConfig, ContainerFilter, ContainerStats, ContainerStatus, PodSandboxConfig,
    PodSandboxStatus,
};

#[async_trait]
impl RuntimeService for Runtime {
    async fn run_pod_sandbox(&self, config: PodSandboxConfig) -> Result<String> {
        self.do_run_sandbox(config).await
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        self.do_stop_sandbox(id).await
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        self.do_remove_sandbox(id).await
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus> {
        self.sandbox_status(id)
    }

    async fn set_pod_sandbox_ip(&self, id: &str, ip: std::net::IpAddr) -> Result<()> {
        self.set_pod_ip(id, &ip.to_string())
    }

    async fn list_pod_sandboxes(
        &self,
        labels: BTreeMap<String, String>,
    ) -> Result<Vec<PodSandboxStatus>> {
        let ids: Vec<String> = self.lock().sandboxes.keys().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            if let Ok(s) = self.sandbox_status(&id)
                && labels
                    .iter()
                    .all(|(k, v)| s.config.labels.get(k) == Some(v))
            {
                out.push(s);
            }
        }
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        _sandbox_config: &PodSandboxConfig,
    ) -> Result<String> {
        let image = self
            .images
            .image_status(&config.image)
            .await?
            .ok_or_else(|| Error::ImageNotFound(config.image.clone()))?;
        self.create_container_from(sandbox_id, config, rootfs_of(&image), image.config)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.do_start_container(id).await
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        self.do_stop_container(id, timeout).await
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        self.do_remove_container(id).await
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        let rec = self.refresh_container(id)?;
        Ok(self.status_of(&rec))
    }

    async fn list_containers(&self, filter: ContainerFilter) -> Result<Vec<ContainerStatus>> {
        let ids: Vec<String> = self.lock().containers.keys().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            let Ok(rec) = self.refresh_container(&id) else {
                continue;
            };
            let st = self.status_of(&rec);
            if filter
                .sandbox_id
                .as_ref()
                .is_some_and(|s| *s != st.sandbox_id)
                || filter.state.is_some_and(|s| s != st.state)
                || !filter
                    .labels
                    .iter()
                    .all(|(k, v)| st.labels.get(k) == Some(v))
            {
                continue;
            }
            out.push(st);
        }
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }

    async fn wait_container(&self, id: &str) -> Result<ContainerStatus> {
        let rec = self.wait_exit(id, None).await?;
        Ok(self.status_of(&rec))
    }

    async fn exec(&self, id: &str, cmd: Vec<String>, opts: ExecOptions) -> Result<ExecSession> {
        self.do_exec(id, cmd, opts).await
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecSyncResult> {
        self.do_exec_sync(id, cmd, timeout).await
    }

    async fn attach(&self, id: &str) -> Result<AttachSession> {
        self.do_attach(id).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats> {
        self.stats_of(id)
    }

    async fn reopen_container_log(&self, id: &str) -> Result<()> {
        self.reopen_log(id)
    }
}

#[async_trait]
impl ImageService for Runtime {
    async fn pull_image(&self, reference: &str) -> Result<ImageRecord> {
        self.images.pull_image(reference).await
    }

    async fn list_images(&self) -> Result<Vec<ImageRecord>> {
        self.images.list_images().await
    }

    async fn image_status(&self, reference: &str) -> Result<Option<ImageRecord>> {
        self.images.image_status(reference).await
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        self.images.remove_image(reference).await
    }
}
