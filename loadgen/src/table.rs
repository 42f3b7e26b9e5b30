//! What the speakers announce: per-speaker feeds of UPDATE messages encoded
//! before the clock starts, and the set of prefixes the monitors expect.
//!
//! ```text
//! TableSpec ──build──> Workload
//!   synth:V4[+V6][:shared][:one-set]
//!                              feeds[i]: chunks of whole UPDATE messages (~64 KiB)
//!   mrt:FILE[:per-peer]        expected: every distinct prefix announced
//!   updates:FILE[:per-peer]    (replay: announced and not withdrawn at the
//!                               end; withdrawn ones must be absent)
//! ```
//!
//! - `synth:V4[+V6]`: the bgperf shape: every speaker announces its own
//!   V4 IPv4 and V6 IPv6 prefixes, disjoint from the others', with realistic
//!   attributes ([`crate::synth`]); the first AS of each path is the
//!   speaker's local AS.
//! - `synth:V4[+V6]:shared`: every speaker announces the same prefixes,
//!   each with its own paths (the compete shape).
//! - `...:one-set`: every speaker announces all its prefixes under one
//!   attribute set, as bgperf's BIRD speakers do (one static protocol
//!   each), which is the shape of the baseline figures in PEERS.md. The
//!   realistic default has a set per three prefixes, and the cost of
//!   interning, encoding and best-path ties grows with them; one set
//!   leaves the route server's per-prefix path (and, with a single
//!   shared set, contention on its reference count) to measure.
//! - `mrt:FILE`: every speaker announces the table of the first peer that
//!   has routes (the peer of the first RIB entry) of a TABLE_DUMP_V2 RIB
//!   dump; `mrt:FILE:per-peer`: speaker *i* announces the
//!   routes of the *i*-th peer of the PEER_INDEX_TABLE (wrapping around when
//!   there are more speakers than peers). Attributes are sent byte for byte
//!   as recorded (4-octet AS_PATH, communities, unknown attributes, their
//!   order); only the abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4 is
//!   rebuilt in full, with the recorded next hop, and placed first.
//! - `updates:FILE[:per-peer]`: an MRT update file (BGP4MP / BGP4MP_ET
//!   UPDATE messages) replayed in recorded order, at recorded or scaled
//!   speed (see [`crate::replay`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use hashbrown::HashMap;
use rampart_core::EncodeCtx;
use rampart_core::attr::{AsPath, NextHop, PathAttributes};
use rampart_core::mrt::{Body, MrtReader};
use rampart_core::msg::update::UpdateBuilder;
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};

use crate::synth::{self, SynthConfig};

/// Target size of one write chunk (whole messages), bytes.
pub const CHUNK_LEN: usize = 64 * 1024;
/// Largest BGP message without Extended Message (RFC 4271 §4.1).
const MAX_MESSAGE_LEN: usize = 4096;
/// Path attribute type codes used here (RFC 4271 §5, RFC 4760).
const ATTR_NEXT_HOP: u8 = 3;
const ATTR_MP_REACH: u8 = 14;
const ATTR_MP_UNREACH: u8 = 15;

/// Where the announced routes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSpec {
    /// Synthetic table (see the module docs).
    Synth {
        /// IPv4 prefixes per speaker.
        v4: usize,
        /// IPv6 prefixes per speaker.
        v6: usize,
        /// All speakers announce the same prefixes (else disjoint sets).
        shared: bool,
        /// Each speaker announces every prefix with one attribute set (else
        /// a realistic set per three prefixes).
        one_set: bool,
        /// RNG seed.
        seed: u64,
    },
    /// A TABLE_DUMP_V2 RIB dump.
    Mrt {
        /// The file (plain, gzip or bzip2).
        path: PathBuf,
        /// Speaker *i* takes peer *i*; else every speaker takes the peer of
        /// the first RIB entry ([`mrt_default_peer`]).
        per_peer: bool,
    },
    /// A BGP4MP / BGP4MP_ET update file, replayed ([`crate::replay`]).
    Updates {
        /// The file (plain, gzip or bzip2).
        path: PathBuf,
        /// Speaker *i* replays the *i*-th peer (in order of first UPDATE);
        /// else every speaker replays the first peer.
        per_peer: bool,
    },
}

/// Why a table could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The `--table` argument does not parse.
    #[error(
        "bad table spec {0:?}: expected synth:V4[+V6][:shared][:one-set], mrt:FILE[:per-peer] or updates:FILE[:per-peer]"
    )]
    Spec(String),
    /// The synthetic generator refused the sizes.
    #[error(transparent)]
    Synth(#[from] synth::SynthError),
    /// The MRT file could not be read.
    #[error("{path}: {msg}")]
    Mrt {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// A route could not be encoded.
    #[error("encoding: {0}")]
    Encode(String),
}

impl std::str::FromStr for TableSpec {
    type Err = TableError;

    fn from_str(s: &str) -> Result<Self, TableError> {
        let bad = || TableError::Spec(s.to_string());
        if let Some(rest) = s.strip_prefix("synth:") {
            let (rest, one_set) = match rest.strip_suffix(":one-set") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            let (sizes, shared) = match rest.strip_suffix(":shared") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            let (v4, v6) = sizes.split_once('+').unwrap_or((sizes, "0"));
            let v4 = v4.trim().parse().map_err(|_| bad())?;
            let v6 = v6.trim().parse().map_err(|_| bad())?;
            return Ok(Self::Synth {
                v4,
                v6,
                shared,
                one_set,
                seed: 1,
            });
        }
        for (prefix, updates) in [("mrt:", false), ("updates:", true)] {
            let Some(rest) = s.strip_prefix(prefix) else {
                continue;
            };
            let (path, per_peer) = match rest.strip_suffix(":per-peer") {
                Some(p) => (p, true),
                None => (rest, false),
            };
            if path.is_empty() {
                return Err(bad());
            }
            let path = PathBuf::from(path);
            return Ok(if updates {
                Self::Updates { path, per_peer }
            } else {
                Self::Mrt { path, per_peer }
            });
        }
        Err(bad())
    }
}

/// One speaker's encoded announcements.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// UPDATE messages (End-of-RIB last), packed into chunks of whole
    /// messages of about [`CHUNK_LEN`] bytes.
    pub chunks: Vec<Bytes>,
    /// Number of messages in `chunks`.
    pub messages: usize,
    /// Bytes in `chunks`.
    pub bytes: usize,
    /// The distinct prefixes announced, in announcement order.
    pub prefixes: Vec<Prefix>,
    /// Routes left out (no usable next hop, other families).
    pub skipped: usize,
    /// Replay: prefixes this feed announced or withdrew that it does not
    /// hold at the end (monitors must not hold them unless another feed
    /// does).
    pub withdrawn: Vec<Prefix>,
    /// Replay at recorded speed: the recorded offset of each chunk's
    /// messages from the first recorded UPDATE (scaled by the run); empty:
    /// write as fast as the target reads.
    pub offsets: Vec<std::time::Duration>,
}

/// How many prefixes after each recent answer [`Expected::index_near`]
/// compares before it looks the prefix up.
pub const NEAR: usize = 4;

/// The last few answers of [`Expected::index_near`] (4 indices): where
/// the next prefixes of a stream likely are. Only a hint: any value
/// gives the same answers.
#[derive(Debug, Clone, Default)]
pub struct Near {
    recent: [u32; 4],
    /// The entry of `recent` a lookup replaces next.
    next: usize,
}

/// The prefixes monitors must hold: every distinct prefix of every feed;
/// and (replay) the prefixes they must not hold: withdrawn by a feed and
/// held by none at the end.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    index: HashMap<Prefix, u32, foldhash::fast::FixedState>,
    prefixes: Vec<Prefix>,
    absent: HashMap<Prefix, u32, foldhash::fast::FixedState>,
    absent_prefixes: Vec<Prefix>,
}

impl Expected {
    /// The union of the feeds' prefixes; the absent set is the union of
    /// their `withdrawn` minus that.
    #[must_use]
    pub fn from_feeds(feeds: &[Feed]) -> Self {
        let mut e = Self::default();
        for p in feeds.iter().flat_map(|f| &f.prefixes) {
            let next = e.prefixes.len();
            if let hashbrown::hash_map::Entry::Vacant(v) = e.index.entry(*p) {
                v.insert(u32::try_from(next).unwrap_or(u32::MAX));
                e.prefixes.push(*p);
            }
        }
        for p in feeds.iter().flat_map(|f| &f.withdrawn) {
            if e.index.contains_key(p) {
                continue;
            }
            let next = e.absent_prefixes.len();
            if let hashbrown::hash_map::Entry::Vacant(v) = e.absent.entry(*p) {
                v.insert(u32::try_from(next).unwrap_or(u32::MAX));
                e.absent_prefixes.push(*p);
            }
        }
        e
    }

    /// Index of `p` among the prefixes that must be absent.
    #[must_use]
    pub fn absent_index(&self, p: &Prefix) -> Option<u32> {
        self.absent.get(p).copied()
    }

    /// Bits a monitor keeps: expected plus must-be-absent prefixes.
    #[must_use]
    pub fn bit_len(&self) -> usize {
        self.prefixes.len() + self.absent_prefixes.len()
    }

    /// Number of prefixes that must be absent.
    #[must_use]
    pub fn absent_len(&self) -> usize {
        self.absent_prefixes.len()
    }

    /// The must-be-absent prefix at index `i`.
    #[must_use]
    pub fn absent_prefix(&self, i: usize) -> Option<Prefix> {
        self.absent_prefixes.get(i).copied()
    }

    /// Index of `p` in the set, if expected.
    #[must_use]
    pub fn index(&self, p: &Prefix) -> Option<u32> {
        self.index.get(p).copied()
    }

    /// [`index`](Self::index), looking first at the [`NEAR`] prefixes
    /// after each of `near`'s recent answers, and remembering the answer
    /// there. A monitor gets a table back largely in the order the
    /// speakers sent it, in runs from each speaker, so the next prefix is
    /// usually a few places after one of the last few: comparing a few
    /// prefixes costs less than a lookup in a table of a million, which
    /// misses the cache. Any `near` gives the same answers.
    pub fn index_near(&self, p: &Prefix, near: &mut Near) -> Option<u32> {
        for cursor in &mut near.recent {
            let from = *cursor as usize + 1;
            let to = from.saturating_add(NEAR).min(self.prefixes.len());
            if let Some(k) = self
                .prefixes
                .get(from..to)
                .and_then(|w| w.iter().position(|q| q == p))
            {
                let i = u32::try_from(from + k).ok()?;
                *cursor = i;
                return Some(i);
            }
        }
        let i = self.index(p)?;
        if let Some(oldest) = near.recent.get_mut(near.next) {
            *oldest = i;
        }
        near.next = (near.next + 1) % near.recent.len();
        Some(i)
    }

    /// Number of expected prefixes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// True when nothing is expected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The prefix at index `i`.
    #[must_use]
    pub fn prefix(&self, i: usize) -> Option<Prefix> {
        self.prefixes.get(i).copied()
    }
}

/// Per-speaker parameters the feeds depend on.
#[derive(Debug, Clone)]
pub struct SpeakerIdentity {
    /// Local AS of the speaker.
    pub asn: u32,
    /// Its session source address.
    pub source: IpAddr,
}

/// How next hops are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopMode {
    /// Keep the table's next hop (MRT: as recorded; synth: the speaker's
    /// address for IPv4 routes, 2001:db8::/32 per speaker for IPv6).
    #[default]
    Keep,
    /// The speaker's own source address (IPv4 routes; IPv6 routes get the
    /// IPv4-mapped form when the session is IPv4).
    OwnAddress,
}

/// Builds every speaker's feed.
///
/// # Errors
/// [`TableError`] when the table cannot be read or encoded.
pub fn build_feeds(
    spec: &TableSpec,
    speakers: &[SpeakerIdentity],
    next_hop: NextHopMode,
) -> Result<Vec<Feed>, TableError> {
    build_feeds_with_paths(spec, speakers, next_hop, 0)
}

/// Builds every speaker's feed; with `path_ids` > 0 every prefix is
/// announced `path_ids` times, with path identifiers 1..=`path_ids`
/// (ADD-PATH send, RFC 7911 §3; synthetic tables only).
///
/// # Errors
/// [`TableError`] when the table cannot be read or encoded, or path ids
/// are asked of an MRT table.
pub fn build_feeds_with_paths(
    spec: &TableSpec,
    speakers: &[SpeakerIdentity],
    next_hop: NextHopMode,
    path_ids: u32,
) -> Result<Vec<Feed>, TableError> {
    match spec {
        TableSpec::Synth {
            v4,
            v6,
            shared,
            one_set,
            seed,
        } => {
            // One set per speaker: the generator keeps at least one group.
            let attr_share = if *one_set {
                0.0
            } else {
                SynthConfig::default().distinct_attr_share
            };
            synth_feeds(
                *v4,
                *v6,
                *shared,
                *seed,
                attr_share,
                speakers,
                (next_hop, path_ids),
            )
        }
        TableSpec::Mrt { .. } if path_ids > 0 => Err(TableError::Spec(
            "path ids (ADD-PATH send) need a synth: table".into(),
        )),
        TableSpec::Mrt { path, per_peer } => mrt_feeds(path, *per_peer, speakers, next_hop),
        TableSpec::Updates { .. } if path_ids > 0 => Err(TableError::Spec(
            "path ids (ADD-PATH send) need a synth: table".into(),
        )),
        TableSpec::Updates { path, per_peer } => {
            crate::replay::build_feeds(path, *per_peer, speakers, next_hop, true).map(|r| r.feeds)
        }
    }
}

/// The feeds of a `synth:` table ([`TableSpec::Synth`]), with
/// `attr_share` distinct attribute sets per prefix
/// ([`SynthConfig::distinct_attr_share`]).
fn synth_feeds(
    v4: usize,
    v6: usize,
    shared: bool,
    seed: u64,
    attr_share: f64,
    speakers: &[SpeakerIdentity],
    (next_hop, path_ids): (NextHopMode, u32),
) -> Result<Vec<Feed>, TableError> {
    let n = speakers.len().max(1);
    let mut ctx = EncodeCtx::modern();
    if path_ids > 0 {
        ctx.add_path = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
            .into_iter()
            .collect();
    }
    let nlri = |p: Prefix| {
        (1..=path_ids.max(1)).map(move |id| Nlri {
            path_id: (path_ids > 0).then_some(id),
            prefix: p,
        })
    };
    let (gen_speakers, scale) = if shared { (n, 1) } else { (1, n) };
    let cfg = SynthConfig {
        ipv4: v4 * scale,
        ipv6: v6 * scale,
        speakers: gen_speakers,
        seed,
        distinct_attr_share: attr_share,
        ..SynthConfig::default()
    };
    let table = synth::generate(&cfg)?;
    let mut feeds = Vec::with_capacity(speakers.len());
    let common_routes = if shared {
        None
    } else {
        table.speaker_routes(0)
    };
    for (i, sp) in speakers.iter().enumerate() {
        let own;
        let routes = if let Some(r) = &common_routes {
            r
        } else {
            own = table
                .speaker_routes(i)
                .ok_or_else(|| TableError::Encode(format!("no synthetic speaker {i}")))?;
            &own
        };
        // Disjoint sets: speaker i takes the i-th slice of each family
        // (prefixes are sorted IPv4 first).
        let prefixes = table.prefixes();
        let v4_total = v4 * scale;
        let idx: Vec<usize> = if shared {
            (0..prefixes.len()).collect()
        } else {
            (i * v4..(i + 1) * v4)
                .chain(v4_total + i * v6..v4_total + (i + 1) * v6)
                .collect()
        };
        let mut groups: HashMap<usize, Vec<Prefix>> = HashMap::new();
        let mut order = Vec::new();
        for k in idx {
            let (Some(p), Some(g)) = (prefixes.get(k), table.attr_index(k)) else {
                continue;
            };
            groups
                .entry(g)
                .or_insert_with(|| {
                    order.push(g);
                    Vec::new()
                })
                .push(*p);
        }
        let mut b = UpdateBuilder::new(ctx.clone());
        let mut announced = Vec::new();
        for g in order {
            let (Some(attrs), Some(ps)) = (routes.attr_sets().get(g), groups.get(&g)) else {
                continue;
            };
            let attrs = speaker_attrs(attrs, sp, next_hop);
            let family = if matches!(ps.first(), Some(Prefix::V6(_))) {
                AfiSafi::IPV6_UNICAST
            } else {
                AfiSafi::IPV4_UNICAST
            };
            b.announce(&attrs, family, ps.iter().flat_map(|p| nlri(*p)))
                .map_err(|e| TableError::Encode(e.to_string()))?;
            announced.extend_from_slice(ps);
        }
        let mut msgs: Vec<Bytes> = b.into_pdu_iter().collect();
        push_end_of_rib(&mut msgs, v6 > 0)?;
        feeds.push(pack(msgs, announced, 0));
    }
    Ok(feeds)
}

/// A synthetic attribute set as speaker `sp` announces it: its AS first;
/// the generator's next hops are 198.18.0.x, which may be the target's own
/// address in a benchmark namespace, so IPv4 routes always take the
/// speaker's address (as bgperf's speakers do), IPv6 routes only when asked.
fn speaker_attrs(a: &PathAttributes, sp: &SpeakerIdentity, mode: NextHopMode) -> PathAttributes {
    let mut a = a.clone();
    set_first_as(&mut a.as_path, sp.asn);
    let v4 = matches!(a.next_hop, Some(NextHop::V4(_)) | None);
    if mode == NextHopMode::OwnAddress || (v4 && sp.source.is_ipv4()) {
        a.next_hop = Some(own_next_hop(sp.source, a.next_hop));
    }
    a
}

/// Replaces the first AS of `path` by `asn` (prepends it to an empty path).
fn set_first_as(path: &mut AsPath, asn: u32) {
    let mut segments = path.to_segments();
    match segments.first_mut().and_then(|s| s.asns.first_mut()) {
        Some(first) => {
            *first = asn;
            *path = AsPath::from_segments(segments);
        }
        None => *path = AsPath::from_sequence([asn]),
    }
}

pub(crate) fn own_next_hop(source: IpAddr, old: Option<NextHop>) -> NextHop {
    match (source, old) {
        (IpAddr::V4(a), Some(NextHop::V6 { .. })) => NextHop::V6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        },
        (IpAddr::V4(a), _) => NextHop::V4(a),
        (IpAddr::V6(a), _) => NextHop::V6 {
            global: a,
            link_local: None,
        },
    }
}

pub(crate) fn push_end_of_rib(msgs: &mut Vec<Bytes>, v6: bool) -> Result<(), TableError> {
    let ctx = EncodeCtx::modern();
    let enc = |f| UpdateBuilder::end_of_rib(f, &ctx).map_err(|e| TableError::Encode(e.to_string()));
    msgs.push(enc(AfiSafi::IPV4_UNICAST)?);
    if v6 {
        msgs.push(enc(AfiSafi::IPV6_UNICAST)?);
    }
    Ok(())
}

/// Packs messages into chunks of about [`CHUNK_LEN`] bytes.
#[must_use]
pub fn pack(msgs: Vec<Bytes>, prefixes: Vec<Prefix>, skipped: usize) -> Feed {
    let mut feed = Feed {
        messages: msgs.len(),
        prefixes,
        skipped,
        ..Feed::default()
    };
    let mut cur = BytesMut::with_capacity(CHUNK_LEN + MAX_MESSAGE_LEN);
    for m in msgs {
        feed.bytes += m.len();
        cur.put_slice(&m);
        if cur.len() >= CHUNK_LEN {
            feed.chunks.push(cur.split().freeze());
        }
    }
    if !cur.is_empty() {
        feed.chunks.push(cur.freeze());
    }
    feed
}

/// One MRT peer's routes grouped by raw attribute bytes, in first-seen order.
#[derive(Debug, Default)]
struct PeerRoutes {
    groups: Vec<(Bytes, Vec<Prefix>)>,
    by_attrs: HashMap<Bytes, usize>,
    seen: hashbrown::HashSet<Prefix>,
}

impl PeerRoutes {
    fn add(&mut self, prefix: Prefix, attrs: &[u8]) {
        // ADD-PATH dumps can hold several paths per prefix: keep the first.
        if !self.seen.insert(prefix) {
            return;
        }
        let g = match self.by_attrs.get(attrs) {
            Some(&g) => g,
            None => {
                let b = Bytes::copy_from_slice(attrs);
                self.groups.push((b.clone(), Vec::new()));
                self.by_attrs.insert(b, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        if let Some((_, ps)) = self.groups.get_mut(g) {
            ps.push(prefix);
        }
    }
}

/// Reads the routes of the wanted peers (indices) from a TABLE_DUMP_V2 file.
fn read_mrt_peers(path: &Path, wanted: &[u16]) -> Result<Vec<PeerRoutes>, TableError> {
    let err = |msg: String| TableError::Mrt {
        path: path.to_path_buf(),
        msg,
    };
    let input = rampart_core::mrt::open_file(path).map_err(|e| err(e.to_string()))?;
    let mut reader = MrtReader::new(input);
    let mut peers: Vec<PeerRoutes> = wanted.iter().map(|_| PeerRoutes::default()).collect();
    let mut slot: HashMap<u16, Vec<usize>> = HashMap::new();
    for (k, w) in wanted.iter().enumerate() {
        slot.entry(*w).or_default().push(k);
    }
    let mut saw_peer_table = false;
    // Bounded by the file: each call consumes a record or ends.
    while let Some(rec) = reader.next_record().map_err(|e| err(e.to_string()))? {
        match rec.decode() {
            Ok(Body::PeerIndexTable(_)) => saw_peer_table = true,
            Ok(Body::Rib(rib)) => {
                let fam = rib.family;
                if fam != AfiSafi::IPV4_UNICAST && fam != AfiSafi::IPV6_UNICAST {
                    continue;
                }
                for entry in rib.entries().flatten() {
                    if let Some(ks) = slot.get(&entry.peer_index) {
                        for &k in ks {
                            if let Some(p) = peers.get_mut(k) {
                                p.add(rib.prefix, entry.attrs);
                            }
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    if !saw_peer_table {
        return Err(err(
            "no TABLE_DUMP_V2 PEER_INDEX_TABLE: not a RIB dump".into()
        ));
    }
    Ok(peers)
}

/// The peer `mrt:FILE` replays: the peer of the first RIB entry (RFC 6396
/// dumps often list peers without routes first, e.g. the collector).
///
/// # Errors
/// When the file cannot be read or holds no RIB entry.
pub fn mrt_default_peer(path: &Path) -> Result<u16, TableError> {
    let err = |msg: String| TableError::Mrt {
        path: path.to_path_buf(),
        msg,
    };
    let input = rampart_core::mrt::open_file(path).map_err(|e| err(e.to_string()))?;
    let mut reader = MrtReader::new(input);
    while let Some(rec) = reader.next_record().map_err(|e| err(e.to_string()))? {
        if let Ok(Body::Rib(rib)) = rec.decode()
            && let Some(Ok(e)) = rib.entries().next()
        {
            return Ok(e.peer_index);
        }
    }
    Err(err("no RIB entry".into()))
}

/// Number of peers in the PEER_INDEX_TABLE of `path`.
///
/// # Errors
/// When the file cannot be read or has no peer table.
pub fn mrt_peer_count(path: &Path) -> Result<usize, TableError> {
    mrt_peer_asns(path).map(|v| v.len())
}

/// The AS of each peer in the PEER_INDEX_TABLE of `path`, in order.
///
/// # Errors
/// When the file cannot be read or has no peer table.
pub fn mrt_peer_asns(path: &Path) -> Result<Vec<u32>, TableError> {
    let err = |msg: String| TableError::Mrt {
        path: path.to_path_buf(),
        msg,
    };
    let input = rampart_core::mrt::open_file(path).map_err(|e| err(e.to_string()))?;
    let mut reader = MrtReader::new(input);
    while let Some(rec) = reader.next_record().map_err(|e| err(e.to_string()))? {
        if let Ok(Body::PeerIndexTable(t)) = rec.decode() {
            return Ok(t.peers.iter().map(|p| p.asn).collect());
        }
    }
    Err(err("no PEER_INDEX_TABLE".into()))
}

fn mrt_feeds(
    path: &Path,
    per_peer: bool,
    speakers: &[SpeakerIdentity],
    next_hop: NextHopMode,
) -> Result<Vec<Feed>, TableError> {
    let wanted: Vec<u16> = if per_peer {
        let count = mrt_peer_count(path)?.max(1);
        (0..speakers.len())
            .map(|i| u16::try_from(i % count).unwrap_or(0))
            .collect()
    } else {
        vec![mrt_default_peer(path)?; speakers.len()]
    };
    let peers = read_mrt_peers(path, &wanted)?;
    speakers
        .iter()
        .zip(peers)
        .map(|(sp, routes)| mrt_feed(&routes, sp, next_hop))
        .collect()
}

fn mrt_feed(
    routes: &PeerRoutes,
    sp: &SpeakerIdentity,
    next_hop: NextHopMode,
) -> Result<Feed, TableError> {
    let mut msgs = Vec::new();
    let mut announced = Vec::new();
    let mut skipped = 0;
    let mut v6 = false;
    for (attrs, prefixes) in &routes.groups {
        let (v4s, v6s): (Vec<Prefix>, Vec<Prefix>) =
            prefixes.iter().partition(|p| matches!(p, Prefix::V4(_)));
        if !v4s.is_empty() {
            match ipv4_attrs(attrs, sp, next_hop) {
                Some(a) => {
                    encode_raw(&a, None, &v4s, &mut msgs)?;
                    announced.extend_from_slice(&v4s);
                }
                None => skipped += v4s.len(),
            }
        }
        if !v6s.is_empty() {
            match ipv6_attrs(attrs, sp, next_hop) {
                Some((nh, rest)) => {
                    encode_raw(&rest, Some(&nh), &v6s, &mut msgs)?;
                    announced.extend_from_slice(&v6s);
                    v6 = true;
                }
                None => skipped += v6s.len(),
            }
        }
    }
    push_end_of_rib(&mut msgs, v6)?;
    Ok(pack(msgs, announced, skipped))
}

/// Walks raw path attributes: (flags, type, value) of each, or `None` when
/// the bytes are malformed.
fn walk_attrs(mut b: &[u8]) -> Option<Vec<(u8, u8, &[u8])>> {
    let mut out = Vec::new();
    // Bounded: each step consumes at least 3 bytes.
    while !b.is_empty() {
        let (&flags, rest) = b.split_first()?;
        let (&code, rest) = rest.split_first()?;
        let (len, rest) = if flags & 0x10 != 0 {
            let (l, r) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*l)), r)
        } else {
            let (&l, r) = rest.split_first()?;
            (usize::from(l), r)
        };
        let (value, rest) = rest.split_at_checked(len)?;
        out.push((flags, code, value));
        b = rest;
    }
    Some(out)
}

/// Re-emits one attribute with its original flags (extended length kept).
fn put_attr(out: &mut BytesMut, flags: u8, code: u8, value: &[u8]) {
    out.put_u8(flags);
    out.put_u8(code);
    if flags & 0x10 != 0 {
        out.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
    } else {
        out.put_u8(u8::try_from(value.len()).unwrap_or(u8::MAX));
    }
    out.put_slice(value);
}

/// IPv4 routes: the recorded attributes minus MP_(UN)REACH, with NEXT_HOP
/// kept or replaced. `None` without a NEXT_HOP.
fn ipv4_attrs(raw: &[u8], sp: &SpeakerIdentity, mode: NextHopMode) -> Option<Bytes> {
    let attrs = walk_attrs(raw)?;
    if !attrs.iter().any(|(_, c, _)| *c == ATTR_NEXT_HOP) {
        return None;
    }
    let mut out = BytesMut::with_capacity(raw.len());
    for (flags, code, value) in attrs {
        match code {
            ATTR_MP_REACH | ATTR_MP_UNREACH => {}
            ATTR_NEXT_HOP => match (mode, sp.source) {
                (NextHopMode::OwnAddress, IpAddr::V4(a)) => {
                    put_attr(&mut out, flags, code, &a.octets());
                }
                _ => put_attr(&mut out, flags, code, value),
            },
            _ => put_attr(&mut out, flags, code, value),
        }
    }
    Some(out.freeze())
}

/// IPv6 routes: the next hop of the (abbreviated or full) MP_REACH_NLRI and
/// the other attributes. `None` without a usable next hop.
fn ipv6_attrs(raw: &[u8], sp: &SpeakerIdentity, mode: NextHopMode) -> Option<(Bytes, Bytes)> {
    let attrs = walk_attrs(raw)?;
    let (_, _, mp) = attrs.iter().find(|(_, c, _)| *c == ATTR_MP_REACH)?;
    let (&nh_len, rest) = mp.split_first()?;
    let nh = if usize::from(nh_len) == rest.len() {
        // RFC 6396 §4.3.4 abbreviated form: length and next hop only.
        rest
    } else {
        // Full form: AFI(2) SAFI(1) length next hop reserved NLRI.
        let (&len, r) = mp.get(3..)?.split_first()?;
        r.get(..usize::from(len))?
    };
    if nh.len() != 16 && nh.len() != 32 {
        return None;
    }
    let nh = match mode {
        NextHopMode::Keep => Bytes::copy_from_slice(nh),
        NextHopMode::OwnAddress => {
            let a: Ipv6Addr = match sp.source {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            Bytes::copy_from_slice(&a.octets())
        }
    };
    let mut out = BytesMut::with_capacity(raw.len());
    for (flags, code, value) in attrs {
        if code != ATTR_MP_REACH && code != ATTR_MP_UNREACH && code != ATTR_NEXT_HOP {
            put_attr(&mut out, flags, code, value);
        }
    }
    Some((nh, out.freeze()))
}

/// Encodes UPDATEs of `prefixes` with raw attributes `attrs`: IPv4 in the
/// NLRI field, IPv6 in a full MP_REACH_NLRI (next hop `mp_nh`) written first.
fn encode_raw(
    attrs: &[u8],
    mp_nh: Option<&Bytes>,
    prefixes: &[Prefix],
    out: &mut Vec<Bytes>,
) -> Result<(), TableError> {
    // Header 19, withdrawn length 2, attribute length 2; MP_REACH header
    // (4 with extended length) + AFI/SAFI 3 + nh length 1 + nh + reserved 1.
    let mp_fixed = mp_nh.map_or(0, |nh| 4 + 3 + 1 + nh.len() + 1);
    let fixed = 19 + 2 + 2 + attrs.len() + mp_fixed;
    if fixed + 17 > MAX_MESSAGE_LEN {
        return Err(TableError::Encode(format!(
            "attributes of {} bytes leave no room for a prefix",
            attrs.len()
        )));
    }
    let room = MAX_MESSAGE_LEN - fixed;
    let mut pos = 0;
    // Bounded: each message takes at least one prefix.
    while pos < prefixes.len() {
        let mut used = 0;
        let mut end = pos;
        while let Some(p) = prefixes.get(end) {
            if used + p.wire_len() > room {
                break;
            }
            used += p.wire_len();
            end += 1;
        }
        let chunk = prefixes.get(pos..end).unwrap_or_default();
        let mut m = BytesMut::with_capacity(fixed + used);
        m.put_slice(&[0xff; 16]);
        m.put_u16(u16::try_from(fixed + used).unwrap_or(u16::MAX));
        m.put_u8(2);
        m.put_u16(0);
        let attr_len = attrs.len() + mp_fixed + if mp_nh.is_some() { used } else { 0 };
        m.put_u16(u16::try_from(attr_len).unwrap_or(u16::MAX));
        if let Some(nh) = mp_nh {
            m.put_u8(0x80 | 0x10);
            m.put_u8(ATTR_MP_REACH);
            m.put_u16(u16::try_from(3 + 1 + nh.len() + 1 + used).unwrap_or(u16::MAX));
            m.put_u16(2);
            m.put_u8(1);
            m.put_u8(u8::try_from(nh.len()).unwrap_or(16));
            m.put_slice(nh);
            m.put_u8(0);
            for p in chunk {
                p.encode(&mut m);
            }
            m.put_slice(attrs);
        } else {
            m.put_slice(attrs);
            for p in chunk {
                p.encode(&mut m);
            }
        }
        out.push(m.freeze());
        pos = end;
    }
    Ok(())
}

/// The default source address of speaker `i` given the first one.
#[must_use]
pub fn nth_address(base: IpAddr, i: usize) -> IpAddr {
    match base {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
            u32::from(a).wrapping_add(u32::try_from(i).unwrap_or(0)),
        )),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(i as u128))),
    }
}

#[cfg(test)]
mod tests;
