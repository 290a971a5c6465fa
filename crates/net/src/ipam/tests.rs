//! Tests of host-local IPAM on a temporary directory.

use std::net::Ipv4Addr;

use super::*;

fn rec(name: &str) -> Record {
    Record {
        pod: PodKey::new("default", name, format!("uid-{name}")),
        host_ports: vec![],
    }
}

fn open(dir: &Path, cidr: &str) -> Ipam {
    Ipam::open(dir, cidr.parse().expect("cidr")).expect("open")
}

#[test]
fn skips_network_gateway_and_broadcast() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ipam = open(tmp.path(), "10.1.0.0/29");
    let all: Vec<Ipv4Addr> = ipam.candidates().collect();
    assert_eq!(all.first(), Some(&Ipv4Addr::new(10, 1, 0, 2)));
    assert_eq!(all.last(), Some(&Ipv4Addr::new(10, 1, 0, 6)));
    assert_eq!(all.len(), 5);
    let got: Vec<Ipv4Addr> = (0..5)
        .map(|i| ipam.allocate(&rec(&i.to_string())).expect("free"))
        .collect();
    assert_eq!(got, all);
    assert!(matches!(ipam.allocate(&rec("x")), Err(Error::Exhausted(_))));
}

#[test]
fn reservations_survive_reopening_and_are_never_handed_out_twice() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = open(tmp.path(), "10.1.0.0/24");
    let ip_a = a.allocate(&rec("a")).expect("a");
    drop(a);
    let b = open(tmp.path(), "10.1.0.0/24");
    let ip_b = b.allocate(&rec("b")).expect("b");
    assert_ne!(ip_a, ip_b);
    let loaded = b.load().expect("load");
    assert_eq!(loaded.records, vec![(ip_a, rec("a")), (ip_b, rec("b"))]);
    // Even an allocator that lost its round-robin position cannot take a held address.
    std::fs::remove_file(tmp.path().join(LAST_RESERVED)).expect("rm");
    let ip_c = b.allocate(&rec("c")).expect("c");
    assert!(ip_c != ip_a && ip_c != ip_b);
}

#[test]
fn two_allocators_on_one_directory_race_safely() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let ipam = open(&dir, "10.1.0.0/26");
                (0..10)
                    .map(|i| ipam.allocate(&rec(&format!("{t}-{i}"))).expect("free"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<Ipv4Addr> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "an address was handed out twice");
}

#[test]
fn release_frees_and_allocation_is_round_robin() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ipam = open(tmp.path(), "10.1.0.0/24");
    let first = ipam.allocate(&rec("a")).expect("a");
    ipam.release(first).expect("release");
    ipam.release(first).expect("release twice");
    let next = ipam.allocate(&rec("b")).expect("b");
    assert_ne!(next, first, "just-freed address reused at once");
    assert!(ipam.reserve(first, &rec("c")).expect("reserve"));
    assert!(!ipam.reserve(first, &rec("d")).expect("taken"));
}

#[test]
fn update_rewrites_the_owner_record() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ipam = open(tmp.path(), "10.1.0.0/24");
    let ip = ipam.allocate(&rec("a")).expect("a");
    let mut r = rec("a");
    r.host_ports.push(HostPort::tcp(80, 8080));
    ipam.update(ip, &r).expect("update");
    assert_eq!(ipam.load().expect("load").records, vec![(ip, r)]);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn unreadable_records_stay_reserved_and_stray_files_are_ignored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ipam = open(tmp.path(), "10.1.0.0/29");
    std::fs::write(tmp.path().join("10.1.0.2"), b"{not json").expect("write");
    std::fs::write(tmp.path().join("README"), b"hello").expect("write");
    let loaded = ipam.load().expect("load");
    assert!(loaded.records.is_empty());
    assert_eq!(loaded.unreadable, vec![Ipv4Addr::new(10, 1, 0, 2)]);
    assert_eq!(
        ipam.allocate(&rec("a")).expect("a"),
        Ipv4Addr::new(10, 1, 0, 3)
    );
}

#[test]
fn addresses_outside_the_range_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ipam = open(tmp.path(), "10.1.0.0/24");
    assert!(matches!(
        ipam.reserve(Ipv4Addr::new(10, 2, 0, 5), &rec("a")),
        Err(Error::OutOfRange(_))
    ));
}
