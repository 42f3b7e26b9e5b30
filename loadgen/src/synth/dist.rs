//! Measured distributions of the real Internet routing table, and a small
//! weighted sampler over them.
//!
//! Every table is a list of `(value, weight)` with integer weights copied
//! from a real data set (counts, not rounded percentages), so the source can
//! be re-checked by recounting it. The data sets live in `../shared/data`
//! (see its README):
//!
//! - prefix lengths: `prefix-origin/ipasn_20260730.dat.gz` and
//!   `ipasn6_20260730.dat.gz`, pyasn tables built from the RouteViews
//!   route-views2 / route-views6 RIBs of 2026-07-30 14:00 UTC (1,107,938
//!   IPv4 and 258,956 IPv6 prefixes), counted with
//!   `zcat F | grep -v '^;' | awk -F'\t' '{split($1,a,"/"); c[a[2]]++} END {for (k in c) print k, c[k]}'`;
//! - prefixes per origin AS: the same IPv4 file, `cut -f2 | sort | uniq -c`,
//!   bucketed by powers of two (78,468 origins);
//! - AS path length, prepending, communities, MED and ORIGIN: the 679,296
//!   RIB entries of `mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2`
//!   (route-views2, 20 peers), walked with a TABLE_DUMP_V2 reader.

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

/// IPv4 prefix length → number of prefixes of that length in route-views2,
/// 2026-07-30 (1,107,938 prefixes: /24 63.6 %, /23 10.4 %, /22 10.5 %,
/// /21 5.0 %, /20 4.3 %, /16 1.25 %, longer than /24 0.2 %).
pub(crate) const IPV4_LENGTHS: &[(u8, u32)] = &[
    (8, 16),
    (9, 14),
    (10, 39),
    (11, 97),
    (12, 300),
    (13, 588),
    (14, 1_198),
    (15, 2_166),
    (16, 13_868),
    (17, 8_532),
    (18, 13_592),
    (19, 26_078),
    (20, 47_819),
    (21, 55_035),
    (22, 116_113),
    (23, 115_472),
    (24, 704_803),
    (25, 361),
    (26, 545),
    (27, 991),
    (28, 56),
    (29, 87),
    (30, 11),
    (31, 5),
    (32, 152),
];

/// IPv6 prefix length → number of prefixes of that length in route-views6,
/// 2026-07-30 (258,956 prefixes: /48 46.2 %, /32 10.4 %, /44 10.1 %,
/// /40 9.2 %, /36 3.7 %, /47 3.5 %, /46 2.3 %, /33 2.2 %, /29 2.1 %, …).
/// Lengths shorter than /16 do not occur.
pub(crate) const IPV6_LENGTHS: &[(u8, u32)] = &[
    (16, 1),
    (19, 1),
    (20, 14),
    (21, 3),
    (22, 6),
    (23, 6),
    (24, 40),
    (25, 12),
    (26, 17),
    (27, 18),
    (28, 162),
    (29, 5_566),
    (30, 757),
    (31, 359),
    (32, 27_003),
    (33, 5_817),
    (34, 5_524),
    (35, 1_918),
    (36, 9_625),
    (37, 1_280),
    (38, 2_839),
    (39, 1_855),
    (40, 23_716),
    (41, 1_780),
    (42, 3_076),
    (43, 1_466),
    (44, 26_233),
    (45, 4_606),
    (46, 5_938),
    (47, 9_183),
    (48, 119_755),
    (49, 31),
    (50, 3),
    (51, 2),
    (52, 31),
    (55, 1),
    (56, 91),
    (63, 1),
    (64, 205),
    (80, 1),
    (112, 1),
    (118, 2),
    (123, 4),
    (124, 1),
    (125, 2),
    (128, 4),
];

/// Prefixes per origin AS, bucketed: `((low, high), origins)` — how many of
/// the 78,468 IPv4 origins announce between `low` and `high` prefixes.
/// 35 % announce one prefix, 85 % at most ten; the 13 largest announce
/// 4,096–16,640 each (the top one 1.5 % of the table).
pub(crate) const PREFIXES_PER_ORIGIN: &[((u32, u32), u32)] = &[
    ((1, 1), 27_500),
    ((2, 2), 12_358),
    ((3, 3), 8_059),
    ((4, 4), 5_965),
    ((5, 7), 9_133),
    ((8, 15), 7_114),
    ((16, 31), 4_029),
    ((32, 63), 2_178),
    ((64, 127), 1_041),
    ((128, 255), 532),
    ((256, 511), 287),
    ((512, 1_023), 160),
    ((1_024, 4_095), 99),
    ((4_096, 16_640), 13),
];

/// The largest origin's share of the table (16,640 of 1,107,938 prefixes):
/// caps one origin's prefix count on small tables.
pub(crate) const MAX_ORIGIN_SHARE: f64 = 16_640.0 / 1_107_938.0;

/// AS path length in distinct ASes (prepends collapsed) → RIB entries per
/// 100,000 in route-views2 (mean 3.68). Length 1 (the peer is the origin)
/// is 0.01 % and is folded into 2: every synthetic speaker is a transit.
pub(crate) const PATH_HOPS: &[(u8, u32)] = &[
    (2, 10_400),
    (3, 37_550),
    (4, 32_760),
    (5, 13_530),
    (6, 4_520),
    (7, 920),
    (8, 270),
    (9, 40),
];

/// Share of RIB entries whose path repeats an AS (prepending): 18.92 %.
/// With the prepend counts below, the mean path length including prepends
/// comes out near the measured 4.10.
pub(crate) const PREPEND_SHARE: f64 = 0.1892;

/// Extra copies of the prepended AS → weight. Mean 2.2 extra copies, which
/// is what turns the 3.68 distinct-hop mean into the 4.10 full-length mean
/// (`(4.10 - 3.68) / 0.189`).
pub(crate) const PREPEND_EXTRA: &[(u8, u32)] =
    &[(1, 40), (2, 25), (3, 17), (4, 10), (5, 5), (6, 3)];

/// Longest AS path generated, counting prepends (the measured tail beyond
/// 12 is 0.5 % and is folded into 12).
pub(crate) const MAX_PATH_LEN: usize = 12;

/// Share of RIB entries carrying COMMUNITIES: 69.48 %.
pub(crate) const COMMUNITY_SHARE: f64 = 0.6948;
/// Share carrying LARGE_COMMUNITY: 6.93 %.
pub(crate) const LARGE_COMMUNITY_SHARE: f64 = 0.0693;
/// Share carrying MULTI_EXIT_DISC: 29.78 %.
pub(crate) const MED_SHARE: f64 = 0.2978;

/// Communities per route (given it has some) → per mille of those routes.
pub(crate) const COMMUNITY_COUNT: &[(u8, u32)] = &[
    (1, 219),
    (2, 131),
    (3, 64),
    (4, 96),
    (5, 104),
    (6, 33),
    (7, 89),
    (8, 51),
    (9, 40),
    (10, 15),
    (11, 45),
    (12, 23),
    (13, 19),
    (14, 22),
    (15, 19),
    (16, 6),
    (17, 8),
];

/// ORIGIN code → RIB entries: IGP 648,507, EGP 302, INCOMPLETE 30,487.
pub(crate) const ORIGIN_CODES: &[(u8, u32)] = &[(0, 648_507), (1, 302), (2, 30_487)];

/// A weighted table prepared for sampling: cumulative weights, searched by
/// bisection (the tables are short).
#[derive(Debug, Clone)]
pub(crate) struct Weighted<T> {
    values: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Copy> Weighted<T> {
    /// Prepares `table`; zero-weight entries are never drawn.
    pub(crate) fn new(table: &[(T, u32)]) -> Self {
        let mut total = 0u64;
        let mut values = Vec::with_capacity(table.len());
        let mut cumulative = Vec::with_capacity(table.len());
        for &(v, w) in table {
            total += u64::from(w);
            values.push(v);
            cumulative.push(total);
        }
        Self { values, cumulative }
    }

    /// Sum of all weights.
    pub(crate) fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Draws one value with probability proportional to its weight.
    pub(crate) fn sample(&self, rng: &mut Pcg64Mcg) -> T {
        let total = self.total().max(1);
        let x = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        // The tables are non-empty constants; `x < total` keeps `i` in range.
        self.values[i.min(self.values.len() - 1)]
    }

    /// The table's values and their shares (0..=1), in table order.
    #[cfg(test)]
    pub(crate) fn shares(&self) -> impl Iterator<Item = (T, f64)> + '_ {
        let total = self.total().max(1) as f64;
        let mut prev = 0u64;
        self.values
            .iter()
            .zip(&self.cumulative)
            .map(move |(&v, &c)| {
                let w = c - prev;
                prev = c;
                (v, w as f64 / total)
            })
    }
}
