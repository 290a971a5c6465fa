//! Persistent volumes for Skiff, as clients of the API: the PersistentVolume binder
//! (upstream's persistentvolume-binder-controller) and k3s's local-path dynamic provisioner
//! with its default `local-path` StorageClass.

pub mod binder;
pub mod cache;
pub mod error;
pub mod events;
pub mod matching;
pub mod protection;
pub mod provisioner;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

pub use error::{Error, Result};
pub use provisioner::Options;

/// Name of the default StorageClass, as k3s calls it.
pub const DEFAULT_CLASS: &str = "local-path";

/// Names of the controllers [`run`] starts.
pub const CONTROLLERS: &[&str] = &[
    "persistentvolume-binder-controller",
    "local-path-provisioner",
];

/// The default `local-path` StorageClass k3s ships: WaitForFirstConsumer, reclaim Delete.
pub fn default_class() -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(DEFAULT_CLASS.into()),
            annotations: Some(BTreeMap::from([(
                matching::ANN_DEFAULT_CLASS.to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        provisioner: provisioner::PROVISIONER.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        allow_volume_expansion: None,
        allowed_topologies: None,
        mount_options: None,
        parameters: None,
    }
}

/// Create the default StorageClass and the provisioner's path map (volumes under
/// `storage_dir` on every node) unless they exist; an administrator's edits are kept.
pub async fn bootstrap(client: &kube::Client, storage_dir: &str) -> Result<()> {
    let pp = PostParams::default();
    let classes: Api<StorageClass> = Api::all(client.clone());
    match classes.create(&pp, &default_class()).await {
        Ok(_) => tracing::info!(class = DEFAULT_CLASS, "created the default StorageClass"),
        Err(e) if error::is_conflict(&e) => {}
        Err(e) => return Err(e.into()),
    }
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(provisioner::CONFIG_NAME.into()),
            namespace: Some(provisioner::CONFIG_NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "config.json".to_string(),
            provisioner::plan::default_config(storage_dir),
        )])),
        ..Default::default()
    };
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), provisioner::CONFIG_NAMESPACE);
    match cms.create(&pp, &cm).await {
        Ok(_) => Ok(()),
        Err(e) if error::is_conflict(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Run the binder, the in-use protection controllers and the provisioner until one fails.
pub async fn run(client: kube::Client, options: Options) -> anyhow::Result<()> {
    run_with(client, options, Duration::from_secs(15)).await
}

/// [`run`] with the binder's full resync every `resync`.
pub async fn run_with(
    client: kube::Client,
    options: Options,
    resync: Duration,
) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(binder::run(client.clone(), resync));
    set.spawn(protection::run(client.clone()));
    set.spawn(provisioner::run(client, options));
    match set.join_next().await {
        Some(Ok(Ok(()))) | None => Ok(()),
        Some(Ok(Err(e))) => Err(e.into()),
        Some(Err(e)) => Err(anyhow::anyhow!("storage controller panicked: {e}")),
    }
}
