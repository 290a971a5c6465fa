//! Hands out fixed-size subnets of the cluster CIDR, one per node, never the same one twice while it is in use.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::{Error, Result};

/// The subnets of a cluster CIDR and which of them are taken.
#[derive(Debug, Clone)]
pub struct CidrAllocator {
    cluster: Ipv4Net,
    mask: u8,
    used: BTreeSet<u32>,
    /// Where the next search starts: after the last subnet handed out (round-robin, so a
    /// subnet freed by a deleted node is not reused at once).
    next: u32,
}

impl CidrAllocator {
    /// Subnets of size `/mask` from `cluster`.
    pub fn new(cluster: Ipv4Net, mask: u8) -> Result<Self> {
        let cluster = cluster.trunc();
        if mask < cluster.prefix_len() || mask > 30 {
            return Err(Error::InvalidMask { cluster, mask });
        }
        if mask - cluster.prefix_len() > 24 {
            return Err(Error::InvalidMask { cluster, mask });
        }
        Ok(CidrAllocator {
            cluster,
            mask,
            used: BTreeSet::new(),
            next: 0,
        })
    }

    /// How many subnets there are in all.
    pub fn capacity(&self) -> u32 {
        1u32 << (self.mask - self.cluster.prefix_len())
    }

    /// How many are taken.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }

    fn subnet(&self, i: u32) -> Ipv4Net {
        let base = u32::from(self.cluster.network());
        let step = 1u64 << (32 - self.mask);
        let addr = (u64::from(base) + u64::from(i) * step) as u32;
        Ipv4Net::new(addr.into(), self.mask).unwrap_or(self.cluster)
    }

    /// Indices of every node-sized subnet `cidr` overlaps, or an error if it lies outside.
    fn indices(&self, cidr: Ipv4Net) -> Result<std::ops::RangeInclusive<u32>> {
        let cidr = cidr.trunc();
        if !self.cluster.contains(&cidr) {
            return Err(Error::NotInCluster {
                cidr,
                cluster: self.cluster,
            });
        }
        let shift = 32 - u32::from(self.mask);
        let base = u32::from(self.cluster.network());
        let first = (u32::from(cidr.network()) - base) >> shift;
        let last = (u32::from(cidr.broadcast()) - base) >> shift;
        Ok(first..=last)
    }

    /// Marks `cidr` (a node's existing podCIDR) as taken; returns false if (part of) it
    /// already was.
    pub fn occupy(&mut self, cidr: Ipv4Net) -> Result<bool> {
        let mut fresh = true;
        for i in self.indices(cidr)? {
            fresh &= self.used.insert(i);
        }
        Ok(fresh)
    }

    /// Frees `cidr`; freeing what is free or outside the cluster is a no-op.
    pub fn release(&mut self, cidr: Ipv4Net) {
        if let Ok(range) = self.indices(cidr) {
            for i in range {
                self.used.remove(&i);
            }
        }
    }

    /// Takes the next free subnet.
    pub fn allocate(&mut self) -> Result<Ipv4Net> {
        let n = self.capacity();
        for k in 0..n {
            let i = (self.next + k) % n;
            if self.used.insert(i) {
                self.next = (i + 1) % n;
                return Ok(self.subnet(i));
            }
        }
        Err(Error::Exhausted(self.cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    #[test]
    fn hands_out_distinct_24s_in_order() {
        let mut a = CidrAllocator::new(net("10.42.0.0/16"), 24).expect("alloc");
        assert_eq!(a.capacity(), 256);
        let got: Vec<Ipv4Net> = (0..3).map(|_| a.allocate().expect("free")).collect();
        assert_eq!(
            got,
            vec![
                net("10.42.0.0/24"),
                net("10.42.1.0/24"),
                net("10.42.2.0/24")
            ]
        );
    }

    #[test]
    fn skips_occupied_subnets_and_exhausts_cleanly() {
        let mut a = CidrAllocator::new(net("10.0.0.0/22"), 24).expect("alloc");
        assert!(a.occupy(net("10.0.1.0/24")).expect("inside"));
        assert!(!a.occupy(net("10.0.1.0/24")).expect("again"));
        let mut got: Vec<Ipv4Net> = (0..3).map(|_| a.allocate().expect("free")).collect();
        got.sort();
        assert_eq!(
            got,
            vec![net("10.0.0.0/24"), net("10.0.2.0/24"), net("10.0.3.0/24")]
        );
        let err = a.allocate().expect_err("exhausted");
        assert!(err.to_string().contains("10.0.0.0/22"), "{err}");
    }

    #[test]
    fn released_subnets_come_back_after_the_others() {
        let mut a = CidrAllocator::new(net("10.0.0.0/23"), 25).expect("alloc");
        let first = a.allocate().expect("free");
        a.release(first);
        assert_ne!(a.allocate().expect("free"), first, "round-robin");
        a.allocate().expect("free");
        a.allocate().expect("free");
        assert_eq!(a.allocate().expect("wraps around"), first);
    }

    #[test]
    fn odd_sized_existing_cidrs_block_every_subnet_they_touch() {
        let mut a = CidrAllocator::new(net("10.0.0.0/22"), 24).expect("alloc");
        a.occupy(net("10.0.0.0/23")).expect("inside");
        a.occupy(net("10.0.2.128/25")).expect("inside");
        assert_eq!(a.in_use(), 3);
        assert_eq!(a.allocate().expect("free"), net("10.0.3.0/24"));
    }

    #[test]
    fn refuses_cidrs_outside_the_cluster_and_bad_masks() {
        let mut a = CidrAllocator::new(net("10.42.0.0/16"), 24).expect("alloc");
        assert!(a.occupy(net("10.43.0.0/24")).is_err());
        assert!(CidrAllocator::new(net("10.42.0.0/16"), 8).is_err());
        assert!(CidrAllocator::new(net("10.42.0.0/16"), 31).is_err());
        assert!(
            CidrAllocator::new(net("0.0.0.0/0"), 30).is_err(),
            "too many subnets"
        );
    }
}
