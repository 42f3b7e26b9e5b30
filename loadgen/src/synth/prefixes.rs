//! Distinct, bogon-free prefixes with the real length distribution.
//!
//! IPv4 prefixes are drawn uniformly from the usable /8s (1–223 except 0,
//! 10 and 127) and IPv6 prefixes from the RIR allocation pools, with
//! lengths from [`dist::IPV4_LENGTHS`] / [`dist::IPV6_LENGTHS`]. Candidates
//! overlapping a bogon are redrawn; duplicates are removed by sorting and
//! topped up until the count is reached, so the output is sorted.

use std::net::{Ipv4Addr, Ipv6Addr};

use rampart_core::nlri::{Ipv4Prefix, Ipv6Prefix};
use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::SynthError;
use super::dist::{self, Weighted};

/// IPv4 special-purpose and bogon prefixes (arouteserver `bogons.yml`, IANA
/// special-purpose registry): `(network, length)`.
pub const IPV4_BOGONS: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10.0.0.0/8 RFC 1918
    (0x6440_0000, 10), // 100.64.0.0/10 RFC 6598 CGN
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link local
    (0xAC10_0000, 12), // 172.16.0.0/12 RFC 1918
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
    (0xC0A8_0000, 16), // 192.168.0.0/16 RFC 1918
    (0xC612_0000, 15), // 198.18.0.0/15 RFC 2544 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
    (0xE000_0000, 3),  // 224.0.0.0/3 multicast and reserved
];

/// IPv6 bogons that overlap the pools prefixes are drawn from, plus the
/// well-known non-global ranges: `(network, length)`.
pub const IPV6_BOGONS: &[(u128, u8)] = &[
    (0, 8),                                          // ::/8 incl. loopback, v4-mapped
    (0x2001_0000 << 96, 23),                         // 2001::/23 IETF protocol assignments
    (0x2001_0db8 << 96, 32),                         // 2001:db8::/32 documentation
    (0x2002 << 112, 16),                             // 2002::/16 6to4
    (0x3ffe << 112, 16),                             // 3ffe::/16 old 6bone
    (0xfc00 << 112, 7),                              // fc00::/7 ULA
    (0xfe80 << 112, 10),                             // fe80::/10 link local
    (0xff00 << 112, 8),                              // ff00::/8 multicast
    (0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96), // NAT64
];

/// IPv6 allocation pools with weights: prefixes of route-views6 on
/// 2026-07-30 (`ipasn6_20260730.dat.gz`, 258,956 prefixes) inside each
/// pool (APNIC 2400::/12 31 %, LACNIC 2800::/12 20 %, RIPE 2a00::/12 18 %,
/// ARIN 2600::/12 13 %, legacy 2001::/16 11 %, …); the 1.3 % elsewhere
/// is left out.
const IPV6_POOLS: &[((u128, u8), u32)] = &[
    ((0x2001 << 112, 16), 29_427),
    ((0x2003 << 112, 18), 93),
    ((0x2400 << 112, 12), 80_514),
    ((0x2600 << 112, 12), 32_830),
    ((0x2800 << 112, 12), 52_179),
    ((0x2a00 << 112, 12), 47_667),
    ((0x2a10 << 112, 12), 8_849),
    ((0x2c00 << 112, 12), 3_941),
];

/// True when `net/len` overlaps (contains or lies inside) an IPv4 bogon.
#[must_use]
pub fn is_bogon_v4(net: u32, len: u8) -> bool {
    IPV4_BOGONS.iter().any(|&(b, blen)| {
        let l = len.min(blen);
        mask_v4(net, l) == mask_v4(b, l)
    })
}

/// True when `net/len` overlaps (contains or lies inside) an IPv6 bogon.
#[must_use]
pub fn is_bogon_v6(net: u128, len: u8) -> bool {
    IPV6_BOGONS.iter().any(|&(b, blen)| {
        let l = len.min(blen);
        mask_v6(net, l) == mask_v6(b, l)
    })
}

const fn mask_v4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - len as u32))
    }
}

const fn mask_v6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - len as u32))
    }
}

/// Rounds of draw-then-deduplicate before giving up.
const MAX_ROUNDS: usize = 64;

/// Usable first octets: everything below multicast except 0, 10, 127.
fn v4_slash8s() -> Vec<u32> {
    (1..224).filter(|o| ![10, 127].contains(o)).collect()
}

pub(super) fn gen_v4_prefixes(rng: &mut Pcg64Mcg, n: usize) -> Result<Vec<Ipv4Prefix>, SynthError> {
    let lens = Weighted::new(dist::IPV4_LENGTHS);
    let pool = v4_slash8s();
    let mut keys: Vec<u64> = Vec::with_capacity(n);
    for _ in 0..MAX_ROUNDS {
        let need = n - keys.len();
        if need == 0 {
            break;
        }
        for _ in 0..need {
            // Bounded retry: bogon overlap only rejects short prefixes often.
            for _ in 0..64 {
                let len = lens.sample(rng);
                let hi = pool[rng.random_range(0..pool.len())];
                let net = mask_v4((hi << 24) | (rng.random::<u32>() >> 8), len);
                if !is_bogon_v4(net, len) {
                    keys.push((u64::from(net) << 8) | u64::from(len));
                    break;
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
    }
    if keys.len() < n {
        return Err(SynthError::AddressSpaceExhausted {
            placed: keys.len(),
            asked: n,
        });
    }
    Ok(keys
        .into_iter()
        .filter_map(|k| Ipv4Prefix::new(Ipv4Addr::from_bits((k >> 8) as u32), k as u8))
        .collect())
}

pub(super) fn gen_v6_prefixes(rng: &mut Pcg64Mcg, n: usize) -> Result<Vec<Ipv6Prefix>, SynthError> {
    let lens = Weighted::new(dist::IPV6_LENGTHS);
    let pools = Weighted::new(IPV6_POOLS);
    let mut keys: Vec<(u128, u8)> = Vec::with_capacity(n);
    for _ in 0..MAX_ROUNDS {
        let need = n - keys.len();
        if need == 0 {
            break;
        }
        for _ in 0..need {
            for _ in 0..64 {
                let len = lens.sample(rng);
                let (base, plen) = pools.sample(rng);
                let net = mask_v6(base | (rng.random::<u128>() >> plen), len);
                if !is_bogon_v6(net, len) {
                    keys.push((net, len));
                    break;
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
    }
    if keys.len() < n {
        return Err(SynthError::AddressSpaceExhausted {
            placed: keys.len(),
            asked: n,
        });
    }
    Ok(keys
        .into_iter()
        .filter_map(|(a, l)| Ipv6Prefix::new(Ipv6Addr::from_bits(a), l))
        .collect())
}
