//! Work inside a pod's network namespace, on a dedicated OS thread: `setns(2)` changes only the calling thread, so it must never run on a tokio worker.

use std::future::Future;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use rtnetlink::Handle;

use crate::error::{Error, Result};
use crate::link;

/// The pod's interface name.
pub const POD_IFNAME: &str = "eth0";

/// Runs `f` with a netlink handle whose socket lives in the network namespace at `path`, on a
/// fresh thread that enters that namespace and then exits.
pub async fn run_in<F, Fut, T>(path: &Path, f: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
    T: Send + 'static,
{
    let path_buf: PathBuf = path.to_path_buf();
    let ns_err = {
        let p = path_buf.clone();
        move |message: String| Error::Netns {
            path: p.clone(),
            message,
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let err = ns_err.clone();
    std::thread::Builder::new()
        .name("skiff-netns".into())
        .spawn(move || {
            let run = || -> Result<T> {
                let file = std::fs::File::open(&path_buf).map_err(|e| err(format!("open: {e}")))?;
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| err(format!("setns: {e}")))?;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| err(format!("runtime: {e}")))?;
                rt.block_on(async {
                    let (conn, handle, _) = rtnetlink::new_connection()
                        .map_err(|e| err(format!("netlink socket: {e}")))?;
                    let conn = tokio::spawn(conn);
                    let out = f(handle).await;
                    conn.abort();
                    out
                })
            };
            let _ = tx.send(run());
        })
        .map_err(|e| ns_err(format!("spawn thread: {e}")))?;
    rx.await
        .map_err(|_| ns_err("the namespace thread died".into()))?
}

/// What the pod side should look like.
#[derive(Debug, Clone, Copy)]
pub struct PodSide {
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
}

/// Whether the namespace already has `eth0` carrying `ip`; `Some(false)` if eth0 exists
/// without it, `None` if there is no eth0.
pub async fn inspect(handle: Handle, ip: Ipv4Addr) -> Result<Option<bool>> {
    match link::find(&handle, POD_IFNAME).await? {
        None => Ok(None),
        Some(l) => Ok(Some(link::has_addr(&handle, l.index, ip).await?)),
    }
}

/// Deletes `eth0` (and with it its host-side peer).
pub async fn remove_eth0(handle: Handle) -> Result<()> {
    link::delete(&handle, POD_IFNAME).await.map(|_| ())
}

/// Brings up `lo`; renames `from` to `eth0` if given; gives eth0 its address, brings it up and
/// points the default route at the gateway. Every step is idempotent.
pub async fn configure(handle: Handle, from: Option<String>, side: PodSide) -> Result<()> {
    if let Some(lo) = link::find(&handle, "lo").await? {
        link::set_up(&handle, lo.index, "lo").await?;
    }
    if let Some(from) = from
        && let Some(l) = link::find(&handle, &from).await?
    {
        link::rename(&handle, l.index, POD_IFNAME).await?;
    }
    let eth0 = link::find(&handle, POD_IFNAME)
        .await?
        .ok_or_else(|| Error::Interface {
            name: POD_IFNAME.into(),
            message: "missing in the pod's network namespace".into(),
        })?;
    link::ensure_addr(&handle, eth0.index, side.ip, side.prefix).await?;
    link::set_up(&handle, eth0.index, POD_IFNAME).await?;
    link::replace_default_route(&handle, side.gateway).await
}
