//! Synthetic, realistic routing tables for the demo, benches and load tests.
//!
//! [`generate`] builds a table of distinct IPv4 and IPv6 prefixes whose
//! prefix lengths, prefixes-per-origin, AS path lengths, prepending,
//! communities, large communities, MED and ORIGIN follow distributions
//! measured on real RouteViews data (the constants and their sources are in
//! the `dist` module). Every speaker announces the same prefixes with its own
//! first AS, next hop and middle of the path, so paths compete in best-path
//! selection.
//!
//! Shape of the output:
//!
//! ```text
//! SynthTable
//!   prefixes:   [p0, p1, ...]    sorted, IPv4 first, all distinct, no bogons
//!   attr index: [g0, g1, ...]    one attribute group per prefix
//!   groups:     origin AS + upstream + prepends + MED + communities
//! SpeakerRoutes (one per speaker, built on demand)
//!   attr_sets:  one PathAttributes per group:
//!               AS_PATH = speaker AS, per-speaker transit hops, group suffix
//!               NEXT_HOP = the speaker's address
//! ```
//!
//! The number of groups, hence of distinct attribute sets per speaker, is
//! `distinct_attr_share × prefixes` (at least one per origin AS). Prefixes
//! of one origin share its groups, as real announcements from one AS share
//! their path.
//!
//! Output is deterministic for a given [`SynthConfig`] (seeded PCG RNG, no
//! hash-order dependence).

mod dist;
mod prefixes;
#[cfg(test)]
mod tests;

use std::hash::{BuildHasher, Hash};
use std::net::{Ipv4Addr, Ipv6Addr};

use rampart_core::attr::{AsPath, Community, LargeCommunity, NextHop, Origin, PathAttributes};
use rampart_core::nlri::Prefix;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use dist::Weighted;
pub use prefixes::{IPV4_BOGONS, IPV6_BOGONS, is_bogon_v4, is_bogon_v6};
use prefixes::{gen_v4_prefixes, gen_v6_prefixes};

/// Largest IPv4 table [`generate`] accepts (about a quarter of the non-bogon
/// /24 space, so duplicate rejection converges quickly).
pub const MAX_IPV4_PREFIXES: usize = 4_000_000;
/// Largest IPv6 table [`generate`] accepts.
pub const MAX_IPV6_PREFIXES: usize = 20_000_000;
/// Largest number of speakers [`generate`] accepts.
pub const MAX_SPEAKERS: usize = 65_535;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of distinct IPv4 prefixes.
    pub ipv4: usize,
    /// Number of distinct IPv6 prefixes.
    pub ipv6: usize,
    /// Number of speakers announcing the table (each announces every prefix).
    pub speakers: usize,
    /// RNG seed: equal configs give equal tables.
    pub seed: u64,
    /// Distinct attribute sets per speaker as a share of prefixes (0..=1),
    /// per address family. Never fewer than one set per origin AS.
    pub distinct_attr_share: f64,
    /// Share of attribute sets carrying COMMUNITIES (0..=1).
    pub community_share: f64,
    /// Share of attribute sets carrying LARGE_COMMUNITY (0..=1).
    pub large_community_share: f64,
    /// Share of attribute sets carrying MULTI_EXIT_DISC (0..=1).
    pub med_share: f64,
}

impl Default for SynthConfig {
    /// 1M IPv4 + 200k IPv6 prefixes from 2 speakers, 30 % distinct
    /// attribute sets, and the community/MED shares measured on
    /// route-views2 (69 % communities, 7 % large communities, 30 % MED).
    fn default() -> Self {
        Self {
            ipv4: 1_000_000,
            ipv6: 200_000,
            speakers: 2,
            seed: 1,
            distinct_attr_share: 0.3,
            community_share: dist::COMMUNITY_SHARE,
            large_community_share: dist::LARGE_COMMUNITY_SHARE,
            med_share: dist::MED_SHARE,
        }
    }
}

/// Why a table could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// More prefixes or speakers than the generator supports.
    #[error("{what} = {asked} exceeds the supported maximum {max}")]
    TooLarge {
        /// Which parameter.
        what: &'static str,
        /// The value asked for.
        asked: usize,
        /// The maximum.
        max: usize,
    },
    /// A share is not a number within 0..=1.
    #[error("{what} = {value} is not within 0..=1")]
    BadShare {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// Duplicate rejection did not converge (should not happen below the
    /// maxima).
    #[error("could only place {placed} of {asked} distinct prefixes")]
    AddressSpaceExhausted {
        /// Prefixes placed.
        placed: usize,
        /// Prefixes asked for.
        asked: usize,
    },
}

/// One synthetic BGP speaker (a peer of the route server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Speaker {
    /// Its AS number: the first AS of every path it announces.
    pub asn: u32,
    /// BGP identifier and IPv4 session / next-hop address (from 198.18.0.0/15,
    /// the RFC 2544 benchmarking range).
    pub addr_v4: Ipv4Addr,
    /// IPv6 next-hop address (from 2001:db8::/32, RFC 3849).
    pub addr_v6: Ipv6Addr,
}

/// A generated table: prefixes, their attribute groups, and the speakers.
#[derive(Debug, Clone)]
pub struct SynthTable {
    prefixes: Vec<Prefix>,
    group_of: Vec<u32>,
    groups: Vec<Group>,
    speakers: Vec<Speaker>,
    seed: u64,
}

/// The speaker-independent part of one attribute set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    /// Address family of its prefixes (selects the next-hop form).
    v6: bool,
    origin: Origin,
    /// Distinct ASes wanted on the path, speaker included.
    hops: u8,
    /// The path's tail: upstream hops, then the origin AS (prepends included).
    suffix: Vec<u32>,
    med: Option<u32>,
    communities: Vec<Community>,
    large_communities: Vec<LargeCommunity>,
}

/// One speaker's view of a [`SynthTable`]: an attribute set per group.
#[derive(Debug, Clone)]
pub struct SpeakerRoutes<'a> {
    table: &'a SynthTable,
    attr_sets: Vec<PathAttributes>,
}

/// Tier-1 and large transit networks, used as speakers and as middle hops.
const TRANSIT_ASNS: &[u32] = &[
    3356, 1299, 174, 2914, 6939, 3257, 6762, 6453, 3491, 7018, 701, 6461, 1273, 9002, 4637, 12956,
    5511, 3320, 6830, 7473,
];

/// Speakers beyond [`TRANSIT_ASNS`] get ASNs from here up (above every
/// generated origin or transit ASN, inside the allocated 4-octet range).
const EXTRA_SPEAKER_ASN_BASE: u32 = 401_000;
/// Generated origin/upstream ASNs: 2-octet public range and 4-octet range
/// below [`EXTRA_SPEAKER_ASN_BASE`].
const ASN16_MAX: u32 = 64_495;
const ASN32_RANGE: (u32, u32) = (131_072, 400_000);
/// AS_TRANS (RFC 6793): never an origin.
const AS_TRANS: u32 = 23_456;
/// Size of the pool of regional transit ASes that appear next to origins.
const UPSTREAM_POOL: usize = 2_000;

/// Generates a table.
///
/// # Errors
/// [`SynthError::TooLarge`] past [`MAX_IPV4_PREFIXES`],
/// [`MAX_IPV6_PREFIXES`] or [`MAX_SPEAKERS`]; [`SynthError::BadShare`] for
/// a share outside 0..=1.
pub fn generate(cfg: &SynthConfig) -> Result<SynthTable, SynthError> {
    validate(cfg)?;
    let mut rng = Pcg64Mcg::seed_from_u64(cfg.seed);
    let speakers = make_speakers(cfg.speakers);
    let mut excluded: hashbrown::HashSet<u32> = TRANSIT_ASNS.iter().copied().collect();
    excluded.insert(AS_TRANS);
    excluded.extend(speakers.iter().map(|s| s.asn));
    excluded.extend(EXTRA_MID_ASNS);
    let upstreams = draw_asns(&mut rng, UPSTREAM_POOL, &mut excluded);

    let v4 = gen_v4_prefixes(&mut rng, cfg.ipv4)?;
    let v6 = gen_v6_prefixes(&mut rng, cfg.ipv6)?;
    let mut prefixes = Vec::with_capacity(v4.len() + v6.len());
    prefixes.extend(v4.into_iter().map(Prefix::V4));
    prefixes.extend(v6.into_iter().map(Prefix::V6));

    let mut group_of = Vec::with_capacity(prefixes.len());
    let mut groups = Vec::new();
    let tables = Tables::new();
    let mut fam = FamilyGen {
        rng: &mut rng,
        tables: &tables,
        cfg,
        upstreams: &upstreams,
        excluded: &mut excluded,
        group_of: &mut group_of,
        groups: &mut groups,
    };
    fam.run(cfg.ipv4, false);
    fam.run(cfg.ipv6, true);
    Ok(SynthTable {
        prefixes,
        group_of,
        groups,
        speakers,
        seed: cfg.seed,
    })
}

fn validate(cfg: &SynthConfig) -> Result<(), SynthError> {
    let limits = [
        ("ipv4", cfg.ipv4, MAX_IPV4_PREFIXES),
        ("ipv6", cfg.ipv6, MAX_IPV6_PREFIXES),
        ("speakers", cfg.speakers, MAX_SPEAKERS),
    ];
    for (what, asked, max) in limits {
        if asked > max {
            return Err(SynthError::TooLarge { what, asked, max });
        }
    }
    let shares = [
        ("distinct_attr_share", cfg.distinct_attr_share),
        ("community_share", cfg.community_share),
        ("large_community_share", cfg.large_community_share),
        ("med_share", cfg.med_share),
    ];
    for (what, value) in shares {
        if !(0.0..=1.0).contains(&value) {
            return Err(SynthError::BadShare { what, value });
        }
    }
    Ok(())
}

fn make_speakers(n: usize) -> Vec<Speaker> {
    (0..n)
        .map(|i| {
            let i32 = u32::try_from(i).unwrap_or(u32::MAX - 2);
            let asn = TRANSIT_ASNS
                .get(i)
                .copied()
                .unwrap_or(EXTRA_SPEAKER_ASN_BASE + i32);
            Speaker {
                asn,
                addr_v4: Ipv4Addr::from_bits(0xC612_0000 + i32 + 1),
                addr_v6: Ipv6Addr::from_bits((0x2001_0db8_u128 << 96) + u128::from(i32) + 1),
            }
        })
        .collect()
}

/// Draws up to `n` distinct public ASNs not in `excluded` (and adds them to
/// it): 48 % 2-octet, 52 % 4-octet, as among the 78,468 IPv4 origins of
/// route-views2 on 2026-07-30 (40,904 above 65535). Returns fewer when the
/// ranges run out (tables far beyond today's Internet).
fn draw_asns(rng: &mut Pcg64Mcg, n: usize, excluded: &mut hashbrown::HashSet<u32>) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    // Bounded: the ranges hold ~330k ASNs and today's tables need ~90k, so
    // most attempts succeed; when the ranges are nearly exhausted this
    // gives up early instead of hunting for the last free numbers.
    for _ in 0..n.saturating_mul(4).saturating_add(4096) {
        if out.len() == n {
            break;
        }
        let asn = if rng.random_bool(0.48) {
            rng.random_range(1..=ASN16_MAX)
        } else {
            rng.random_range(ASN32_RANGE.0..ASN32_RANGE.1)
        };
        if excluded.insert(asn) {
            out.push(asn);
        }
    }
    out
}

/// The per-group sampling tables, prepared once.
struct Tables {
    hops: Weighted<u8>,
    prepend: Weighted<u8>,
    origin: Weighted<u8>,
    communities: Weighted<u8>,
}

impl Tables {
    fn new() -> Self {
        Self {
            hops: Weighted::new(dist::PATH_HOPS),
            prepend: Weighted::new(dist::PREPEND_EXTRA),
            origin: Weighted::new(dist::ORIGIN_CODES),
            communities: Weighted::new(dist::COMMUNITY_COUNT),
        }
    }
}

/// Builds the origins and attribute groups of one address family.
struct FamilyGen<'a> {
    rng: &'a mut Pcg64Mcg,
    tables: &'a Tables,
    cfg: &'a SynthConfig,
    upstreams: &'a [u32],
    excluded: &'a mut hashbrown::HashSet<u32>,
    group_of: &'a mut Vec<u32>,
    groups: &'a mut Vec<Group>,
}

impl FamilyGen<'_> {
    /// Adds groups for `n` prefixes (appended to `group_of` in prefix order).
    fn run(&mut self, n: usize, v6: bool) {
        if n == 0 {
            return;
        }
        let target = ((self.cfg.distinct_attr_share * n as f64).round() as usize).clamp(1, n);
        let counts = origin_counts(self.rng, n, target);
        let origins = draw_asns(self.rng, counts.len(), self.excluded);
        let origins_n = counts.len();
        // Each origin has one group; the remaining `target - origins` groups
        // go to origins in proportion to their extra prefixes (stochastic
        // rounding keeps the expected total exact).
        let r = if n > origins_n {
            (target.saturating_sub(origins_n)) as f64 / (n - origins_n) as f64
        } else {
            0.0
        };
        let mut seen = hashbrown::HashSet::new();
        for (i, &count) in counts.iter().enumerate() {
            // Reuse ASNs round-robin if the ranges ran out.
            let origin_as = origins
                .get(i % origins.len().max(1))
                .copied()
                .unwrap_or(ASN32_RANGE.0);
            let extra = ((count - 1) as f64 * r + self.rng.random::<f64>()) as usize;
            let g = (1 + extra).min(count);
            let base = self.groups.len() as u32;
            for _ in 0..g {
                let group = self.make_group(origin_as, v6, &mut seen);
                self.groups.push(group);
            }
            self.group_of
                .extend((0..count).map(|j| base + (j % g) as u32));
        }
    }

    fn make_group(
        &mut self,
        origin_as: u32,
        v6: bool,
        seen: &mut hashbrown::HashSet<u64>,
    ) -> Group {
        let rng = &mut *self.rng;
        let t = self.tables;
        let hops = t.hops.sample(rng);
        let mut suffix = Vec::with_capacity(4);
        if hops >= 3 {
            // The origin's upstream: a regional transit, not the origin.
            let up = self.upstreams[rng.random_range(0..self.upstreams.len())];
            if up != origin_as {
                suffix.push(up);
            }
        }
        suffix.push(origin_as);
        if rng.random_bool(dist::PREPEND_SHARE) {
            let extra = t.prepend.sample(rng);
            let room = dist::MAX_PATH_LEN.saturating_sub(usize::from(hops));
            suffix.extend(std::iter::repeat_n(origin_as, usize::from(extra).min(room)));
        }
        let origin = match t.origin.sample(rng) {
            0 => Origin::Igp,
            1 => Origin::Egp,
            _ => Origin::Incomplete,
        };
        let med = rng.random_bool(self.cfg.med_share).then(|| draw_med(rng));
        let communities = if rng.random_bool(self.cfg.community_share) {
            draw_communities(rng, &t.communities, &suffix)
        } else {
            Vec::new()
        };
        let large_communities = if rng.random_bool(self.cfg.large_community_share) {
            draw_large_communities(rng, origin_as)
        } else {
            Vec::new()
        };
        let mut group = Group {
            v6,
            origin,
            hops,
            suffix,
            med,
            communities,
            large_communities,
        };
        // Keep groups distinct: a repeat gets a different MED, as when an
        // AS announces the same path with per-prefix MEDs. Bounded.
        let hasher = foldhash::fast::FixedState::with_seed(0x5eed);
        for _ in 0..64 {
            if seen.insert(hasher.hash_one(&group)) {
                break;
            }
            group.med = Some(group.med.map_or(1, |m| m.wrapping_add(1)));
        }
        group
    }
}

/// Draws per-origin prefix counts from [`dist::PREFIXES_PER_ORIGIN`] until
/// they sum to `n`, each capped at the largest real origin's share. When
/// that yields more origins than `max_origins` (tiny attribute-set shares),
/// origins are merged round-robin so each can have one attribute set.
fn origin_counts(rng: &mut Pcg64Mcg, n: usize, max_origins: usize) -> Vec<usize> {
    let buckets = Weighted::new(dist::PREFIXES_PER_ORIGIN);
    let cap = ((n as f64 * dist::MAX_ORIGIN_SHARE).ceil() as usize).max(1);
    let mut counts = Vec::new();
    let mut left = n;
    while left > 0 {
        let (lo, hi) = buckets.sample(rng);
        let c = (rng.random_range(lo..=hi) as usize).min(cap).min(left);
        counts.push(c);
        left -= c;
    }
    if counts.len() > max_origins {
        let mut merged = vec![0usize; max_origins];
        for (i, c) in counts.into_iter().enumerate() {
            merged[i % max_origins] += c;
        }
        counts = merged;
    }
    // Shuffle so large origins are spread over the address space.
    for i in (1..counts.len()).rev() {
        counts.swap(i, rng.random_range(0..=i));
    }
    counts
}

fn draw_med(rng: &mut Pcg64Mcg) -> u32 {
    match rng.random_range(0..10) {
        0..=2 => 0,
        3..=6 => rng.random_range(1..=100),
        _ => rng.random_range(100..=10_000),
    }
}

/// Communities tagged by the origin's upstream (or a transit network when
/// that has a 4-octet ASN), values in the usual `N000+x` location/action
/// style, sorted and without repeats.
fn draw_communities(rng: &mut Pcg64Mcg, counts: &Weighted<u8>, suffix: &[u32]) -> Vec<Community> {
    let count = counts.sample(rng);
    let tagger = suffix
        .iter()
        .copied()
        .find(|&a| a <= u32::from(u16::MAX))
        .unwrap_or(TRANSIT_ASNS[rng.random_range(0..TRANSIT_ASNS.len())]);
    let mut out: Vec<Community> = (0..count)
        .map(|_| {
            let asn = if rng.random_bool(0.8) {
                tagger
            } else {
                TRANSIT_ASNS[rng.random_range(0..TRANSIT_ASNS.len())]
            };
            let value = rng.random_range(1..=9u16) * 1000 + rng.random_range(0..200u16);
            Community::new(asn as u16, value)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn draw_large_communities(rng: &mut Pcg64Mcg, origin_as: u32) -> Vec<LargeCommunity> {
    let count = rng.random_range(1..=3);
    let mut out: Vec<LargeCommunity> = (0..count)
        .map(|_| LargeCommunity {
            global: origin_as,
            local1: rng.random_range(1..=10),
            local2: rng.random_range(0..10_000),
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl SynthTable {
    /// Every prefix, sorted, IPv4 first; all distinct.
    #[must_use]
    pub fn prefixes(&self) -> &[Prefix] {
        &self.prefixes
    }

    /// The speakers announcing the table.
    #[must_use]
    pub fn speakers(&self) -> &[Speaker] {
        &self.speakers
    }

    /// Number of attribute groups (= distinct attribute sets per speaker).
    #[must_use]
    pub fn attr_set_count(&self) -> usize {
        self.groups.len()
    }

    /// The attribute group (index into [`SpeakerRoutes::attr_sets`]) of the
    /// `i`-th prefix.
    #[must_use]
    pub fn attr_index(&self, i: usize) -> Option<usize> {
        self.group_of.get(i).map(|&g| g as usize)
    }

    /// Builds speaker `speaker`'s attribute sets; `None` when out of range.
    /// Costs one allocation set per group, not per prefix.
    #[must_use]
    pub fn speaker_routes(&self, speaker: usize) -> Option<SpeakerRoutes<'_>> {
        let sp = *self.speakers.get(speaker)?;
        let mix = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(speaker as u64 + 1);
        let mut rng = Pcg64Mcg::seed_from_u64(self.seed ^ mix);
        let long: Vec<(u8, u32)> = dist::PATH_HOPS
            .iter()
            .copied()
            .filter(|&(h, _)| h >= 3)
            .collect();
        let long_hops = Weighted::new(&long);
        let attr_sets = self
            .groups
            .iter()
            .map(|g| speaker_attrs(&mut rng, &long_hops, &sp, g))
            .collect();
        Some(SpeakerRoutes {
            table: self,
            attr_sets,
        })
    }
}

/// One speaker's attribute set for group `g`: its AS, middle hops drawn for
/// this speaker (so speakers' paths to a prefix differ), the group suffix.
/// `long_hops` is [`dist::PATH_HOPS`] restricted to 3 hops or more.
fn speaker_attrs(
    rng: &mut Pcg64Mcg,
    long_hops: &Weighted<u8>,
    sp: &Speaker,
    g: &Group,
) -> PathAttributes {
    // The suffix holds the origin, maybe preceded by its upstream. Each
    // speaker draws its own path length from the measured distribution
    // given that split (2 distinct ASes without an upstream, 3 or more
    // with one), so every speaker's lengths follow it exactly and
    // speakers' paths to one prefix differ in length and middle hops.
    let mids = if g.suffix.first() == g.suffix.last() {
        0
    } else {
        usize::from(long_hops.sample(rng)).saturating_sub(3)
    };
    let mids = mids.min(dist::MAX_PATH_LEN.saturating_sub(1 + g.suffix.len()));
    let mut path = Vec::with_capacity(1 + mids + g.suffix.len());
    path.push(sp.asn);
    for _ in 0..mids {
        // Bounded retry against AS loops.
        for _ in 0..8 {
            let asn = if rng.random_bool(0.6) {
                TRANSIT_ASNS[rng.random_range(0..TRANSIT_ASNS.len())]
            } else {
                // A regional transit: reuse the group's neighbourhood.
                EXTRA_MID_ASNS[rng.random_range(0..EXTRA_MID_ASNS.len())]
            };
            if !path.contains(&asn) && !g.suffix.contains(&asn) {
                path.push(asn);
                break;
            }
        }
    }
    path.extend_from_slice(&g.suffix);
    let next_hop = if g.v6 {
        NextHop::V6 {
            global: sp.addr_v6,
            link_local: None,
        }
    } else {
        NextHop::V4(sp.addr_v4)
    };
    PathAttributes {
        origin: Some(g.origin),
        as_path: AsPath::from_sequence(path),
        next_hop: Some(next_hop),
        med: g.med,
        communities: g.communities.as_slice().into(),
        large_communities: g.large_communities.as_slice().into(),
        ..PathAttributes::default()
    }
}

/// Well-known regional carriers used as middle hops besides the tier-1s.
const EXTRA_MID_ASNS: &[u32] = &[
    1239, 2828, 3549, 4134, 4755, 4809, 5400, 6695, 7922, 8220, 8359, 9498, 10026, 11537, 13030,
    15169, 16509, 20473, 20764, 24940, 31133, 33891, 37100, 38040, 43531, 49544, 57866, 262589,
];

impl<'a> SpeakerRoutes<'a> {
    /// The distinct attribute sets, indexed by [`SynthTable::attr_index`].
    #[must_use]
    pub fn attr_sets(&self) -> &[PathAttributes] {
        &self.attr_sets
    }

    /// Number of routes (= prefixes in the table).
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.prefixes.len()
    }

    /// True when the table has no prefixes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.prefixes.is_empty()
    }

    /// Every route: prefix and its attribute set, in prefix order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &PathAttributes)> + '_ {
        self.table
            .prefixes
            .iter()
            .zip(&self.table.group_of)
            .filter_map(|(p, &g)| Some((*p, self.attr_sets.get(g as usize)?)))
    }

    /// Every route with an owned attribute set (one clone per route).
    #[must_use]
    pub fn to_vec(&self) -> Vec<(Prefix, PathAttributes)> {
        self.iter().map(|(p, a)| (p, a.clone())).collect()
    }

    /// The table these routes belong to.
    #[must_use]
    pub fn table(&self) -> &'a SynthTable {
        self.table
    }
}
