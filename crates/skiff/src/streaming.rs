//! The kubelet HTTPS API (logs, exec, attach, port-forward) on the agent.

use std::sync::Arc;

use crate::agent::{AgentArgs, AgentContext};

/// Serve the kubelet API for `runtime` on the agent's kubelet port.
pub fn start(
    _args: &AgentArgs,
    _ctx: &AgentContext,
    _runtime: Arc<skiff_runtime::Runtime>,
    _config: &skiff_kubelet::KubeletConfig,
) -> anyhow::Result<()> {
    Ok(())
}
