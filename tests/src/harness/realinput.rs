//! Real MRT input replayed through rampartd: what each MRT peer holds at
//! the end of a file, an independent RFC 4271 §9.1.2.2 reference of the
//! path a route server must pick among them, and BIRD's table read back
//! from its own MRT dump (`birdc mrt dump`), for per-prefix comparison.
//!
//! ```text
//! MRT file ──read_final_tables──> per peer: prefix -> attributes
//!     │                                   │ Candidate per speaker
//!     └─ rampart-loadgen ─> rampartd ─> BIRD     rfc4271_best ──> expected path
//!                                        │ birdc mrt dump
//!                                        └──> bird_mrt_table ──> got path ── diff_route
//! ```

use std::collections::{HashMap, HashSet};
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rampart_core::DecodeCtx;
use rampart_core::attr::{
    MpReachForm, NextHop, PathAttributes, SegmentType, decode_path_attributes,
};
use rampart_core::mrt::table_dump_v2::{PeerEntry, PeerIndexTable, RibEntry};
use rampart_core::mrt::{self, MrtReader, MrtRoutes, MrtWriter, RibRoute, RouteKind};
use rampart_core::nlri::Prefix;

use super::{Bird, wait_for};

/// Prefix → attributes.
pub type Table = HashMap<Prefix, Arc<PathAttributes>>;

/// What one MRT peer holds once every record of a file is applied.
#[derive(Debug, Clone)]
pub struct InputPeer {
    /// The peer as the MRT file names it.
    pub peer: mrt::PeerInfo,
    /// Its routes: RIB entries and announcements, minus later withdrawals.
    pub routes: Table,
}

/// Reads `path` (plain, .gz or .bz2) and returns each peer's final table:
/// for TABLE_DUMP_V2 files every peer of the PEER_INDEX_TABLE in its order
/// (also those without routes), otherwise the peers in order of first
/// appearance. Records apply in file order: an announcement
/// replaces the peer's earlier path for the prefix, a withdrawal removes it.
/// Routes with decode errors are skipped and counted in the second value.
///
/// # Errors
/// When the file cannot be opened or its framing is broken.
pub fn read_final_tables(path: &Path) -> Result<(Vec<InputPeer>, usize), String> {
    let file = mrt::open_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut peers: Vec<InputPeer> = Vec::new();
    let mut index: HashMap<(IpAddr, u32, Option<u16>), usize> = HashMap::new();
    let mut errors = 0usize;
    let mut routes = MrtRoutes::new(MrtReader::new(file));
    for item in routes.by_ref() {
        let Ok(r) = item else {
            errors += 1;
            continue;
        };
        let key = (r.peer.addr, r.peer.asn, r.peer.index);
        let i = *index.entry(key).or_insert_with(|| {
            peers.push(InputPeer {
                peer: r.peer,
                routes: HashMap::new(),
            });
            peers.len() - 1
        });
        let Some(p) = peers.get_mut(i) else { continue };
        match r.kind {
            RouteKind::Rib | RouteKind::Announce => {
                p.routes.insert(r.prefix, r.attrs);
            }
            RouteKind::Withdraw => {
                p.routes.remove(&r.prefix);
            }
        }
    }
    let Some(table) = routes.peer_table() else {
        return Ok((peers, errors));
    };
    // A RIB dump: every peer of the PEER_INDEX_TABLE, in its order, also
    // the ones without routes (speaker i replays peer i).
    let mut by_index: HashMap<u16, InputPeer> = peers
        .into_iter()
        .filter_map(|p| Some((p.peer.index?, p)))
        .collect();
    let all = table
        .peers
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let i = u16::try_from(i).ok();
            i.and_then(|i| by_index.remove(&i))
                .unwrap_or_else(|| InputPeer {
                    peer: mrt::PeerInfo {
                        addr: e.addr,
                        asn: e.asn,
                        bgp_id: Some(e.bgp_id),
                        index: i,
                    },
                    routes: HashMap::new(),
                })
        })
        .collect();
    Ok((all, errors))
}

/// Writes `peers`' tables as a TABLE_DUMP_V2 RIB dump (one
/// PEER_INDEX_TABLE in `peers` order, then one RIB record per prefix, in
/// prefix order) to the plain file `dst`, keeping only the first
/// `max_prefixes` prefixes of the union when set: what rampart-loadgen's
/// `mrt:FILE` tables read, made from any MRT input (an UPDATE stream
/// included). Returns the number of prefixes written.
///
/// # Errors
/// When writing fails or an attribute set cannot be encoded.
pub fn write_rib_dump(
    peers: &[InputPeer],
    dst: &Path,
    max_prefixes: Option<usize>,
) -> Result<usize, String> {
    let err = |e: &dyn std::fmt::Display| format!("writing {}: {e}", dst.display());
    let mut prefixes: Vec<Prefix> = peers
        .iter()
        .flat_map(|p| p.routes.keys().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    prefixes.sort_unstable();
    prefixes.truncate(max_prefixes.unwrap_or(usize::MAX));
    let table = PeerIndexTable {
        collector_id: Ipv4Addr::new(192, 0, 2, 1),
        view_name: String::new(),
        peers: peers
            .iter()
            .map(|p| PeerEntry {
                bgp_id: p.peer.bgp_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
                addr: p.peer.addr,
                asn: p.peer.asn,
                as4: true,
            })
            .collect(),
    };
    let out = std::fs::File::create(dst).map_err(|e| err(&e))?;
    let mut w = MrtWriter::new(BufWriter::new(out));
    w.write_peer_index_table(0, &table).map_err(|e| err(&e))?;
    for (seq, prefix) in prefixes.iter().enumerate() {
        let routes: Vec<RibRoute<'_>> = peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let attrs = p.routes.get(prefix)?;
                Some(RibRoute {
                    peer_index: u16::try_from(i).ok()?,
                    originated: 0,
                    path_id: None,
                    attrs,
                })
            })
            .collect();
        let seq = u32::try_from(seq).unwrap_or(u32::MAX);
        w.write_rib_attrs(0, seq, prefix, &routes)
            .map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))?;
    Ok(prefixes.len())
}

/// Copies the TABLE_DUMP_V2 RIB dump `src` to the plain file `dst` with
/// only the peers whose PEER_INDEX_TABLE index is in `keep` (in that
/// order, renumbered from 0); RIB entries are copied byte for byte.
/// Route collectors list peers with no routes, or placeholders with AS 0,
/// that no speaker can stand for. Returns the number of RIB records
/// written.
///
/// # Errors
/// When reading or writing fails, or `src` has no PEER_INDEX_TABLE before
/// its RIB records.
pub fn filter_rib_dump(src: &Path, dst: &Path, keep: &[u16]) -> Result<usize, String> {
    let err = |e: &dyn std::fmt::Display| format!("filtering {}: {e}", src.display());
    let file = mrt::open_file(src).map_err(|e| err(&e))?;
    let mut reader = MrtReader::new(file);
    let out = std::fs::File::create(dst).map_err(|e| err(&e))?;
    let mut w = MrtWriter::new(BufWriter::new(out));
    let new_index: HashMap<u16, u16> = keep
        .iter()
        .enumerate()
        .filter_map(|(n, &old)| Some((old, u16::try_from(n).ok()?)))
        .collect();
    let (mut have_table, mut records) = (false, 0usize);
    while let Some(rec) = reader.next_record().map_err(|e| err(&e))? {
        let ts = rec.header.timestamp;
        match rec.decode().map_err(|e| err(&e))? {
            mrt::Body::PeerIndexTable(mut t) => {
                t.peers = keep
                    .iter()
                    .filter_map(|&i| t.peers.get(usize::from(i)).copied())
                    .collect();
                w.write_peer_index_table(ts, &t).map_err(|e| err(&e))?;
                have_table = true;
            }
            mrt::Body::Rib(rib) if have_table => {
                let entries: Vec<RibEntry<'_>> = rib
                    .entries()
                    .filter_map(Result::ok)
                    .filter_map(|mut e| {
                        e.peer_index = *new_index.get(&e.peer_index)?;
                        Some(e)
                    })
                    .collect();
                if !entries.is_empty() {
                    w.write_rib(ts, rib.sequence, &rib.prefix, &entries)
                        .map_err(|e| err(&e))?;
                    records += 1;
                }
            }
            mrt::Body::Rib(_) => return Err(err(&"RIB record before a PEER_INDEX_TABLE")),
            _ => {}
        }
    }
    w.into_inner().map_err(|e| err(&e))?;
    Ok(records)
}

/// One path competing for a prefix, with what the decision process needs
/// to know about the session it came over.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The path's attributes as the route server stores them.
    pub attrs: &'a PathAttributes,
    /// Learned over an eBGP session (route server clients are).
    pub ebgp: bool,
    /// The BGP Identifier of the session's OPEN.
    pub bgp_id: Ipv4Addr,
    /// The session's peer address.
    pub peer_addr: IpAddr,
    /// Interior cost to the next hop (0 without an IGP).
    pub igp_cost: u32,
}

/// Degree of preference given to a path without LOCAL_PREF (and to every
/// eBGP-learned path, whose LOCAL_PREF is ignored), as rampartd does.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// The winner among `paths` by the elimination procedure of RFC 4271
/// §9.1.2.2, written out step by step and independently of
/// `rampart_core::rib::best_path`, with RFC 4456 §9's CLUSTER_LIST step.
/// `None` for an empty slice. When peer addresses are distinct the result
/// is unique.
///
/// LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST of eBGP-learned paths are
/// ignored: a speaker discards them on receipt from an external peer
/// (RFC 4271 §5.1.5, RFC 7606 §7.5, §7.9, §7.10).
///
/// Steps: a) highest degree of preference (LOCAL_PREF for iBGP-learned
/// paths, [`DEFAULT_LOCAL_PREF`] otherwise); shortest AS_PATH (an AS_SET
/// counts 1, confederation segments 0); lowest ORIGIN; per neighbouring
/// AS, lowest MED (absent = 0); eBGP over iBGP; lowest IGP cost; lowest
/// BGP Identifier (ORIGINATOR_ID when present); shortest CLUSTER_LIST;
/// lowest peer address.
#[must_use]
pub fn rfc4271_best(paths: &[Candidate<'_>]) -> Option<usize> {
    let mut alive: Vec<usize> = (0..paths.len()).collect();
    let pref = |c: &Candidate<'_>| {
        if c.ebgp {
            DEFAULT_LOCAL_PREF
        } else {
            c.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF)
        }
    };
    // §9.1.1 / §9.1.2.1: the highest degree of preference.
    keep_max(&mut alive, |i| u64::from(pref(&paths[i])));
    // §9.1.2.2 a) "Remove from consideration all routes that are not tied
    // for having the smallest number of AS numbers present in their
    // AS_PATH attributes."
    keep_min(&mut alive, |i| as_path_len(paths[i].attrs));
    // b) "the lowest Origin number".
    keep_min(&mut alive, |i| {
        paths[i].attrs.origin.map_or(2, |o| o as u64)
    });
    // c) "Remove from consideration routes with less-preferred
    // MULTI_EXIT_DISC attributes. MULTI_EXIT_DISC is only comparable
    // between routes learned from the same neighboring AS".
    let med = |i: usize| u64::from(paths[i].attrs.med.unwrap_or(0));
    let survivors: Vec<usize> = alive
        .iter()
        .copied()
        .filter(|&m| {
            let n_as = neighbor_as(paths[m].attrs);
            !alive
                .iter()
                .any(|&n| neighbor_as(paths[n].attrs) == n_as && med(n) < med(m))
        })
        .collect();
    alive = survivors;
    // d) "if any of the candidate routes was learned via EBGP, remove from
    // consideration all routes that were learned via IBGP."
    keep_min(&mut alive, |i| u64::from(!paths[i].ebgp));
    // e) lowest interior cost.
    keep_min(&mut alive, |i| u64::from(paths[i].igp_cost));
    // f) lowest BGP Identifier; RFC 4456 §9: ORIGINATOR_ID stands in for it.
    keep_min(&mut alive, |i| {
        let p = &paths[i];
        let originator = p.attrs.rare.originator_id.filter(|_| !p.ebgp);
        u64::from(originator.unwrap_or(p.bgp_id).to_bits())
    });
    // RFC 4456 §9: shortest CLUSTER_LIST between f) and g).
    keep_min(&mut alive, |i| {
        let p = &paths[i];
        if p.ebgp {
            0
        } else {
            p.attrs.rare.cluster_list.len() as u64
        }
    });
    // g) lowest peer address.
    alive.sort_by_key(|&i| paths[i].peer_addr);
    alive.first().copied()
}

fn keep_min(alive: &mut Vec<usize>, key: impl Fn(usize) -> u64) {
    if let Some(m) = alive.iter().map(|&i| key(i)).min() {
        alive.retain(|&i| key(i) == m);
    }
}

fn keep_max(alive: &mut Vec<usize>, key: impl Fn(usize) -> u64) {
    if let Some(m) = alive.iter().map(|&i| key(i)).max() {
        alive.retain(|&i| key(i) == m);
    }
}

/// RFC 4271 §9.1.2.2 a: each AS_SEQUENCE member counts 1, an AS_SET 1 in
/// all; RFC 5065 §5.3: confederation segments count 0.
fn as_path_len(a: &PathAttributes) -> u64 {
    a.as_path
        .segments()
        .map(|s| match s.kind {
            SegmentType::AsSequence => s.asns.len() as u64,
            SegmentType::AsSet => 1,
            SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
        })
        .sum()
}

/// The neighbouring AS (RFC 4271 §9.1.2.2 c): the first AS of the path
/// when it starts with an AS_SEQUENCE, else none (its own MED group).
fn neighbor_as(a: &PathAttributes) -> Option<u32> {
    a.as_path
        .segments()
        .next()
        .filter(|s| s.kind == SegmentType::AsSequence)
        .and_then(|s| s.asns.first().copied())
}

/// Where each attribute `got` differs from `want` among AS_PATH, NEXT_HOP,
/// ORIGIN, MED, COMMUNITIES and LARGE_COMMUNITY; `None` when they agree.
/// An IPv6 link-local next hop is compared only when both carry one (BIRD
/// keeps none on multihop sessions).
#[must_use]
pub fn diff_route(want: &PathAttributes, got: &PathAttributes) -> Option<String> {
    let mut d = Vec::new();
    if want.as_path != got.as_path {
        d.push(format!("as_path {:?} != {:?}", want.as_path, got.as_path));
    }
    if !same_next_hop(want.next_hop, got.next_hop) {
        d.push(format!(
            "next_hop {:?} != {:?}",
            want.next_hop, got.next_hop
        ));
    }
    if want.origin != got.origin {
        d.push(format!("origin {:?} != {:?}", want.origin, got.origin));
    }
    if want.med != got.med {
        d.push(format!("med {:?} != {:?}", want.med, got.med));
    }
    if want.communities != got.communities {
        d.push(format!(
            "communities {:?} != {:?}",
            want.communities, got.communities
        ));
    }
    if want.large_communities != got.large_communities {
        d.push(format!(
            "large_communities {:?} != {:?}",
            want.large_communities, got.large_communities
        ));
    }
    (!d.is_empty()).then(|| d.join("; "))
}

fn same_next_hop(a: Option<NextHop>, b: Option<NextHop>) -> bool {
    match (a, b) {
        (
            Some(NextHop::V6 {
                global: g1,
                link_local: l1,
            }),
            Some(NextHop::V6 {
                global: g2,
                link_local: l2,
            }),
        ) => g1 == g2 && (l1.is_none() || l2.is_none() || l1 == l2),
        (a, b) => a == b,
    }
}

/// BIRD's table `table` (`master4`, `master6`), dumped with `birdc mrt
/// dump` to `file` and read back: prefix → every path BIRD holds for it.
///
/// # Errors
/// When birdc fails, the dump does not appear complete within `timeout`,
/// or it cannot be read.
pub fn bird_mrt_table(
    bird: &Bird,
    table: &str,
    file: &Path,
    timeout: Duration,
) -> Result<HashMap<Prefix, Vec<Arc<PathAttributes>>>, String> {
    let _ = std::fs::remove_file(file);
    let out = bird
        .birdc(&format!(
            "mrt dump table \"{table}\" to \"{}\"",
            file.display()
        ))
        .map_err(|e| format!("birdc mrt dump: {e}"))?;
    if out.contains("rror") {
        return Err(format!("birdc mrt dump: {out}"));
    }
    // The dump runs in BIRD's event loop after birdc returns: wait until the
    // file exists and its size holds still for half a second.
    let mut last = (0u64, std::time::Instant::now());
    wait_for(&format!("BIRD's MRT dump of {table}"), timeout, || {
        let len = std::fs::metadata(file).ok()?.len();
        if len != last.0 {
            last = (len, std::time::Instant::now());
            return None;
        }
        (len > 0 && last.1.elapsed() >= Duration::from_millis(500)).then_some(())
    })?;
    read_bird_dump(file)
}

/// Reads a TABLE_DUMP_V2 RIB dump written by BIRD: prefix → every path.
///
/// BIRD 2.0.12's MRT table dump writes the well-known NEXT_HOP and
/// LOCAL_PREF attributes with attribute flags 0 (a BGP UPDATE would carry
/// 0x40, "well-known, transitive"; RFC 4271 §4.3), which a strict decoder
/// rejects; their flags are set to 0x40 before decoding. Nothing else is
/// changed.
///
/// # Errors
/// When the file cannot be read or an entry does not decode.
pub fn read_bird_dump(file: &Path) -> Result<HashMap<Prefix, Vec<Arc<PathAttributes>>>, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let reader = mrt::open_file(file).map_err(|e| err(&e))?;
    let mut reader = MrtReader::new(reader);
    let ctx = DecodeCtx::modern();
    let mut got: HashMap<Prefix, Vec<Arc<PathAttributes>>> = HashMap::new();
    while let Some(rec) = reader.next_record().map_err(|e| err(&e))? {
        let mrt::Body::Rib(rib) = rec.decode().map_err(|e| err(&e))? else {
            continue;
        };
        for entry in rib.entries() {
            let entry = entry.map_err(|e| err(&e))?;
            let raw = fix_well_known_flags(entry.attrs)
                .ok_or_else(|| err(&format!("{}: attributes do not parse", rib.prefix)))?;
            let d = decode_path_attributes(&raw, &ctx, MpReachForm::MrtAbbreviated)
                .map_err(|e| err(&format!("{}: {e}", rib.prefix)))?;
            if let Some(e) = d.errors.first() {
                return Err(err(&format!("{}: {e}", rib.prefix)));
            }
            let mut attrs = d.attrs;
            if let Some(m) = d.mp_reach {
                attrs.next_hop = Some(m.next_hop);
            }
            got.entry(rib.prefix).or_default().push(Arc::new(attrs));
        }
    }
    Ok(got)
}

/// `raw` path attributes with the flags of NEXT_HOP (3) and LOCAL_PREF (5)
/// set to 0x40 where they are 0; `None` when the attributes do not parse.
fn fix_well_known_flags(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = raw.to_vec();
    let mut i = 0;
    // Bounded: each step moves past one attribute (at least 3 bytes).
    while i < out.len() {
        let flags = *out.get(i)?;
        let code = *out.get(i + 1)?;
        let (len, hdr) = if flags & 0x10 != 0 {
            let l = out.get(i + 2..i + 4)?;
            (usize::from(u16::from_be_bytes([l[0], l[1]])), 4)
        } else {
            (usize::from(*out.get(i + 2)?), 3)
        };
        if flags == 0 && matches!(code, 3 | 5) {
            out[i] = 0x40;
        }
        i += hdr + len;
    }
    (i == out.len()).then_some(out)
}

/// The rampart-loadgen binary to drive: `$RAMPART_LOADGEN` when set, else
/// the newer of `release/` and `debug/` `rampart-loadgen` in the target
/// directory this test binary was built into. `None` when none exists.
#[must_use]
pub fn loadgen_bin() -> Option<PathBuf> {
    super::workspace_bin("RAMPART_LOADGEN", "rampart-loadgen")
}

/// `RAMPART_REALINPUT_PREFIXES=N`: replay only the first `N` prefixes of a
/// large input (the full 2015 table takes about a minute with debug
/// binaries on 2 cores); `None` (the whole input) when unset.
#[must_use]
pub fn prefix_limit() -> Option<usize> {
    std::env::var("RAMPART_REALINPUT_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// Every AS number appearing in any path of `peers` (to pick an AS for
/// the core that no input path would make BIRD drop as a loop).
#[must_use]
pub fn contains_as(peers: &[InputPeer], asn: u32) -> bool {
    peers
        .iter()
        .flat_map(|p| p.routes.values())
        .any(|a| a.as_path.contains(asn))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use rampart_core::attr::{AsPath, Origin};

    use super::*;

    fn attrs(path: &[u32], med: Option<u32>) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(path.iter().copied()),
            med,
            ..PathAttributes::default()
        }
    }

    fn cand(a: &PathAttributes, id: u8) -> Candidate<'_> {
        Candidate {
            attrs: a,
            ebgp: true,
            bgp_id: Ipv4Addr::new(10, 0, 0, id),
            peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 255 - id)),
            igp_cost: 0,
        }
    }

    #[test]
    fn shortest_path_then_origin_then_router_id() {
        let (a, b, c) = (
            attrs(&[1, 2, 3], None),
            attrs(&[4, 5], None),
            attrs(&[6, 7], None),
        );
        let mut c2 = c.clone();
        c2.origin = Some(Origin::Incomplete);
        assert_eq!(
            rfc4271_best(&[cand(&a, 1), cand(&b, 3), cand(&c, 2)]),
            Some(2)
        );
        assert_eq!(
            rfc4271_best(&[cand(&a, 1), cand(&b, 3), cand(&c2, 2)]),
            Some(1)
        );
        assert_eq!(rfc4271_best(&[]), None);
    }

    #[test]
    fn med_only_within_the_neighbouring_as() {
        // A (AS 1, MED 5) loses to B (AS 1, MED 0); C (AS 2, MED 9) is not
        // compared on MED and wins on the lower router id.
        let (a, b, c) = (
            attrs(&[1, 9], Some(5)),
            attrs(&[1, 8], Some(0)),
            attrs(&[2, 9], Some(9)),
        );
        let v = [cand(&a, 1), cand(&b, 3), cand(&c, 2)];
        assert_eq!(rfc4271_best(&v), Some(2));
        // Without C, B beats A on MED although A's router id is lower.
        assert_eq!(rfc4271_best(&v[..2]), Some(1));
    }

    #[test]
    fn as_set_counts_one_and_local_pref_only_from_ibgp() {
        let mut set = attrs(&[1], None);
        set.as_path.push_segment(SegmentType::AsSet, &[5, 6, 7]);
        let seq = attrs(&[2, 3, 4], None);
        assert_eq!(rfc4271_best(&[cand(&seq, 1), cand(&set, 2)]), Some(1));
        let mut lp = attrs(&[1, 2, 3, 4], None);
        lp.local_pref = Some(200);
        let mut ibgp = cand(&lp, 3);
        assert_eq!(rfc4271_best(&[cand(&seq, 1), ibgp]), Some(0));
        ibgp.ebgp = false;
        assert_eq!(rfc4271_best(&[cand(&seq, 1), ibgp]), Some(1));
    }

    #[test]
    fn bird_dump_attributes_decode_after_the_flag_fix() {
        // One entry of a BIRD 2.0.12 `mrt dump`: ORIGIN, AS_PATH 3130 174,
        // NEXT_HOP and LOCAL_PREF with flags 0, COMMUNITIES 3130:394.
        let raw = [
            0x40, 1, 1, 0, 0x40, 2, 10, 2, 2, 0, 0, 0x0c, 0x3a, 0, 0, 0, 0xae, 0, 3, 4, 147, 28, 0,
            3, 0, 5, 4, 0, 0, 0, 100, 0xc0, 8, 4, 0x0c, 0x3a, 1, 0x8a,
        ];
        let fixed = fix_well_known_flags(&raw).unwrap();
        assert_eq!((fixed[17], fixed[24]), (0x40, 0x40));
        let d = decode_path_attributes(&fixed, &DecodeCtx::modern(), MpReachForm::MrtAbbreviated)
            .unwrap();
        assert!(d.errors.is_empty());
        assert_eq!(
            d.attrs.next_hop,
            Some(NextHop::V4(Ipv4Addr::new(147, 28, 0, 3)))
        );
        assert_eq!(d.attrs.as_path, AsPath::from_sequence([3130, 174]));
        assert_eq!(d.attrs.local_pref, Some(100));
        assert_eq!(fix_well_known_flags(&raw[..raw.len() - 1]), None);
    }

    #[test]
    fn diff_names_the_attribute_and_ignores_a_missing_link_local() {
        let mut a = attrs(&[1, 2], Some(3));
        a.next_hop = Some(NextHop::V6 {
            global: Ipv6Addr::LOCALHOST,
            link_local: Some(Ipv6Addr::UNSPECIFIED),
        });
        let mut b = a.clone();
        b.next_hop = Some(NextHop::V6 {
            global: Ipv6Addr::LOCALHOST,
            link_local: None,
        });
        assert_eq!(diff_route(&a, &b), None);
        b.med = None;
        b.as_path = AsPath::from_sequence([1]);
        let d = diff_route(&a, &b).unwrap();
        assert!(
            d.contains("as_path") && d.contains("med") && !d.contains("next_hop"),
            "{d}"
        );
    }
}
