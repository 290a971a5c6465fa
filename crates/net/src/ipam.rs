//! Host-local IPAM: one file per reserved address in a directory, created atomically and exclusively, so addresses survive restarts and are never handed out twice.
//!
//! A reservation is a file named after the address (e.g. `10.42.0.7`) holding the JSON
//! [`Record`] of the pod that owns it. It is written in full to a temporary file first and then
//! hard-linked into place: `link(2)` fails if the name exists, so two allocators (even in two
//! processes) can never both win one address, and a crash never leaves a half-written record.
//! Allocation goes round-robin from the last reserved address, so a released address is not
//! reused right away (as CNI's host-local does).

use std::fs;
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::{HostPort, PodKey};

const LAST_RESERVED: &str = "last_reserved_ip";

/// What a reservation file says about its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub pod: PodKey,
    #[serde(default)]
    pub host_ports: Vec<HostPort>,
}

/// The reservations found on disk.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Readable reservations, in address order.
    pub records: Vec<(Ipv4Addr, Record)>,
    /// Reservation files whose content cannot be parsed: still taken, owner unknown.
    pub unreadable: Vec<Ipv4Addr>,
}

/// A directory of address reservations for one range.
#[derive(Debug)]
pub struct Ipam {
    dir: PathBuf,
    range: Ipv4Net,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Ipam {
    /// Opens (creating if needed) the reservation directory for `range`.
    pub fn open(dir: &Path, range: Ipv4Net) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        Ok(Ipam {
            dir: dir.to_path_buf(),
            range: range.trunc(),
        })
    }

    /// The directory holding the reservations.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The gateway, which is never handed out: the first host address of the range.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.range.network()).wrapping_add(1))
    }

    /// Every address a pod may get, in order: the range minus network, gateway and broadcast.
    pub fn candidates(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let first = u32::from(self.range.network()).saturating_add(2);
        let last = u32::from(self.range.broadcast()).saturating_sub(1);
        (first..=last).map(Ipv4Addr::from)
    }

    /// Reads every reservation.
    pub fn load(&self) -> Result<Loaded> {
        let mut loaded = Loaded::default();
        let entries =
            fs::read_dir(&self.dir).map_err(|e| Error::io("read directory", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read directory", &self.dir, e))?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            let path = entry.path();
            match fs::read(&path) {
                Ok(bytes) => match serde_json::from_slice::<Record>(&bytes) {
                    Ok(rec) => loaded.records.push((ip, rec)),
                    Err(err) => {
                        tracing::warn!(path = %path.display(), %err, "unreadable IPAM record");
                        loaded.unreadable.push(ip);
                    }
                },
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("read", path, e)),
            }
        }
        loaded.records.sort_by_key(|(ip, _)| *ip);
        loaded.unreadable.sort();
        Ok(loaded)
    }

    /// Reserves the next free address for `record`, round-robin after the last one reserved.
    pub fn allocate(&self, record: &Record) -> Result<Ipv4Addr> {
        let candidates: Vec<Ipv4Addr> = self.candidates().collect();
        let start = self
            .last_reserved()
            .and_then(|last| candidates.iter().position(|c| *c == last))
            .map_or(0, |i| i + 1);
        let n = candidates.len();
        for i in 0..n {
            let ip = candidates[(start + i) % n];
            if self.reserve(ip, record)? {
                self.write_last_reserved(ip)?;
                return Ok(ip);
            }
        }
        Err(Error::Exhausted(self.range))
    }

    /// Reserves `ip` for `record` if nobody holds it; returns whether we got it.
    pub fn reserve(&self, ip: Ipv4Addr, record: &Record) -> Result<bool> {
        if !self.range.contains(&ip) {
            return Err(Error::OutOfRange(ip));
        }
        let tmp = self.write_tmp(&ip.to_string(), &to_json(record)?)?;
        let target = self.path_of(ip);
        let res = fs::hard_link(&tmp, &target);
        let _ = fs::remove_file(&tmp);
        match res {
            Ok(()) => {
                self.sync_dir();
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io("link", target, e)),
        }
    }

    /// Rewrites the record of an address we hold (e.g. its hostPorts changed).
    pub fn update(&self, ip: Ipv4Addr, record: &Record) -> Result<()> {
        let tmp = self.write_tmp(&ip.to_string(), &to_json(record)?)?;
        let target = self.path_of(ip);
        fs::rename(&tmp, &target).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io("rename", &target, e)
        })?;
        self.sync_dir();
        Ok(())
    }

    /// Frees an address; freeing a free address is fine.
    pub fn release(&self, ip: Ipv4Addr) -> Result<()> {
        let path = self.path_of(ip);
        match fs::remove_file(&path) {
            Ok(()) => {
                self.sync_dir();
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", path, e)),
        }
    }

    /// Removes the whole reservation directory.
    pub fn destroy(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove directory", &self.dir, e)),
        }
    }

    fn path_of(&self, ip: Ipv4Addr) -> PathBuf {
        self.dir.join(ip.to_string())
    }

    fn last_reserved(&self) -> Option<Ipv4Addr> {
        fs::read_to_string(self.dir.join(LAST_RESERVED))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn write_last_reserved(&self, ip: Ipv4Addr) -> Result<()> {
        let tmp = self.write_tmp(LAST_RESERVED, ip.to_string().as_bytes())?;
        let target = self.dir.join(LAST_RESERVED);
        fs::rename(&tmp, &target).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io("rename", &target, e)
        })
    }

    /// Writes `data` in full to a fresh temporary file in the directory and syncs it.
    fn write_tmp(&self, stem: &str, data: &[u8]) -> Result<PathBuf> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join(format!(".tmp-{stem}-{}-{n}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            f.write_all(data)?;
            f.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&path);
            Error::io("write", &path, e)
        })?;
        Ok(path)
    }

    fn sync_dir(&self) {
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
    }
}

fn to_json(record: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(record).map_err(|e| Error::io("encode", "", std::io::Error::other(e)))
}

#[cfg(test)]
mod tests;
