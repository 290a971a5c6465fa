//! The kubelet HTTPS API (logs, exec, attach, port-forward) on the agent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use skiff_runtime::RuntimeService;

use crate::agent::{AgentArgs, AgentContext};

/// Serve the kubelet API for `runtime` on the agent's kubelet port.
pub fn start(
    args: &AgentArgs,
    ctx: &AgentContext,
    runtime: Arc<skiff_runtime::Runtime>,
) -> anyhow::Result<()> {
    let (cert, key, ca) = &ctx.serving;
    let tls = skiff_streaming::server_tls_config(cert, key, ca)?;
    let sandboxes = Arc::new(RwLock::new(HashMap::new()));
    tokio::spawn(track_sandboxes(runtime.clone(), sandboxes.clone()));
    let resolve: skiff_streaming::SandboxResolver = Arc::new(move |ns: &str, pod: &str| {
        let map = sandboxes.read().unwrap_or_else(|e| e.into_inner());
        map.get(&(ns.to_string(), pod.to_string())).cloned()
    });
    let backend = Arc::new(skiff_streaming::RuntimeBackend::new(runtime, resolve));
    let addr = SocketAddr::new(std::net::IpAddr::from([0, 0, 0, 0]), args.kubelet_port);
    crate::cmd_server::supervise("kubelet-api", async move {
        skiff_streaming::serve(addr, tls, backend, skiff_streaming::default_authz).await?;
        Ok(())
    });
    Ok(())
}

type SandboxMap = Arc<RwLock<HashMap<(String, String), String>>>;

/// Keep (namespace, pod) → sandbox id current from the runtime's records: the ready sandbox
/// if there is one, else the newest (logs of finished pods stay readable).
async fn track_sandboxes(runtime: Arc<skiff_runtime::Runtime>, map: SandboxMap) {
    loop {
        if let Ok(mut list) = runtime.list_pod_sandboxes(Default::default()).await {
            list.sort_by_key(|s| (s.state == skiff_runtime::SandboxState::Ready, s.created_at));
            let mut next = HashMap::new();
            for s in list {
                next.insert(
                    (s.config.namespace.clone(), s.config.name.clone()),
                    s.id.clone(),
                );
            }
            *map.write().unwrap_or_else(|e| e.into_inner()) = next;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
