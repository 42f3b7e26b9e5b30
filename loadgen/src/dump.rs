//! Writing a [`SynthTable`] as an MRT TABLE_DUMP_V2 RIB file (RFC 6396
//! §4.3), as a route collector's `bview`/`rib` dump looks:
//!
//! ```text
//! PEER_INDEX_TABLE            one entry per speaker
//! RIB_IPV4_UNICAST  seq 0     prefix, one RIB entry per speaker
//! ...                         (IPv4 prefixes in order, then)
//! RIB_IPV6_UNICAST  seq n     abbreviated MP_REACH_NLRI next hop
//! ```
//!
//! Every speaker's distinct attribute sets are encoded once (4-octet AS
//! numbers, the abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4) and shared by
//! all the RIB entries that use them.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use bytes::BytesMut;
use rampart_core::attr::{MpReachForm, NextHop, encode_path_attributes};
use rampart_core::ctx::EncodeCtx;
use rampart_core::mrt::MrtWriter;
use rampart_core::mrt::table_dump_v2::{PeerEntry, PeerIndexTable, RibEntry};
use rampart_core::msg::update::MpReach;
use rampart_core::nlri::AfiSafi;

use crate::synth::SynthTable;

/// The collector identity written in the PEER_INDEX_TABLE.
pub const COLLECTOR_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 255, 254);
/// The view name written in the PEER_INDEX_TABLE.
pub const VIEW_NAME: &str = "rampart-synth";

/// Why a dump could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// Encoding an attribute set failed.
    #[error("encoding attributes: {0}")]
    Encode(#[from] rampart_core::msg::update::EncodeError),
    /// Writing the MRT stream failed.
    #[error("writing MRT: {0}")]
    Mrt(#[from] rampart_core::mrt::MrtError),
    /// More speakers than a PEER_INDEX_TABLE can index.
    #[error("{0} speakers exceed the 65535 a PEER_INDEX_TABLE can index")]
    TooManySpeakers(usize),
}

/// What [`write_table_dump_v2`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DumpStats {
    /// MRT records (the peer table plus one per prefix).
    pub records: u64,
    /// RIB entries (prefixes × speakers).
    pub entries: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// One speaker's attribute sets, encoded back to back.
struct Encoded {
    bytes: Vec<u8>,
    /// `bytes[ends[g-1]..ends[g]]` is group `g`.
    ends: Vec<usize>,
}

impl Encoded {
    fn get(&self, g: usize) -> &[u8] {
        let start = g
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(g).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or_default()
    }
}

fn encode_speaker(table: &SynthTable, speaker: usize) -> Result<Encoded, DumpError> {
    let routes = table
        .speaker_routes(speaker)
        .ok_or(DumpError::TooManySpeakers(speaker))?;
    let ctx = EncodeCtx::modern();
    let mut buf = BytesMut::with_capacity(128);
    let mut bytes = Vec::with_capacity(routes.attr_sets().len() * 64);
    let mut ends = Vec::with_capacity(routes.attr_sets().len());
    for attrs in routes.attr_sets() {
        buf.clear();
        let mp = match attrs.next_hop {
            Some(nh @ NextHop::V6 { .. }) => Some(MpReach {
                family: AfiSafi::IPV6_UNICAST,
                next_hop: nh,
                nlri: Vec::new(),
            }),
            _ => None,
        };
        encode_path_attributes(
            attrs,
            mp.as_ref(),
            None,
            &ctx,
            MpReachForm::MrtAbbreviated,
            &mut buf,
        )?;
        bytes.extend_from_slice(&buf);
        ends.push(bytes.len());
    }
    Ok(Encoded { bytes, ends })
}

/// Writes `table` as TABLE_DUMP_V2 to `out` with every record stamped
/// `timestamp` (seconds since the Unix epoch). Wrap files in a
/// `BufWriter`.
///
/// # Errors
/// [`DumpError`] when encoding or writing fails.
pub fn write_table_dump_v2<W: Write>(
    table: &SynthTable,
    timestamp: u32,
    out: W,
) -> Result<DumpStats, DumpError> {
    let n = table.speakers().len();
    if n > usize::from(u16::MAX) {
        return Err(DumpError::TooManySpeakers(n));
    }
    let encoded = (0..n)
        .map(|s| encode_speaker(table, s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut w = MrtWriter::new(out);
    let peers = PeerIndexTable {
        collector_id: COLLECTOR_ID,
        view_name: VIEW_NAME.to_owned(),
        peers: table
            .speakers()
            .iter()
            .map(|s| PeerEntry {
                bgp_id: s.addr_v4,
                addr: IpAddr::V4(s.addr_v4),
                asn: s.asn,
                as4: true,
            })
            .collect(),
    };
    w.write_peer_index_table(timestamp, &peers)?;
    let mut entries: Vec<RibEntry<'_>> = Vec::with_capacity(n);
    let mut stats = DumpStats::default();
    for (i, prefix) in table.prefixes().iter().enumerate() {
        let g = table.attr_index(i).unwrap_or(0);
        entries.clear();
        entries.extend(encoded.iter().zip(0u16..).map(|(e, peer_index)| RibEntry {
            peer_index,
            originated: timestamp,
            path_id: None,
            attrs: e.get(g),
            offset: 0,
        }));
        // RFC 6396 §4.3.2: the sequence number wraps at 2^32.
        w.write_rib(timestamp, i as u32, prefix, &entries)?;
        stats.entries += entries.len() as u64;
    }
    stats.records = w.records();
    stats.bytes = w.offset();
    w.into_inner()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use rampart_core::attr::{Community, LargeCommunity, Origin};
    use rampart_core::mrt::{MrtReader, MrtRoutes, RouteKind};
    use rampart_core::nlri::Prefix;

    use super::*;
    use crate::synth::{SynthConfig, generate};

    /// Writes a table and reads it back with the core MRT reader: every
    /// route of every speaker must come back with its exact attributes.
    #[test]
    fn dump_reads_back_identically() {
        let cfg = SynthConfig {
            ipv4: 3_000,
            ipv6: 1_000,
            speakers: 3,
            seed: 21,
            ..SynthConfig::default()
        };
        let table = generate(&cfg).unwrap();
        let mut buf = Vec::new();
        let stats = write_table_dump_v2(&table, 1_700_000_000, &mut buf).unwrap();
        assert_eq!(stats.records, 4_001);
        assert_eq!(stats.entries, 12_000);
        assert_eq!(stats.bytes, buf.len() as u64);

        let speakers: Vec<_> = (0..3).map(|s| table.speaker_routes(s).unwrap()).collect();
        let expected: Vec<Vec<_>> = speakers.iter().map(|r| r.iter().collect()).collect();
        let mut routes = MrtRoutes::new(MrtReader::new(&buf[..]));
        let mut n = 0usize;
        for r in routes.by_ref() {
            let r = r.unwrap();
            assert_eq!(r.kind, RouteKind::Rib);
            let s = usize::from(r.peer.index.unwrap());
            let (prefix, attrs) = expected[s][n / 3];
            assert_eq!(r.prefix, prefix);
            assert_eq!(r.peer.asn, table.speakers()[s].asn);
            assert_eq!(&*r.attrs, attrs, "speaker {s} prefix {prefix:?}");
            n += 1;
        }
        assert_eq!(n, 12_000);
        let peers = routes.peer_table().unwrap();
        assert_eq!(peers.view_name, VIEW_NAME);
        assert_eq!(peers.peers.len(), 3);
        assert!(matches!(expected[0].last().unwrap().0, Prefix::V6(_)));
    }

    /// The same dump through an independent decoder (bgpkit-parser): every
    /// entry's prefix, peer, next hop, AS path, ORIGIN, MED and communities.
    #[test]
    fn dump_matches_bgpkit_parser() {
        use bgpkit_parser::models::{self as bk, AsPathSegment, MetaCommunity};

        let cfg = SynthConfig {
            ipv4: 2_000,
            ipv6: 500,
            speakers: 2,
            seed: 5,
            ..SynthConfig::default()
        };
        let table = generate(&cfg).unwrap();
        let mut buf = Vec::new();
        write_table_dump_v2(&table, 1_700_000_000, &mut buf).unwrap();
        let routes: Vec<Vec<_>> = (0..2)
            .map(|s| table.speaker_routes(s).unwrap().to_vec())
            .collect();
        let parser = bgpkit_parser::BgpkitParser::from_reader(std::io::Cursor::new(buf));
        let mut n = 0usize;
        for e in parser.into_elem_iter() {
            let s = usize::from(e.peer_asn.to_u32() != table.speakers()[0].asn);
            let (prefix, attrs) = &routes[s][n / 2];
            assert_eq!(Prefix::from(e.prefix.prefix), *prefix);
            assert_eq!(e.peer_asn.to_u32(), table.speakers()[s].asn);
            let nh = match attrs.next_hop {
                Some(NextHop::V4(a)) => IpAddr::V4(a),
                Some(NextHop::V6 { global, .. }) => IpAddr::V6(global),
                None => panic!("no next hop"),
            };
            assert_eq!(e.next_hop, Some(nh));
            let path: Vec<u32> = e
                .as_path
                .iter()
                .flat_map(|p| p.segments.iter())
                .flat_map(|seg| match seg {
                    AsPathSegment::AsSequence(a) => {
                        a.iter().map(|x| x.to_u32()).collect::<Vec<u32>>()
                    }
                    _ => panic!("unexpected segment {seg:?}"),
                })
                .collect();
            assert_eq!(path, attrs.as_path.iter().collect::<Vec<_>>());
            let origin = match e.origin {
                Some(bk::Origin::IGP) => Origin::Igp,
                Some(bk::Origin::EGP) => Origin::Egp,
                _ => Origin::Incomplete,
            };
            assert_eq!(Some(origin), attrs.origin);
            // bgpkit-parser reports a missing MED as 0.
            assert_eq!(e.med.filter(|_| attrs.med.is_some()), attrs.med);
            let (mut plain, mut large) = (Vec::new(), Vec::new());
            for c in e.communities.iter().flatten() {
                match c {
                    MetaCommunity::Plain(bk::Community::Custom(asn, v)) => {
                        plain.push(Community::new(asn.to_u32() as u16, *v));
                    }
                    MetaCommunity::Large(l) => large.push(LargeCommunity {
                        global: l.global_admin,
                        local1: l.local_data[0],
                        local2: l.local_data[1],
                    }),
                    other => panic!("unexpected community {other:?}"),
                }
            }
            assert_eq!(plain, attrs.communities.as_slice());
            assert_eq!(large, attrs.large_communities.as_slice());
            n += 1;
        }
        assert_eq!(n, 5_000);
    }
}
