//! Events about claims and volumes, recorded as upstream's storage controllers do.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use skiff_lifecycle::events::{Type, record};

use crate::binder::decide::Note;

/// The object an event is about.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    Claim(&'a PersistentVolumeClaim),
    Volume(&'a PersistentVolume),
}

impl Subject<'_> {
    /// The object's uid ("" when it has none).
    pub fn uid(&self) -> &str {
        let meta = match self {
            Subject::Claim(c) => &c.metadata,
            Subject::Volume(v) => &v.metadata,
        };
        meta.uid.as_deref().unwrap_or("")
    }
}

/// Records events as one component.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: String,
}

impl Recorder {
    pub fn new(client: kube::Client, component: &str) -> Recorder {
        Recorder {
            client,
            component: component.to_string(),
        }
    }

    /// Record `note` about `subject`; failures are logged, never fatal.
    pub async fn record(&self, subject: Subject<'_>, note: &Note) {
        let (value, plural) = match subject {
            Subject::Claim(c) => (serde_json::to_value(c), "persistentvolumeclaims"),
            Subject::Volume(v) => (serde_json::to_value(v), "persistentvolumes"),
        };
        let (Ok(value), Some(res)) = (value, skiff_api::registry().find("", "v1", plural)) else {
            return;
        };
        let ty = if note.warning {
            Type::Warning
        } else {
            Type::Normal
        };
        record(
            &self.client,
            &value,
            res,
            ty,
            note.reason,
            &note.message,
            &self.component,
        )
        .await;
    }
}
