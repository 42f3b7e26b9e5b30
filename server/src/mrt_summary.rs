//! `rampartctl mrt summary`: a summary of an MRT file (RFC 6396).
//!
//! Reads a plain, gzip or bzip2 MRT file once and reports record types and
//! subtypes, peers (from the PEER_INDEX_TABLE or the BGP4MP / TABLE_DUMP
//! headers) with their route counts, distinct prefixes and routes per
//! address family, announcements and withdrawals of UPDATE files, distinct
//! path attribute sets, decode errors (counted, never fatal) and the parse
//! rate.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use rampart_core::attr::PathAttributes;
use rampart_core::mrt::bgp4mp::subtype as bgp4mp_subtype;
use rampart_core::mrt::table_dump_v2::subtype as td2_subtype;
use rampart_core::mrt::{
    Body, MrtError, MrtReader, Record, Recovery, Route, RouteDecoder, RouteKind, mrt_type,
    open_file,
};
use rampart_core::nlri::Prefix;
use serde::Serialize;

/// How many decode error messages the summary keeps verbatim.
const KEPT_ERRORS: usize = 10;

/// Records between two progress bar refreshes.
const PROGRESS_EVERY: u64 = 4096;

/// Count of one (type, subtype) pair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecordTypeCount {
    /// MRT type code.
    pub mrt_type: u16,
    /// Its name.
    pub type_name: &'static str,
    /// Subtype code.
    pub subtype: u16,
    /// Its name, when known.
    pub subtype_name: &'static str,
    /// Records seen.
    pub count: u64,
}

/// One peer and what it sent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeerSummary {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub asn: u32,
    /// BGP identifier (TABLE_DUMP_V2 peers).
    pub bgp_id: Option<Ipv4Addr>,
    /// RIB entries plus announcements.
    pub routes: u64,
    /// Announcements (UPDATE files).
    pub announcements: u64,
    /// Withdrawals (UPDATE files).
    pub withdrawals: u64,
    /// BGP4MP state change records.
    pub state_changes: u64,
}

/// Counts for one address family.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FamilySummary {
    /// Distinct prefixes seen (announced, in a RIB, or withdrawn).
    pub prefixes: u64,
    /// RIB entries.
    pub rib_entries: u64,
    /// Announced prefixes (counting repeats).
    pub announcements: u64,
    /// Withdrawn prefixes (counting repeats).
    pub withdrawals: u64,
}

/// The whole summary, as printed or serialized with `--json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// The file summarized.
    pub file: String,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Records per (type, subtype), sorted by type then subtype.
    pub record_types: Vec<RecordTypeCount>,
    /// Peers, sorted by address then AS.
    pub peers: Vec<PeerSummary>,
    /// Peers that sent at least one route.
    pub peers_with_routes: u64,
    /// IPv4 counts.
    pub ipv4: FamilySummary,
    /// IPv6 counts.
    pub ipv6: FamilySummary,
    /// RIB entries, all families.
    pub rib_entries: u64,
    /// Announcements, all families.
    pub announcements: u64,
    /// Withdrawals, all families.
    pub withdrawals: u64,
    /// Distinct path attribute sets among RIB entries and announcements.
    pub distinct_attribute_sets: u64,
    /// Decode errors (records or entries that could not be fully decoded).
    pub decode_errors: u64,
    /// Framing errors (the reader resyncs after each).
    pub framing_errors: u64,
    /// The first few error messages.
    pub first_errors: Vec<String>,
    /// TABLE_DUMP records whose Length was 4 bytes short and corrected.
    pub length_corrections: u64,
    /// Wall time (seconds).
    pub elapsed_s: f64,
    /// Records per second.
    pub records_per_s: f64,
    /// Routes (RIB entries, announcements and withdrawals) per second.
    pub routes_per_s: f64,
}

#[derive(Default)]
struct Acc {
    types: BTreeMap<(u16, u16), u64>,
    peers: HashMap<(IpAddr, u32), PeerSummary>,
    prefixes_v4: HashSet<Prefix>,
    prefixes_v6: HashSet<Prefix>,
    ipv4: FamilySummary,
    ipv6: FamilySummary,
    attr_sets: HashSet<u64>,
    last_attrs: Option<Arc<PathAttributes>>,
    decode_errors: u64,
    framing_errors: u64,
    first_errors: Vec<String>,
    routes: u64,
}

impl Acc {
    fn peer(&mut self, addr: IpAddr, asn: u32, bgp_id: Option<Ipv4Addr>) -> &mut PeerSummary {
        self.peers
            .entry((addr, asn))
            .or_insert_with(|| PeerSummary {
                address: addr,
                asn,
                bgp_id,
                routes: 0,
                announcements: 0,
                withdrawals: 0,
                state_changes: 0,
            })
    }

    fn error(&mut self, e: &MrtError, framing: bool) {
        if framing {
            self.framing_errors += 1;
        } else {
            self.decode_errors += 1;
        }
        if self.first_errors.len() < KEPT_ERRORS {
            self.first_errors.push(e.to_string());
        }
    }

    /// Peers named by a record's headers (routes are counted separately).
    fn record_peers(&mut self, rec: &Record<'_>) {
        match rec.decode() {
            Ok(Body::PeerIndexTable(t)) => {
                for p in &t.peers {
                    self.peer(p.addr, p.asn, Some(p.bgp_id));
                }
            }
            Ok(Body::Bgp4mpStateChange(s)) => {
                let p = s.peering;
                self.peer(p.peer_addr, p.peer_as, None).state_changes += 1;
            }
            Ok(Body::Bgp4mpMessage(m)) => {
                self.peer(m.peering.peer_addr, m.peering.peer_as, None);
            }
            Ok(Body::Legacy(l)) => {
                if let Some((addr, asn)) = l.peer() {
                    self.peer(addr, u32::from(asn), None);
                }
            }
            _ => {}
        }
    }

    fn route(&mut self, r: &Route) {
        self.routes += 1;
        let (fam, set) = match r.prefix {
            Prefix::V4(_) => (&mut self.ipv4, &mut self.prefixes_v4),
            Prefix::V6(_) => (&mut self.ipv6, &mut self.prefixes_v6),
        };
        set.insert(r.prefix);
        match r.kind {
            RouteKind::Rib => fam.rib_entries += 1,
            RouteKind::Announce => fam.announcements += 1,
            RouteKind::Withdraw => fam.withdrawals += 1,
        }
        let p = self.peer(r.peer.addr, r.peer.asn, r.peer.bgp_id);
        match r.kind {
            RouteKind::Rib => p.routes += 1,
            RouteKind::Announce => {
                p.routes += 1;
                p.announcements += 1;
            }
            RouteKind::Withdraw => p.withdrawals += 1,
        }
        if r.kind != RouteKind::Withdraw {
            self.attr_set(&r.attrs);
        }
    }

    /// Records the attribute set's hash; prefixes of one UPDATE share one
    /// `Arc`, hashed once.
    fn attr_set(&mut self, attrs: &Arc<PathAttributes>) {
        if self
            .last_attrs
            .as_ref()
            .is_some_and(|l| Arc::ptr_eq(l, attrs))
        {
            return;
        }
        // DefaultHasher::new() has fixed keys: the count is deterministic.
        let mut h = DefaultHasher::new();
        attrs.hash(&mut h);
        self.attr_sets.insert(h.finish());
        self.last_attrs = Some(Arc::clone(attrs));
    }
}

/// A spinner on stderr, only when stderr is a terminal.
fn progress_bar(enabled: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg} ({per_sec})")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    pb.set_style(style);
    Some(pb)
}

/// Reads `path` (plain, `.gz` or `.bz2`) and summarizes it. Framing errors
/// are counted and the reader resyncs; body decode errors are counted.
/// `progress` enables a spinner on stderr when stderr is a terminal.
///
/// # Errors
/// When the file cannot be opened.
pub fn summarize(path: &Path, progress: bool) -> anyhow::Result<Summary> {
    let input = open_file(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = MrtReader::new(input).with_recovery(Recovery::Resync);
    let mut decoder = RouteDecoder::new();
    let mut acc = Acc::default();
    let mut queue = VecDeque::new();
    let pb = progress_bar(progress);
    let start = Instant::now();
    let mut records = 0u64;
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => {
                records += 1;
                *acc.types
                    .entry((rec.header.mrt_type, rec.header.subtype))
                    .or_default() += 1;
                acc.record_peers(&rec);
                decoder.decode(&rec, &mut queue);
            }
            Ok(None) => break,
            Err(e) => acc.error(&e, true),
        }
        for item in queue.drain(..) {
            match item {
                Ok(r) => acc.route(&r),
                Err(e) => acc.error(&e, false),
            }
        }
        if let Some(pb) = pb
            .as_ref()
            .filter(|_| records.is_multiple_of(PROGRESS_EVERY))
        {
            pb.set_message(format!("{records} records, {} routes", acc.routes));
            pb.tick();
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = reader.stats();
    Ok(finish(
        path,
        acc,
        records,
        stats.bytes,
        stats.length_corrections,
        elapsed,
    ))
}

fn finish(
    path: &Path,
    acc: Acc,
    records: u64,
    bytes: u64,
    corrections: u64,
    elapsed: f64,
) -> Summary {
    let mut peers: Vec<PeerSummary> = acc.peers.into_values().collect();
    peers.sort_by_key(|p| (p.address, p.asn));
    let record_types = acc
        .types
        .iter()
        .map(|(&(t, s), &count)| RecordTypeCount {
            mrt_type: t,
            type_name: mrt_type::name(t),
            subtype: s,
            subtype_name: subtype_name(t, s),
            count,
        })
        .collect();
    let mut ipv4 = acc.ipv4;
    ipv4.prefixes = acc.prefixes_v4.len() as u64;
    let mut ipv6 = acc.ipv6;
    ipv6.prefixes = acc.prefixes_v6.len() as u64;
    let rate = |n: u64| {
        if elapsed > 0.0 {
            n as f64 / elapsed
        } else {
            0.0
        }
    };
    Summary {
        file: path.display().to_string(),
        bytes,
        records,
        record_types,
        peers_with_routes: peers
            .iter()
            .filter(|p| p.routes + p.withdrawals > 0)
            .count() as u64,
        peers,
        rib_entries: ipv4.rib_entries + ipv6.rib_entries,
        announcements: ipv4.announcements + ipv6.announcements,
        withdrawals: ipv4.withdrawals + ipv6.withdrawals,
        ipv4,
        ipv6,
        distinct_attribute_sets: acc.attr_sets.len() as u64,
        decode_errors: acc.decode_errors,
        framing_errors: acc.framing_errors,
        first_errors: acc.first_errors,
        length_corrections: corrections,
        elapsed_s: elapsed,
        records_per_s: rate(records),
        routes_per_s: rate(acc.routes),
    }
}

/// A subtype's name for the types this tool knows.
#[must_use]
pub const fn subtype_name(t: u16, s: u16) -> &'static str {
    match t {
        mrt_type::BGP4MP | mrt_type::BGP4MP_ET => bgp4mp_subtype::name(s),
        mrt_type::TABLE_DUMP_V2 => match s {
            td2_subtype::PEER_INDEX_TABLE => "PEER_INDEX_TABLE",
            td2_subtype::RIB_IPV4_UNICAST => "RIB_IPV4_UNICAST",
            td2_subtype::RIB_IPV4_MULTICAST => "RIB_IPV4_MULTICAST",
            td2_subtype::RIB_IPV6_UNICAST => "RIB_IPV6_UNICAST",
            td2_subtype::RIB_IPV6_MULTICAST => "RIB_IPV6_MULTICAST",
            td2_subtype::RIB_GENERIC => "RIB_GENERIC",
            7 => "GEO_PEER_TABLE",
            td2_subtype::RIB_IPV4_UNICAST_ADDPATH => "RIB_IPV4_UNICAST_ADDPATH",
            td2_subtype::RIB_IPV4_MULTICAST_ADDPATH => "RIB_IPV4_MULTICAST_ADDPATH",
            td2_subtype::RIB_IPV6_UNICAST_ADDPATH => "RIB_IPV6_UNICAST_ADDPATH",
            td2_subtype::RIB_IPV6_MULTICAST_ADDPATH => "RIB_IPV6_MULTICAST_ADDPATH",
            td2_subtype::RIB_GENERIC_ADDPATH => "RIB_GENERIC_ADDPATH",
            _ => "UNKNOWN",
        },
        mrt_type::TABLE_DUMP => match s {
            1 => "AFI_IPv4",
            2 => "AFI_IPv6",
            _ => "UNKNOWN",
        },
        mrt_type::BGP => match s {
            0 => "BGP_NULL",
            1 => "BGP_UPDATE",
            2 => "BGP_PREF_UPDATE",
            3 => "BGP_STATE_CHANGE",
            4 => "BGP_SYNC",
            5 => "BGP_OPEN",
            6 => "BGP_NOTIFY",
            7 => "BGP_KEEPALIVE",
            _ => "UNKNOWN",
        },
        _ => "UNKNOWN",
    }
}

/// The human-readable report.
#[must_use]
pub fn render_text(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "file        {}", s.file);
    let _ = writeln!(
        o,
        "records     {} ({} bytes decompressed)",
        s.records, s.bytes
    );
    let _ = writeln!(o, "\nrecord types");
    for t in &s.record_types {
        let name = format!("{}/{}", t.type_name, t.subtype_name);
        let _ = writeln!(
            o,
            "  {:>3}/{:<3} {name:<40} {:>10}",
            t.mrt_type, t.subtype, t.count
        );
    }
    let _ = writeln!(
        o,
        "\nfamily      prefixes  rib-entries  announced  withdrawn"
    );
    for (n, f) in [("ipv4", &s.ipv4), ("ipv6", &s.ipv6)] {
        let _ = writeln!(
            o,
            "  {n:<8} {:>10} {:>12} {:>10} {:>10}",
            f.prefixes, f.rib_entries, f.announcements, f.withdrawals
        );
    }
    let _ = writeln!(
        o,
        "\npeers       {} ({} with routes)",
        s.peers.len(),
        s.peers_with_routes
    );
    let _ = writeln!(
        o,
        "  {:<40} {:>10} {:>10} {:>10} {:>10} {:>6}",
        "address", "AS", "routes", "announced", "withdrawn", "states"
    );
    for p in &s.peers {
        let _ = writeln!(
            o,
            "  {:<40} {:>10} {:>10} {:>10} {:>10} {:>6}",
            p.address.to_string(),
            p.asn,
            p.routes,
            p.announcements,
            p.withdrawals,
            p.state_changes
        );
    }
    let _ = writeln!(
        o,
        "\ndistinct attribute sets  {}",
        s.distinct_attribute_sets
    );
    let _ = writeln!(
        o,
        "errors      {} decode, {} framing, {} TABLE_DUMP lengths corrected",
        s.decode_errors, s.framing_errors, s.length_corrections
    );
    for e in &s.first_errors {
        let _ = writeln!(o, "  {e}");
    }
    let _ = writeln!(
        o,
        "parse rate  {:.0} records/s, {:.0} routes/s ({:.2} s)",
        s.records_per_s, s.routes_per_s, s.elapsed_s
    );
    o
}
