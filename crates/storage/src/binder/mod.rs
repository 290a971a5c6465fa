//! The PersistentVolume binder (upstream's persistentvolume-binder-controller): binds claims to
//! volumes both ways, hands claims of provisioned classes to their provisioner, and releases
//! and reclaims volumes whose claim went away.

pub mod decide;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::sync::Notify;

use crate::cache::{Caches, wait};
use crate::error::{Result, is_conflict, is_not_found};
use crate::events::{Recorder, Subject};
use crate::matching::{ANN_BETA_STORAGE_PROVISIONER, ANN_STORAGE_PROVISIONER};
use decide::{ClaimStep, Note, VolumeStep, World, bind_patches, claim_step, volume_step};

/// Source of the binder's events, as upstream names it.
pub const COMPONENT: &str = "persistentvolume-controller";

/// Run the binder until the process ends.
pub async fn run(client: kube::Client, resync: std::time::Duration) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let caches = Caches::start(&client, notify.clone());
    caches.ready().await;
    let mut binder = Binder {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        said: HashMap::new(),
    };
    loop {
        let failed = binder.pass(&caches).await;
        let period = if failed {
            std::time::Duration::from_secs(1)
        } else {
            resync
        };
        wait(&notify, period).await;
    }
}

struct Binder {
    client: kube::Client,
    recorder: Recorder,
    /// The last event said about each object (by uid), so waiting is said once.
    said: HashMap<String, Note>,
}

impl Binder {
    /// One pass over every claim then every volume; true when something must be retried soon.
    async fn pass(&mut self, caches: &Caches) -> bool {
        let mut claims = caches.claims();
        claims.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        let volumes = caches.volumes();
        let classes = caches.classes();
        let nodes: BTreeMap<_, _> = caches.nodes();
        let world = World {
            volumes: &volumes,
            classes: &classes,
            nodes: &nodes,
        };
        let mut failed = false;
        let mut taken = HashSet::new();
        for claim in &claims {
            let step = claim_step(claim, &world, &taken);
            if let ClaimStep::Bind(v) = &step {
                taken.insert(v.clone());
            }
            if let Err(e) = self.do_claim(claim, &volumes, step).await {
                tracing::debug!(claim = ?claim.metadata.name, error = %e, "claim sync");
                failed = true;
            }
        }
        for v in &volumes {
            let step = volume_step(v, &claims);
            if let Err(e) = self.do_volume(v, step).await {
                tracing::debug!(volume = ?v.metadata.name, error = %e, "volume sync");
                failed = true;
            }
        }
        let live: HashSet<String> = claims
            .iter()
            .filter_map(|c| c.metadata.uid.clone())
            .chain(volumes.iter().filter_map(|v| v.metadata.uid.clone()))
            .collect();
        self.said.retain(|uid, _| live.contains(uid));
        failed
    }

    /// Record `note` about an object unless it was the last thing said about it.
    async fn say(&mut self, subject: Subject<'_>, note: &Note) {
        let uid = subject.uid().to_string();
        if self.said.get(&uid) == Some(note) {
            return;
        }
        self.recorder.record(subject, note).await;
        self.said.insert(uid, note.clone());
    }

    async fn do_claim(
        &mut self,
        claim: &PersistentVolumeClaim,
        volumes: &[PersistentVolume],
        step: ClaimStep,
    ) -> Result<()> {
        let ns = claim.metadata.namespace.clone().unwrap_or_default();
        let name = claim.metadata.name.clone().unwrap_or_default();
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        let pp = PatchParams::default();
        match step {
            ClaimStep::Nothing => Ok(()),
            ClaimStep::Wait(note) => {
                self.say(Subject::Claim(claim), &note).await;
                Ok(())
            }
            ClaimStep::Provision(provisioner, note) => {
                let patch = json!({"metadata": {"annotations": {
                    ANN_STORAGE_PROVISIONER: provisioner,
                    ANN_BETA_STORAGE_PROVISIONER: provisioner,
                }}});
                claims.patch(&name, &pp, &Patch::Merge(&patch)).await?;
                self.say(Subject::Claim(claim), &note).await;
                Ok(())
            }
            ClaimStep::Lost(note) => {
                let patch = json!({"status": {"phase": "Lost"}});
                claims
                    .patch_status(&name, &pp, &Patch::Merge(&patch))
                    .await?;
                self.say(Subject::Claim(claim), &note).await;
                Ok(())
            }
            ClaimStep::Bind(vname) => {
                let Some(v) = volumes
                    .iter()
                    .find(|v| v.metadata.name.as_deref() == Some(&vname))
                else {
                    return Ok(());
                };
                let p = bind_patches(claim, v);
                let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
                if let Some(patch) = &p.volume {
                    pvs.patch(&vname, &pp, &Patch::Merge(patch)).await?;
                }
                if let Some(patch) = &p.volume_status {
                    pvs.patch_status(&vname, &pp, &Patch::Merge(patch)).await?;
                }
                if let Some(patch) = &p.claim {
                    claims.patch(&name, &pp, &Patch::Merge(patch)).await?;
                }
                if let Some(patch) = &p.claim_status {
                    claims
                        .patch_status(&name, &pp, &Patch::Merge(patch))
                        .await?;
                }
                tracing::info!(claim = %format!("{ns}/{name}"), volume = %vname, "bound");
                Ok(())
            }
        }
    }

    async fn do_volume(&mut self, v: &PersistentVolume, step: VolumeStep) -> Result<()> {
        let name = v.metadata.name.clone().unwrap_or_default();
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        let pp = PatchParams::default();
        let phase = |p: &str| json!({"status": {"phase": p}});
        let result = match step {
            VolumeStep::Nothing => return Ok(()),
            VolumeStep::Phase(p) => pvs.patch_status(&name, &pp, &Patch::Merge(&phase(p))).await,
            VolumeStep::Release => {
                // The claim cache may lag behind a volume made for a new claim: ask the API.
                if self.claim_exists(v).await? {
                    return Ok(());
                }
                tracing::info!(volume = %name, "claim gone: released");
                pvs.patch_status(&name, &pp, &Patch::Merge(&phase("Released")))
                    .await
            }
            VolumeStep::Fail(note) => {
                let mut patch = phase("Failed");
                patch["status"]["message"] = json!(note.message);
                let r = pvs.patch_status(&name, &pp, &Patch::Merge(&patch)).await;
                self.say(Subject::Volume(v), &note).await;
                r
            }
            VolumeStep::Unbind => {
                let patch = json!({
                    "metadata": {"resourceVersion": v.metadata.resource_version},
                    "spec": {"claimRef": null},
                });
                pvs.patch(&name, &pp, &Patch::Merge(&patch)).await
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn claim_exists(&self, v: &PersistentVolume) -> Result<bool> {
        let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
            return Ok(false);
        };
        let ns = r.namespace.clone().unwrap_or_default();
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        match api.get(r.name.as_deref().unwrap_or_default()).await {
            Ok(c) => Ok(c.metadata.uid == r.uid),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
