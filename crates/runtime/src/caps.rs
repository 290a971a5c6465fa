//! Linux capability names, the default container set, add/drop rules and the capset syscall.

use crate::error::{Error, Result};

/// Capability names indexed by number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The set Docker and containerd grant by default.
pub const DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// A set of capabilities as a bit mask.
pub type CapSet = u64;

/// All capabilities this table knows.
pub const ALL: CapSet = (1u64 << NAMES.len()) - 1;

/// Number of a capability name, accepting an optional `CAP_` prefix, case-insensitive.
pub fn by_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// The effective set: privileged → all; otherwise default, plus `add`, minus `drop` (`ALL` allowed).
pub fn compute(privileged: bool, add: &[String], drop: &[String]) -> Result<CapSet> {
    if privileged {
        return Ok(ALL);
    }
    let mut set: CapSet = 0;
    for n in DEFAULT {
        if let Some(i) = by_name(n) {
            set |= 1 << i;
        }
    }
    let parse = |list: &[String]| -> Result<(bool, CapSet)> {
        let mut all = false;
        let mut bits = 0;
        for n in list {
            if n.eq_ignore_ascii_case("ALL") {
                all = true;
                continue;
            }
            let i = by_name(n)
                .ok_or_else(|| Error::InvalidArgument(format!("unknown capability {n:?}")))?;
            bits |= 1 << i;
        }
        Ok((all, bits))
    };
    let (drop_all, drop_bits) = parse(drop)?;
    let (add_all, add_bits) = parse(add)?;
    if drop_all {
        set = 0;
    }
    set &= !drop_bits;
    if add_all {
        set = ALL;
    }
    set |= add_bits;
    Ok(set)
}

/// Highest capability number the running kernel supports.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drop every capability outside `set` from the bounding set.
pub fn drop_bounding(set: CapSet) -> Result<()> {
    for cap in 0..=last_cap() {
        if set & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                return Err(Error::last_sys(format!("prctl(PR_CAPBSET_DROP, {cap})")));
            }
        }
    }
    Ok(())
}

/// Set the effective, permitted and inheritable sets of the calling thread to `set`.
pub fn set_current(set: CapSet) -> Result<()> {
    let set = set & ((1u64 << (last_cap() + 1)) - 1);
    let mut hdr = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let lo = set as u32;
    let hi = (set >> 32) as u32;
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: lo,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: hi,
        },
    ];
    // SAFETY: capset with a valid v3 header and two data structs.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(Error::last_sys(format!("capset({set:#x})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: CapSet) -> Vec<&'static str> {
        (0..NAMES.len())
            .filter(|i| set & (1 << i) != 0)
            .map(|i| NAMES[i])
            .collect()
    }

    #[test]
    fn default_set_is_the_docker_fourteen() {
        let set = compute(false, &[], &[]).unwrap();
        assert_eq!(set.count_ones(), 14);
        assert!(names(set).contains(&"NET_BIND_SERVICE"));
        assert!(!names(set).contains(&"SYS_ADMIN"));
    }

    #[test]
    fn add_and_drop_accept_prefix_and_all() {
        let set = compute(false, &["CAP_NET_ADMIN".into()], &["kill".into()]).unwrap();
        assert!(names(set).contains(&"NET_ADMIN"));
        assert!(!names(set).contains(&"KILL"));
        let set = compute(false, &["NET_BIND_SERVICE".into()], &["ALL".into()]).unwrap();
        assert_eq!(names(set), vec!["NET_BIND_SERVICE"]);
        assert_eq!(compute(true, &[], &["ALL".into()]).unwrap(), ALL);
    }

    #[test]
    fn unknown_capability_is_an_error() {
        let err = compute(false, &["NOPE".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("NOPE"));
    }
}
