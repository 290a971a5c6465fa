//! Process spec with Kubernetes semantics: command/args vs ENTRYPOINT/CMD, env, user, groups.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use skiff_images::ImageConfig;

use crate::caps::{self, CapSet};
use crate::error::{Error, Result};
use crate::types::{ContainerConfig, SecurityContext};

/// Default PATH when neither the image nor the container sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to exec the container's (or an exec session's) process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub args: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub caps: CapSet,
    pub no_new_privs: bool,
    pub tty: bool,
}

/// Kubernetes rules: command set → command + args; only args → entrypoint + args;
/// neither → entrypoint + cmd.
pub fn resolve_args(
    image: &ImageConfig,
    command: &[String],
    args: &[String],
) -> Result<Vec<String>> {
    let out: Vec<String> = if !command.is_empty() {
        command.iter().chain(args).cloned().collect()
    } else if !args.is_empty() {
        image.entrypoint.iter().chain(args).cloned().collect()
    } else {
        image.entrypoint.iter().chain(&image.cmd).cloned().collect()
    };
    if out.is_empty() {
        return Err(Error::InvalidArgument(
            "no command specified: the container has no command and the image no entrypoint or cmd"
                .into(),
        ));
    }
    Ok(out)
}

/// Image env first, then container env (a later entry replaces an earlier one of the same name).
pub fn merge_env(
    image_env: &[String],
    envs: &[(String, String)],
    defaults: &[(&str, &str)],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut set = |kv: String| {
        let key = kv.split('=').next().unwrap_or("").to_string();
        if let Some(slot) = out
            .iter_mut()
            .find(|e| e.split('=').next() == Some(key.as_str()))
        {
            *slot = kv;
        } else {
            out.push(kv);
        }
    };
    for e in image_env {
        set(e.clone());
    }
    for (k, v) in envs {
        set(format!("{k}={v}"));
    }
    for (k, v) in defaults {
        if !out.iter().any(|e| e.split('=').next() == Some(*k)) {
            out.push(format!("{k}={v}"));
        }
    }
    out
}

/// A user entry from /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// Parse /etc/passwd content.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 6 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// Parse /etc/group content into (name, gid, members).
pub fn parse_group(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            Some((f[0].to_string(), f[2].parse().ok()?, members))
        })
        .collect()
}

/// Find a file in layered lower dirs (given lowest first): the top-most layer that has it wins.
pub fn read_layered(lower_dirs: &[PathBuf], rel: &str) -> Option<String> {
    lower_dirs
        .iter()
        .rev()
        .find_map(|d| std::fs::read_to_string(d.join(rel)).ok())
}

/// The resolved identity of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// Resolve `user` (`uid`, `uid:gid`, `name`, `name:group`) against passwd/group text.
pub fn resolve_user(
    user: &str,
    passwd: Option<&str>,
    group: Option<&str>,
    override_uid: Option<u32>,
    override_gid: Option<u32>,
    supplemental: &[u32],
) -> Result<Identity> {
    let users = passwd.map(parse_passwd).unwrap_or_default();
    let groups = group.map(parse_group).unwrap_or_default();
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let (uid, mut gid, home, name) = if let Some(uid) = override_uid {
        let e = users.iter().find(|e| e.uid == uid);
        (
            uid,
            e.map(|e| e.gid).unwrap_or(0),
            e.map(|e| e.home.clone()),
            e.map(|e| e.name.clone()),
        )
    } else if user_part.is_empty() {
        let e = users.iter().find(|e| e.uid == 0);
        (0, 0, e.map(|e| e.home.clone()), e.map(|e| e.name.clone()))
    } else if let Ok(uid) = user_part.parse::<u32>() {
        let e = users.iter().find(|e| e.uid == uid);
        (
            uid,
            e.map(|e| e.gid).unwrap_or(0),
            e.map(|e| e.home.clone()),
            e.map(|e| e.name.clone()),
        )
    } else {
        let e = users.iter().find(|e| e.name == user_part).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unable to find user {user_part}: no matching entries in passwd file"
            ))
        })?;
        (e.uid, e.gid, Some(e.home.clone()), Some(e.name.clone()))
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|(n, _, _)| n == g)
                .map(|(_, id, _)| *id)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
    }
    if let Some(g) = override_gid {
        gid = g;
    }
    let mut additional: Vec<u32> = Vec::new();
    if let Some(name) = &name {
        for (_, id, members) in &groups {
            if members.iter().any(|m| m == name) && !additional.contains(id) {
                additional.push(*id);
            }
        }
    }
    for g in supplemental {
        if !additional.contains(g) {
            additional.push(*g);
        }
    }
    Ok(Identity {
        uid,
        gid,
        additional_gids: additional,
        home: home.unwrap_or_else(|| "/".into()),
    })
}

/// Build the process spec of a container from its config, the image config and the rootfs layers.
pub fn container_process(
    cfg: &ContainerConfig,
    image: &ImageConfig,
    lower_dirs: &[PathBuf],
    hostname: &str,
) -> Result<ProcessSpec> {
    let args = resolve_args(image, &cfg.command, &cfg.args)?;
    let sec: &SecurityContext = &cfg.security;
    let user = sec
        .run_as_username
        .clone()
        .unwrap_or_else(|| image.user.clone());
    let passwd = read_layered(lower_dirs, "etc/passwd");
    let group = read_layered(lower_dirs, "etc/group");
    let id = resolve_user(
        &user,
        passwd.as_deref(),
        group.as_deref(),
        sec.run_as_user,
        sec.run_as_group,
        &sec.supplemental_groups,
    )?;
    let env = merge_env(
        &image.env,
        &cfg.envs,
        &[
            ("PATH", DEFAULT_PATH),
            ("HOSTNAME", hostname),
            ("HOME", &id.home),
        ],
    );
    let cwd = if !cfg.working_dir.is_empty() {
        cfg.working_dir.clone()
    } else if !image.working_dir.is_empty() {
        image.working_dir.clone()
    } else {
        "/".into()
    };
    if !cwd.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "workingDir {cwd:?} is not an absolute path"
        )));
    }
    Ok(ProcessSpec {
        args,
        env,
        cwd,
        uid: id.uid,
        gid: id.gid,
        additional_gids: id.additional_gids,
        caps: caps::compute(
            sec.privileged,
            &sec.add_capabilities,
            &sec.drop_capabilities,
        )?,
        no_new_privs: sec.no_new_privs && !sec.privileged,
        tty: cfg.tty,
    })
}

/// Search `PATH` (from `env`) inside `root` for `cmd`; returns the path as seen inside the root.
pub fn lookup_path(root: &Path, cmd: &str, env: &[String]) -> Option<String> {
    if cmd.contains('/') {
        return Some(cmd.to_string());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':').filter(|d| !d.is_empty()).find_map(|d| {
        let candidate = format!("{}/{cmd}", d.trim_end_matches('/'));
        let on_disk = root.join(candidate.trim_start_matches('/'));
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(&on_disk) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Some(candidate),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests;
