//! The local-path provisioner (k3s's `rancher.io/local-path`): a directory per claim on the
//! node the scheduler picked, as a hostPath volume pinned to that node; deleted with its
//! claim when the class's reclaim policy is Delete.

pub mod plan;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, PostParams};
use tokio::sync::Notify;

use crate::binder::decide::Note;
use crate::cache::{Caches, wait};
use crate::error::{Error, Result, is_conflict, is_not_found};
use crate::events::{Recorder, Subject};
use crate::matching::claim_class;
use plan::{Skip, base_path, claim_key, must_delete, provisioned_dir, volume_for};

/// The provisioner's name, as k3s's.
pub const PROVISIONER: &str = "rancher.io/local-path";
/// Namespace and name of the ConfigMap holding the node path map (`config.json`).
pub const CONFIG_NAMESPACE: &str = "kube-system";
pub const CONFIG_NAME: &str = "local-path-config";

/// Where the provisioner runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The node on this machine, whose volume directories the provisioner may create and
    /// remove itself (others are created by their kubelet).
    pub local_node: Option<String>,
}

/// Run the provisioner until the process ends.
pub async fn run(client: kube::Client, options: Options) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let caches = Caches::start(&client, notify.clone());
    caches.ready().await;
    let mut p = Provisioner {
        recorder: Recorder::new(client.clone(), &format!("{PROVISIONER}_skiff")),
        client,
        options,
        said: HashMap::new(),
    };
    loop {
        let failed = p.pass(&caches).await;
        let period = std::time::Duration::from_secs(if failed { 2 } else { 30 });
        wait(&notify, period).await;
    }
}

struct Provisioner {
    client: kube::Client,
    recorder: Recorder,
    options: Options,
    said: HashMap<String, String>,
}

impl Provisioner {
    async fn config(&self) -> Result<Option<String>> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), CONFIG_NAMESPACE);
        match api.get(CONFIG_NAME).await {
            Ok(cm) => Ok(cm.data.and_then(|d| d.get("config.json").cloned())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn pass(&mut self, caches: &Caches) -> bool {
        let classes = caches.classes();
        let nodes = caches.nodes();
        let volumes = caches.volumes();
        let mut config: Option<Option<String>> = None;
        let mut failed = false;
        for claim in caches.claims() {
            let class = classes.get(claim_class(&claim));
            if !plan::wants_volume(&claim, class, PROVISIONER) {
                continue;
            }
            if config.is_none() {
                match self.config().await {
                    Ok(c) => config = Some(c),
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the local-path config");
                        return true;
                    }
                }
            }
            let cfg = config.as_ref().and_then(|c| c.as_deref());
            match volume_for(&claim, class, &nodes, PROVISIONER, cfg) {
                Ok(pv) => {
                    let exists = volumes.iter().any(|v| v.metadata.name == pv.metadata.name);
                    if !exists && let Err(e) = self.provision(&claim, pv).await {
                        tracing::warn!(claim = %claim_key(&claim), error = %e, "provisioning");
                        failed = true;
                    }
                }
                Err(Skip::Quietly) => {}
                Err(Skip::Failed(msg)) => {
                    let uid = claim.metadata.uid.clone().unwrap_or_default();
                    if self.said.get(&uid) != Some(&msg) {
                        let note = Note {
                            warning: true,
                            reason: "ProvisioningFailed",
                            message: msg.clone(),
                        };
                        self.recorder.record(Subject::Claim(&claim), &note).await;
                        self.said.insert(uid, msg);
                    }
                }
            }
        }
        for v in volumes.iter().filter(|v| must_delete(v, PROVISIONER)) {
            if let Err(e) = self.delete(v).await {
                tracing::warn!(volume = ?v.metadata.name, error = %e, "deleting");
                failed = true;
            }
        }
        failed
    }

    async fn provision(
        &mut self,
        claim: &PersistentVolumeClaim,
        pv: PersistentVolume,
    ) -> Result<()> {
        let name = pv.metadata.name.clone().unwrap_or_default();
        let note = Note {
            warning: false,
            reason: "Provisioning",
            message: format!(
                "External provisioner is provisioning volume for claim \"{}\"",
                claim_key(claim)
            ),
        };
        self.recorder.record(Subject::Claim(claim), &note).await;
        if let Some((path, node)) = provisioned_dir(&pv, PROVISIONER)
            && self.options.local_node.as_deref() == Some(node.as_str())
        {
            create_dir(Path::new(&path))?;
        }
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), &pv).await {
            Ok(_) => {}
            Err(e) if is_conflict(&e) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(claim = %claim_key(claim), volume = %name, "provisioned");
        let note = Note {
            warning: false,
            reason: "ProvisioningSucceeded",
            message: format!("Successfully provisioned volume {name}"),
        };
        self.recorder.record(Subject::Claim(claim), &note).await;
        Ok(())
    }

    /// Remove a released volume's directory (when it is on this machine) and the volume.
    async fn delete(&self, v: &PersistentVolume) -> Result<()> {
        let name = v.metadata.name.clone().unwrap_or_default();
        if let Some((path, node)) = provisioned_dir(v, PROVISIONER)
            && self.options.local_node.as_deref() == Some(node.as_str())
        {
            let config = self.config().await?.unwrap_or_default();
            let base = base_path(&config, &node)?;
            remove_volume_dir(Path::new(&base), Path::new(&path))?;
        }
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(volume = %name, "deleted");
                Ok(())
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Create a volume directory, writable by every user as k3s's provisioner makes it.
pub fn create_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let io = |what, e| Error::Io {
        what,
        path: path.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(path).map_err(|e| io("mkdir", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| io("chmod", e))
}

/// Remove `path` only when it is a `pvc-*` directory right under `base`; a missing directory
/// is fine.
pub fn remove_volume_dir(base: &Path, path: &Path) -> Result<()> {
    let ours = path.parent() == Some(base)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pvc-"));
    if !ours {
        return Err(Error::Invalid(format!(
            "refusing to remove {}: not a volume directory under {}",
            path.display(),
            base.display()
        )));
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            what: "remove",
            path: path.display().to_string(),
            source: e,
        }),
    }
}
