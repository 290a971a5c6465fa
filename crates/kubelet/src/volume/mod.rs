//! Pod volumes under `<pod dir>/volumes/<plugin>/<name>`: emptyDir (disk or tmpfs), hostPath,
//! configMap, secret, downwardAPI, projected (serviceAccountToken sources are skipped) and
//! persistentVolumeClaim, and the bind mounts of `volumeMounts` (readOnly, subPath).

pub mod atomic;
pub mod claim;
pub mod hostpath;
pub mod ownership;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume,
};
use skiff_runtime::Mount;

use crate::env::{self, Sources};
use crate::error::{Error, IoContext, Result};
use crate::quantity;
use atomic::FileProjection;

/// Default file mode of configMap, secret, downwardAPI and projected volumes (0644).
pub const DEFAULT_MODE: i32 = 0o644;

/// Host paths of a pod's volumes, by volume name.
pub type VolumePaths = BTreeMap<String, VolumeInfo>;

/// Where a volume lives on the host and whether containers may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub path: PathBuf,
    /// configMap, secret, downwardAPI and projected volumes are always read-only.
    pub force_readonly: bool,
}

/// The `serviceAccountToken` sources of the pod's projected volumes: (audience, expiration).
pub fn token_requests(pod: &Pod) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .flat_map(|v| v.projected.iter().flat_map(|p| p.sources.iter().flatten()))
        .filter_map(|s| s.service_account_token.as_ref())
        .map(|t| {
            (
                t.audience.clone().unwrap_or_default(),
                t.expiration_seconds.unwrap_or(3600),
            )
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Names of the ConfigMaps and Secrets the pod's volumes read.
pub fn referenced(pod: &Pod) -> (Vec<String>, Vec<String>) {
    let mut cms = Vec::new();
    let mut secrets = Vec::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if let Some(c) = &v.config_map {
            cms.push(c.name.clone());
        }
        if let Some(s) = &v.secret
            && let Some(n) = &s.secret_name
        {
            secrets.push(n.clone());
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(c) = &src.config_map {
                cms.push(c.name.clone());
            }
            if let Some(s) = &src.secret {
                secrets.push(s.name.clone());
            }
        }
    }
    cms.sort();
    cms.dedup();
    secrets.sort();
    secrets.dedup();
    (cms, secrets)
}

fn plugin_dir(pod_dir: &Path, plugin: &str, name: &str) -> PathBuf {
    pod_dir.join("volumes").join(plugin).join(name)
}

fn mount_failed(volume: &str, msg: impl std::fmt::Display) -> Error {
    Error::Mount(format!(
        "MountVolume.SetUp failed for volume {volume:?} : {msg}"
    ))
}

/// Set up (or refresh) every volume of `pod`; idempotent. ConfigMap/Secret-backed files are
/// rewritten atomically when their source changed.
pub fn setup(pod: &Pod, pod_dir: &Path, src: &Sources, rt: &env::Runtime) -> Result<VolumePaths> {
    let mut out = VolumePaths::new();
    let fs_group = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|sc| sc.fs_group)
        .and_then(|g| u32::try_from(g).ok());
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let info = setup_one(pod, pod_dir, v, src, rt)?;
        if let Some(gid) = fs_group
            && v.host_path.is_none()
        {
            ownership::apply(&info.path, gid, info.force_readonly)?;
        }
        out.insert(v.name.clone(), info);
    }
    Ok(out)
}

fn setup_one(
    pod: &Pod,
    pod_dir: &Path,
    v: &Volume,
    src: &Sources,
    rt: &env::Runtime,
) -> Result<VolumeInfo> {
    let name = v.name.as_str();
    let ro = |path: PathBuf| VolumeInfo {
        path,
        force_readonly: true,
    };
    if let Some(e) = &v.empty_dir {
        let dir = plugin_dir(pod_dir, "kubernetes.io~empty-dir", name);
        std::fs::create_dir_all(&dir).ctx("mkdir", &dir)?;
        if e.medium.as_deref() == Some("Memory") && !is_mountpoint(&dir) {
            let size = e
                .size_limit
                .as_ref()
                .and_then(|q| quantity::value(&q.0).ok());
            mount_tmpfs(&dir, size).map_err(|err| mount_failed(name, err))?;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .ctx("chmod", &dir)?;
        return Ok(VolumeInfo {
            path: dir,
            force_readonly: false,
        });
    }
    if let Some(h) = &v.host_path {
        let path = PathBuf::from(&h.path);
        hostpath::check(&path, h.type_.as_deref()).map_err(|e| mount_failed(name, e))?;
        return Ok(VolumeInfo {
            path,
            force_readonly: false,
        });
    }
    if let Some(c) = &v.persistent_volume_claim {
        return claim::setup(
            name,
            &c.claim_name,
            c.read_only.unwrap_or(false),
            &src.claims,
        );
    }
    if let Some(c) = &v.config_map {
        let dir = plugin_dir(pod_dir, "kubernetes.io~configmap", name);
        let files = match src.configmaps.get(&c.name) {
            Some(cm) => configmap_files(cm, c.items.as_deref(), mode_or(c.default_mode))
                .map_err(|e| mount_failed(name, e))?,
            None if c.optional == Some(true) => BTreeMap::new(),
            None => {
                return Err(mount_failed(
                    name,
                    format!("configmap {:?} not found", c.name),
                ));
            }
        };
        atomic::write(&dir, &files)?;
        return Ok(ro(dir));
    }
    if let Some(s) = &v.secret {
        let dir = plugin_dir(pod_dir, "kubernetes.io~secret", name);
        let sname = s.secret_name.clone().unwrap_or_default();
        let files = match src.secrets.get(&sname) {
            Some(sec) => secret_files(sec, s.items.as_deref(), mode_or(s.default_mode))
                .map_err(|e| mount_failed(name, e))?,
            None if s.optional == Some(true) => BTreeMap::new(),
            None => return Err(mount_failed(name, format!("secret {sname:?} not found"))),
        };
        if !dir.exists() {
            std::fs::create_dir_all(&dir).ctx("mkdir", &dir)?;
            // Secrets stay off disk where tmpfs is available, as upstream does.
            let _ = mount_tmpfs(&dir, None);
        }
        atomic::write(&dir, &files)?;
        return Ok(ro(dir));
    }
    if let Some(d) = &v.downward_api {
        let dir = plugin_dir(pod_dir, "kubernetes.io~downward-api", name);
        let files = downward_files(
            pod,
            d.items.as_deref().unwrap_or(&[]),
            mode_or(d.default_mode),
            src,
            rt,
        )
        .map_err(|e| mount_failed(name, e))?;
        atomic::write(&dir, &files)?;
        return Ok(ro(dir));
    }
    if let Some(p) = &v.projected {
        let dir = plugin_dir(pod_dir, "kubernetes.io~projected", name);
        let mode = mode_or(p.default_mode);
        let mut files = BTreeMap::new();
        for s in p.sources.iter().flatten() {
            if let Some(c) = &s.config_map {
                match src.configmaps.get(&c.name) {
                    Some(cm) => files.extend(
                        configmap_files(cm, c.items.as_deref(), mode)
                            .map_err(|e| mount_failed(name, e))?,
                    ),
                    None if c.optional == Some(true) => {}
                    None => {
                        return Err(mount_failed(
                            name,
                            format!("configmap {:?} not found", c.name),
                        ));
                    }
                }
            }
            if let Some(c) = &s.secret {
                match src.secrets.get(&c.name) {
                    Some(sec) => files.extend(
                        secret_files(sec, c.items.as_deref(), mode)
                            .map_err(|e| mount_failed(name, e))?,
                    ),
                    None if c.optional == Some(true) => {}
                    None => {
                        return Err(mount_failed(name, format!("secret {:?} not found", c.name)));
                    }
                }
            }
            if let Some(t) = &s.service_account_token {
                let aud = t.audience.clone().unwrap_or_default();
                if let Some(token) = src.tokens.get(&aud) {
                    check_rel(&t.path).map_err(|e| mount_failed(name, e))?;
                    files.insert(
                        t.path.clone(),
                        FileProjection {
                            data: token.clone().into_bytes(),
                            mode,
                        },
                    );
                }
            }
            if let Some(d) = &s.downward_api {
                files.extend(
                    downward_files(pod, d.items.as_deref().unwrap_or(&[]), mode, src, rt)
                        .map_err(|e| mount_failed(name, e))?,
                );
            }
        }
        atomic::write(&dir, &files)?;
        return Ok(ro(dir));
    }
    Err(mount_failed(name, "volume type not supported by Skiff"))
}

fn mode_or(m: Option<i32>) -> u32 {
    m.unwrap_or(DEFAULT_MODE) as u32
}

fn project(
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    mode: u32,
    what: &str,
) -> Result<BTreeMap<String, FileProjection>> {
    let mut out = BTreeMap::new();
    match items {
        Some(items) if !items.is_empty() => {
            for it in items {
                let d = data.get(&it.key).ok_or_else(|| {
                    Error::Mount(format!(
                        "{what} references non-existent {}key: {}",
                        if what == "configmap" {
                            "config "
                        } else {
                            "secret "
                        },
                        it.key
                    ))
                })?;
                check_rel(&it.path)?;
                out.insert(
                    it.path.clone(),
                    FileProjection {
                        data: d.clone(),
                        mode: it.mode.map(|m| m as u32).unwrap_or(mode),
                    },
                );
            }
        }
        _ => {
            for (k, d) in data {
                out.insert(k, FileProjection { data: d, mode });
            }
        }
    }
    Ok(out)
}

fn check_rel(p: &str) -> Result<()> {
    if p.is_empty() || p.starts_with('/') || p.split('/').any(|c| c == ".." || c.starts_with(".."))
    {
        return Err(Error::Mount(format!("invalid path {p:?}")));
    }
    Ok(())
}

fn configmap_files(
    cm: &ConfigMap,
    items: Option<&[KeyToPath]>,
    mode: u32,
) -> Result<BTreeMap<String, FileProjection>> {
    project(env::cm_files(cm), items, mode, "configmap")
}

fn secret_files(
    s: &Secret,
    items: Option<&[KeyToPath]>,
    mode: u32,
) -> Result<BTreeMap<String, FileProjection>> {
    project(env::secret_data(s), items, mode, "secret")
}

fn downward_files(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    mode: u32,
    src: &Sources,
    rt: &env::Runtime,
) -> Result<BTreeMap<String, FileProjection>> {
    let mut out = BTreeMap::new();
    for it in items {
        check_rel(&it.path)?;
        let data = if let Some(f) = &it.field_ref {
            env::field_value(pod, f, rt)?
        } else if let Some(r) = &it.resource_field_ref {
            env::resource_value(pod, None, r, src)?
        } else {
            String::new()
        };
        out.insert(
            it.path.clone(),
            FileProjection {
                data: data.into_bytes(),
                mode: it.mode.map(|m| m as u32).unwrap_or(mode),
            },
        );
    }
    Ok(out)
}

/// Bind mounts of a container's `volumeMounts`.
pub fn container_mounts(container: &Container, volumes: &VolumePaths) -> Result<Vec<Mount>> {
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let v = volumes.get(&m.name).ok_or_else(|| {
            Error::Config(format!(
                "cannot find volume {:?} to mount into container {:?}",
                m.name, container.name
            ))
        })?;
        let mut host = v.path.clone();
        let sub = m.sub_path.as_deref().unwrap_or("");
        if !sub.is_empty() {
            if sub.starts_with('/') || sub.split('/').any(|c| c == "..") {
                return Err(Error::Config(format!("invalid subPath {sub:?}")));
            }
            host = host.join(sub);
            if !host.exists() && !v.force_readonly {
                std::fs::create_dir_all(&host).ctx("mkdir", &host)?;
                let _ = std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o777));
            }
            host = std::fs::canonicalize(&host).ctx("resolve subPath", &host)?;
        }
        out.push(Mount {
            host_path: host,
            container_path: m.mount_path.clone(),
            readonly: m.read_only.unwrap_or(false) || v.force_readonly,
        });
    }
    Ok(out)
}

fn mount_tmpfs(dir: &Path, size: Option<u64>) -> std::result::Result<(), String> {
    let data = size.map(|s| format!("size={s}"));
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
        data.as_deref(),
    )
    .map_err(|e| format!("mount tmpfs on {}: {e}", dir.display()))
}

fn is_mountpoint(dir: &Path) -> bool {
    let d = dir.to_string_lossy();
    mounts_under(Path::new(&*d)).iter().any(|m| m == dir)
}

/// Mount points at or below `dir` (deepest first).
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Unmount and remove everything of a pod's directory.
pub fn teardown(pod_dir: &Path) -> Result<()> {
    for m in mounts_under(pod_dir) {
        let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
    }
    match std::fs::remove_dir_all(pod_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            what: "remove",
            path: pod_dir.display().to_string(),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests;
