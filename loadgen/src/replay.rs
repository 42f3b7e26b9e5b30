//! MRT update files replayed: `updates:FILE[:per-peer]`.
//!
//! ```text
//! BGP4MP(_ET) MESSAGE / MESSAGE_AS4 records ──read──> peers, in order of
//!   their first UPDATE (by peer address), each with its UPDATE bodies and
//!   timestamps (µs for _ET)
//! per speaker: decode each UPDATE (2- or 4-octet AS per the subtype; AS4_PATH
//!   merged, RFC 6793 §4.2.3), re-encode it for a 4-octet-AS session
//!   (withdrawals, then announcements), next hop as recorded or our own
//!   ──> Feed (chunks; with timing, one chunk never spans two timestamps)
//! final state per speaker: withdrawals and announcements applied in order
//!   ──> Feed::prefixes (held at the end), Feed::withdrawn (not held)
//! ```
//!
//! - Default: every speaker replays the first peer's UPDATEs (the peer of
//!   the first UPDATE record, as `mrt:` takes the peer of the first RIB
//!   entry); `per-peer`: speaker *i* replays the *i*-th peer (wrapping
//!   around when there are more speakers than peers).
//! - State changes, non-UPDATE messages, `_LOCAL` (sent by the collector)
//!   and `_ADDPATH` subtypes, UPDATEs that do not decode (RFC 7606 session
//!   reset) and families other than IPv4/IPv6 unicast are skipped and
//!   counted. An UPDATE that RFC 7606 treats as withdraw is replayed as
//!   the withdrawal it amounts to.
//! - Timing: each chunk carries the recorded offset of its messages from
//!   the first recorded UPDATE of the replayed peers; the run divides it by
//!   `--replay-speed` and the speaker waits for it (speed 0: no offsets,
//!   written as fast as the target reads).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use hashbrown::HashMap;
use rampart_core::attr::{NextHop, PathAttributes};
use rampart_core::mrt::bgp4mp::Message as MrtMessage;
use rampart_core::mrt::{Body, MrtReader};
use rampart_core::msg::update::{Update, UpdateBuilder};
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};
use rampart_core::{DecodeCtx, EncodeCtx};
use serde::{Deserialize, Serialize};

use crate::table::{self, CHUNK_LEN, Feed, NextHopMode, SpeakerIdentity, TableError};

/// BGP message type UPDATE (RFC 4271 §4.1).
const UPDATE: u8 = 2;

/// One recorded UPDATE.
#[derive(Debug, Clone)]
struct Recorded {
    /// Microseconds since the Unix epoch.
    at_us: u64,
    /// AS numbers in the message are 4 octets (`_AS4` subtypes).
    four_octet_as: bool,
    /// The message body (after the 19-byte header).
    body: Bytes,
}

/// One peer of the update file.
#[derive(Debug, Clone)]
struct RecordedPeer {
    asn: u32,
    msgs: Vec<Recorded>,
}

/// What was read from the file.
#[derive(Debug, Default)]
struct Recording {
    /// The peers kept, in order of their first UPDATE.
    peers: Vec<RecordedPeer>,
    /// Peers with UPDATEs in the file (kept or not).
    peer_count: usize,
    /// Records skipped (state changes, other messages and subtypes).
    skipped_records: usize,
}

/// The replay's figures (in the report's `replay`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Speed factor (1: recorded; 0: as fast as possible).
    pub speed: f64,
    /// Peers with UPDATEs in the file.
    pub peers_in_file: usize,
    /// Recorded UPDATE messages replayed, all speakers.
    pub messages: usize,
    /// Announced prefixes replayed (NLRI, all speakers).
    pub announcements: usize,
    /// Withdrawn prefixes replayed (all speakers).
    pub withdrawals: usize,
    /// Recorded UPDATEs or routes skipped (undecodable, other families,
    /// no next hop), all speakers.
    pub skipped: usize,
    /// MRT records skipped (state changes, other messages, `_LOCAL` and
    /// `_ADDPATH` subtypes).
    pub skipped_records: usize,
    /// Recorded span: last − first UPDATE timestamp of the replayed peers,
    /// seconds.
    pub recorded_span_secs: f64,
    /// Actual send span: first to last write of any speaker, seconds.
    pub send_span_secs: Option<f64>,
}

/// The feeds of a replay and its figures.
#[derive(Debug, Default)]
pub struct Replay {
    /// One per speaker.
    pub feeds: Vec<Feed>,
    /// Figures known before the run (`send_span_secs` is the run's).
    pub report: ReplayReport,
}

fn mrt_err(path: &Path) -> impl Fn(String) -> TableError + '_ {
    move |msg| TableError::Mrt {
        path: path.to_path_buf(),
        msg,
    }
}

/// Reads the UPDATEs of the first `keep` peers (in order of first UPDATE).
fn read_recording(path: &Path, keep: usize) -> Result<Recording, TableError> {
    let err = mrt_err(path);
    let input = rampart_core::mrt::open_file(path).map_err(|e| err(e.to_string()))?;
    let mut reader = MrtReader::new(input);
    let mut rec = Recording::default();
    let mut slot: HashMap<IpAddr, usize> = HashMap::new();
    let mut saw_bgp4mp = false;
    // Bounded by the file: each call consumes a record or ends.
    while let Some(r) = reader.next_record().map_err(|e| err(e.to_string()))? {
        let at_us = u64::from(r.header.timestamp) * 1_000_000
            + u64::from(r.header.microseconds.unwrap_or(0));
        let m = match r.decode() {
            Ok(Body::Bgp4mpMessage(m)) => m,
            Ok(Body::Bgp4mpStateChange(_)) => {
                saw_bgp4mp = true;
                rec.skipped_records += 1;
                continue;
            }
            Ok(_) => {
                rec.skipped_records += 1;
                continue;
            }
            Err(e) => return Err(err(e.to_string())),
        };
        saw_bgp4mp = true;
        let Some(body) = replayable(&m) else {
            rec.skipped_records += 1;
            continue;
        };
        let next = slot.len();
        let k = *slot.entry(m.peering.peer_addr).or_insert(next);
        if k == rec.peers.len() && k < keep {
            rec.peers.push(RecordedPeer {
                asn: m.peering.peer_as,
                msgs: Vec::new(),
            });
        }
        if let Some(p) = rec.peers.get_mut(k) {
            p.msgs.push(Recorded {
                at_us,
                four_octet_as: m.four_octet_as,
                body: Bytes::copy_from_slice(body),
            });
        }
    }
    rec.peer_count = slot.len();
    if !saw_bgp4mp {
        return Err(err("no BGP4MP records: not an update file".into()));
    }
    if rec.peers.is_empty() {
        return Err(err("no BGP4MP UPDATE message".into()));
    }
    Ok(rec)
}

/// The UPDATE body of a MESSAGE / MESSAGE_AS4 record received from the
/// peer; `None` for anything else.
fn replayable<'a>(m: &MrtMessage<'a>) -> Option<&'a [u8]> {
    if m.local || m.add_path || m.message.get(18) != Some(&UPDATE) {
        return None;
    }
    m.body()
}

/// The AS of the MRT peer each of `speakers` replays (for
/// `--local-as-from-mrt`).
///
/// # Errors
/// When the file cannot be read or holds no UPDATE.
pub fn peer_asns(path: &Path, per_peer: bool, speakers: usize) -> Result<Vec<u32>, TableError> {
    let keep = if per_peer { speakers } else { 1 };
    let rec = read_recording(path, keep)?;
    Ok((0..speakers)
        .map(|i| {
            let k = if per_peer { i % rec.peers.len() } else { 0 };
            rec.peers.get(k).map_or(0, |p| p.asn)
        })
        .collect())
}

/// Builds every speaker's replay feed; `timed` keeps the recorded offsets
/// (chunks cut at every timestamp change), else chunks are packed full.
///
/// # Errors
/// [`TableError`] when the file cannot be read or holds no UPDATE.
pub fn build_feeds(
    path: &Path,
    per_peer: bool,
    speakers: &[SpeakerIdentity],
    next_hop: NextHopMode,
    timed: bool,
) -> Result<Replay, TableError> {
    let keep = if per_peer { speakers.len().max(1) } else { 1 };
    let rec = read_recording(path, keep)?;
    let n = rec.peers.len();
    let chosen = |i: usize| if per_peer { i % n } else { 0 };
    // The first and last UPDATE of the peers actually replayed.
    let used = rec
        .peers
        .iter()
        .take(if per_peer { speakers.len().min(n) } else { 1 });
    let times: Vec<u64> = used.flat_map(|p| p.msgs.iter().map(|m| m.at_us)).collect();
    let first = times.iter().min().copied().unwrap_or(0);
    let last = times.iter().max().copied().unwrap_or(0);
    let mut out = Replay {
        report: ReplayReport {
            peers_in_file: rec.peer_count,
            skipped_records: rec.skipped_records,
            recorded_span_secs: Duration::from_micros(last - first).as_secs_f64(),
            ..ReplayReport::default()
        },
        ..Replay::default()
    };
    for (i, sp) in speakers.iter().enumerate() {
        let Some(peer) = rec.peers.get(chosen(i)) else {
            continue;
        };
        let enc = encode_peer(peer, first, sp, next_hop)?;
        out.report.messages += enc.messages;
        out.report.announcements += enc.announcements;
        out.report.withdrawals += enc.withdrawals;
        out.report.skipped += enc.skipped;
        let (prefixes, withdrawn) = final_state(enc.changes);
        let mut feed = if timed {
            pack_timed(enc.msgs)
        } else {
            table::pack(
                enc.msgs.into_iter().map(|(_, m)| m).collect(),
                Vec::new(),
                0,
            )
        };
        feed.prefixes = prefixes;
        feed.withdrawn = withdrawn;
        feed.skipped = enc.skipped;
        out.feeds.push(feed);
    }
    Ok(out)
}

/// One speaker's encoded replay.
#[derive(Debug, Default)]
struct Encoded {
    /// (recorded offset, message), End-of-RIB last.
    msgs: Vec<(Duration, Bytes)>,
    /// (prefix, announced) in send order.
    changes: Vec<(Prefix, bool)>,
    messages: usize,
    announcements: usize,
    withdrawals: usize,
    skipped: usize,
}

fn unicast(f: AfiSafi) -> bool {
    f == AfiSafi::IPV4_UNICAST || f == AfiSafi::IPV6_UNICAST
}

fn encode_peer(
    peer: &RecordedPeer,
    first_us: u64,
    sp: &SpeakerIdentity,
    mode: NextHopMode,
) -> Result<Encoded, TableError> {
    let mut e = Encoded::default();
    let mut v6 = false;
    let mut offset = Duration::ZERO;
    for m in &peer.msgs {
        let ctx = DecodeCtx {
            four_octet_as: m.four_octet_as,
            extended_message: true,
            ..DecodeCtx::modern()
        };
        let Ok(d) = Update::decode(&m.body, &ctx) else {
            e.skipped += 1;
            continue;
        };
        offset = Duration::from_micros(m.at_us.saturating_sub(first_us));
        let u = d.update;
        let mut b = UpdateBuilder::new(EncodeCtx::modern());
        let mut wd: Vec<Prefix> = u.withdrawn.iter().map(|n| n.prefix).collect();
        b.withdraw(AfiSafi::IPV4_UNICAST, u.withdrawn.iter().map(bare));
        if let Some(mu) = u.mp_unreach.as_ref().filter(|m| unicast(m.family)) {
            b.withdraw(mu.family, mu.withdrawn.iter().map(bare));
            wd.extend(mu.withdrawn.iter().map(|n| n.prefix));
            v6 |= mu.family == AfiSafi::IPV6_UNICAST;
        }
        let mut ann = Vec::new();
        let mut routes = Vec::new();
        if !u.nlri.is_empty() {
            routes.push((AfiSafi::IPV4_UNICAST, u.attrs.next_hop, &u.nlri[..]));
        }
        if let Some(mr) = &u.mp_reach {
            routes.push((mr.family, Some(mr.next_hop), &mr.nlri[..]));
        }
        for r in routes {
            let got = unicast(r.0)
                .then(|| announce(&mut b, &u.attrs, r, sp, mode))
                .flatten();
            match got {
                Some(ps) => {
                    v6 |= r.0 == AfiSafi::IPV6_UNICAST && !ps.is_empty();
                    ann.extend(ps);
                }
                None => e.skipped += r.2.len(),
            }
        }
        if wd.is_empty() && ann.is_empty() {
            continue;
        }
        e.messages += 1;
        e.withdrawals += wd.len();
        e.announcements += ann.len();
        // The builder writes withdrawals first, then announcements.
        e.changes.extend(wd.into_iter().map(|p| (p, false)));
        e.changes.extend(ann.into_iter().map(|p| (p, true)));
        e.msgs.extend(b.into_pdu_iter().map(|pdu| (offset, pdu)));
    }
    let mut eor = Vec::new();
    table::push_end_of_rib(&mut eor, v6)?;
    e.msgs.extend(eor.into_iter().map(|m| (offset, m)));
    Ok(e)
}

/// The NLRI without path id (the speakers do not send path ids).
fn bare(n: &Nlri) -> Nlri {
    Nlri::new(n.prefix)
}

/// Queues `nlri` of `family` announced with `attrs` and next hop `nh`
/// (recorded, or ours); the prefixes queued, `None` without a usable next
/// hop.
fn announce(
    b: &mut UpdateBuilder,
    attrs: &PathAttributes,
    (family, nh, nlri): (AfiSafi, Option<NextHop>, &[Nlri]),
    sp: &SpeakerIdentity,
    mode: NextHopMode,
) -> Option<Vec<Prefix>> {
    let nh = match mode {
        NextHopMode::Keep => nh,
        NextHopMode::OwnAddress => Some(table::own_next_hop(sp.source, nh)),
    };
    let mut a = attrs.clone();
    a.next_hop = nh;
    b.announce(&a, family, nlri.iter().map(bare)).ok()?;
    Some(nlri.iter().map(|n| n.prefix).collect())
}

/// Applies `changes` (prefix, announced) in order: the prefixes held at the
/// end (in order of first appearance) and those seen but not held.
#[must_use]
pub fn final_state(
    changes: impl IntoIterator<Item = (Prefix, bool)>,
) -> (Vec<Prefix>, Vec<Prefix>) {
    let mut state: HashMap<Prefix, (usize, bool)> = HashMap::new();
    for (p, held) in changes {
        let next = state.len();
        state.entry(p).or_insert((next, held)).1 = held;
    }
    let mut all: Vec<(usize, Prefix, bool)> =
        state.into_iter().map(|(p, (i, h))| (i, p, h)).collect();
    all.sort_unstable_by_key(|(i, _, _)| *i);
    let (held, gone): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, _, h)| *h);
    (
        held.into_iter().map(|(_, p, _)| p).collect(),
        gone.into_iter().map(|(_, p, _)| p).collect(),
    )
}

/// Packs timed messages: chunks of about [`CHUNK_LEN`] bytes of messages
/// with one recorded offset each.
fn pack_timed(msgs: Vec<(Duration, Bytes)>) -> Feed {
    let mut feed = Feed {
        messages: msgs.len(),
        ..Feed::default()
    };
    let mut cur = BytesMut::new();
    let mut cur_at = Duration::ZERO;
    for (at, m) in msgs {
        if !cur.is_empty() && (at != cur_at || cur.len() >= CHUNK_LEN) {
            feed.chunks.push(cur.split().freeze());
            feed.offsets.push(cur_at);
        }
        cur_at = at;
        feed.bytes += m.len();
        cur.put_slice(&m);
    }
    if !cur.is_empty() {
        feed.chunks.push(cur.freeze());
        feed.offsets.push(cur_at);
    }
    feed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn final_state_applies_changes_in_order() {
        let (held, gone) = final_state([
            (p("10.0.0.0/8"), true),
            (p("10.1.0.0/16"), true),
            (p("10.0.0.0/8"), false),
            (p("192.0.2.0/24"), false),
            (p("2001:db8::/32"), true),
            (p("10.1.0.0/16"), false),
            (p("10.1.0.0/16"), true),
            (p("2001:db8::/32"), true),
        ]);
        assert_eq!(held, vec![p("10.1.0.0/16"), p("2001:db8::/32")]);
        assert_eq!(gone, vec![p("10.0.0.0/8"), p("192.0.2.0/24")]);
    }

    #[test]
    fn expected_is_union_of_final_sets_and_absent_excludes_held_elsewhere() {
        let mk = |held: &[&str], gone: &[&str]| Feed {
            prefixes: held.iter().map(|s| p(s)).collect(),
            withdrawn: gone.iter().map(|s| p(s)).collect(),
            ..Feed::default()
        };
        let feeds = [
            mk(&["10.0.0.0/8"], &["10.1.0.0/16", "10.2.0.0/16"]),
            mk(&["10.1.0.0/16"], &["10.2.0.0/16"]),
        ];
        let e = table::Expected::from_feeds(&feeds);
        assert_eq!(e.len(), 2);
        assert!(e.index(&p("10.1.0.0/16")).is_some());
        assert_eq!(e.absent_len(), 1);
        assert_eq!(e.absent_index(&p("10.2.0.0/16")), Some(0));
        assert_eq!(e.absent_index(&p("10.1.0.0/16")), None);
    }

    #[test]
    fn pack_timed_cuts_chunks_at_timestamp_changes() {
        let m = |n: u8| Bytes::from(vec![n; 100]);
        let s = Duration::from_secs;
        let f = pack_timed(vec![(s(0), m(1)), (s(0), m(2)), (s(3), m(3)), (s(7), m(4))]);
        assert_eq!(f.offsets, vec![s(0), s(3), s(7)]);
        assert_eq!(f.chunks.len(), 3);
        assert_eq!(f.chunks[0].len(), 200);
        assert_eq!((f.messages, f.bytes), (4, 400));
    }

    fn sample() -> Option<&'static Path> {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/mrt/ripe-ncc-bgpdump/updates.20100722.2015.gz"
        ));
        if path.exists() {
            Some(path)
        } else {
            eprintln!("SKIP: no {}", path.display());
            None
        }
    }

    fn speakers(n: u8) -> Vec<SpeakerIdentity> {
        (0..n)
            .map(|i| SpeakerIdentity {
                asn: 65001 + u32::from(i),
                source: IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + i)),
            })
            .collect()
    }

    /// Every feed message decodes, and replaying the feed's messages gives
    /// the feed's own final state.
    #[test]
    fn replay_feeds_decode_and_match_their_final_state() {
        let Some(path) = sample() else { return };
        let sp = speakers(3);
        let r = build_feeds(path, true, &sp, NextHopMode::Keep, true).unwrap();
        assert_eq!(r.feeds.len(), 3);
        assert!(r.report.peers_in_file >= 3);
        assert!(r.report.withdrawals > 0 && r.report.announcements > 0);
        assert!(r.report.recorded_span_secs > 60.0, "{:?}", r.report);
        for f in &r.feeds {
            assert_eq!(f.offsets.len(), f.chunks.len());
            assert!(f.offsets.windows(2).all(|w| w[0] <= w[1]));
            let mut changes = Vec::new();
            for c in &f.chunks {
                let mut b = &c[..];
                while !b.is_empty() {
                    let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
                    let u = Update::decode(&b[19..len], &DecodeCtx::modern()).unwrap();
                    assert_eq!(u.errors, vec![]);
                    let u = u.update;
                    changes.extend(u.withdrawn.iter().map(|n| (n.prefix, false)));
                    if let Some(m) = &u.mp_unreach {
                        changes.extend(m.withdrawn.iter().map(|n| (n.prefix, false)));
                    }
                    changes.extend(u.nlri.iter().map(|n| (n.prefix, true)));
                    if let Some(m) = &u.mp_reach {
                        changes.extend(m.nlri.iter().map(|n| (n.prefix, true)));
                    }
                    b = &b[len..];
                }
            }
            let (held, gone) = final_state(changes);
            assert_eq!(held, f.prefixes);
            assert_eq!(gone, f.withdrawn);
        }
        let asns = peer_asns(path, true, 3).unwrap();
        assert!(asns.iter().all(|a| *a != 0));
        let one = build_feeds(path, false, &sp, NextHopMode::OwnAddress, false).unwrap();
        assert_eq!(one.feeds[0].prefixes, one.feeds[2].prefixes);
        assert!(one.feeds[0].offsets.is_empty());
        assert_eq!(
            one.feeds[0].prefixes, r.feeds[0].prefixes,
            "default = first peer"
        );
    }
}
