//! ServiceAccount controller: every active namespace has a `default` ServiceAccount.

use std::collections::HashSet;
use std::sync::Arc;

use kube::api::{DynamicObject, PostParams};
use serde_json::Value;
use tokio::sync::Notify;

use crate::Config;
use crate::error::Result;
use crate::informer::Obj;
use crate::informer::{Informer, api, api_resource, resource, wait};

/// The ServiceAccount every namespace gets.
pub const DEFAULT: &str = "default";

/// Namespaces (not terminating) that lack the `default` ServiceAccount.
pub fn missing(namespaces: &[Obj], service_accounts: &[Obj]) -> Vec<String> {
    let have: HashSet<&str> = service_accounts
        .iter()
        .filter(|sa| sa["metadata"]["name"] == DEFAULT)
        .filter_map(|sa| sa["metadata"]["namespace"].as_str())
        .collect();
    namespaces
        .iter()
        .filter(|ns| {
            ns["metadata"]
                .get("deletionTimestamp")
                .is_none_or(Value::is_null)
        })
        .filter(|ns| ns["status"]["phase"] != "Terminating")
        .filter_map(|ns| ns["metadata"]["name"].as_str())
        .filter(|n| !have.contains(n))
        .map(str::to_string)
        .collect()
}

/// Run the controller until the process ends.
pub async fn run(client: kube::Client, config: Config) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let namespaces = Informer::start(&client, resource("", "v1", "namespaces")?, notify.clone());
    let sa_res = resource("", "v1", "serviceaccounts")?;
    let accounts = Informer::start(&client, sa_res, notify.clone());
    namespaces.ready().await;
    accounts.ready().await;
    loop {
        let mut failed = false;
        for ns in missing(&namespaces.values(), &accounts.values()) {
            let sa = DynamicObject::new(DEFAULT, &api_resource(sa_res)).within(&ns);
            match api(&client, sa_res, Some(&ns))
                .create(&PostParams::default(), &sa)
                .await
            {
                Ok(_) => tracing::info!(namespace = %ns, "created the default ServiceAccount"),
                // Already there (cache lag), or the namespace is going away.
                Err(kube::Error::Api(s)) if matches!(s.code, 403 | 404 | 409) => {}
                Err(e) => {
                    tracing::debug!(namespace = %ns, "creating the default ServiceAccount: {e}");
                    failed = true;
                }
            }
        }
        let period = if failed {
            std::time::Duration::from_secs(1)
        } else {
            config.resync_period
        };
        wait(&notify, period).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn missing(namespaces: &[Value], accounts: &[Value]) -> Vec<String> {
        let shared = |v: &[Value]| v.iter().cloned().map(Arc::new).collect::<Vec<_>>();
        super::missing(&shared(namespaces), &shared(accounts))
    }

    #[test]
    fn only_active_namespaces_without_default_need_one() {
        let namespaces = vec![
            json!({"metadata": {"name": "a"}, "status": {"phase": "Active"}}),
            json!({"metadata": {"name": "b"}, "status": {"phase": "Active"}}),
            json!({"metadata": {"name": "c", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {"phase": "Terminating"}}),
        ];
        let accounts = vec![
            json!({"metadata": {"name": "default", "namespace": "a"}}),
            json!({"metadata": {"name": "builder", "namespace": "b"}}),
        ];
        assert_eq!(missing(&namespaces, &accounts), vec!["b".to_string()]);
    }
}
