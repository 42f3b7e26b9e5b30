//! Routes out of MRT records: RIB entries (TABLE_DUMP, TABLE_DUMP_V2) and
//! the announcements and withdrawals of BGP UPDATEs (BGP4MP, type 5),
//! one [`Route`] per prefix, with decoded [`PathAttributes`].
//!
//! [`RouteDecoder`] works record by record for callers that also look at
//! the records (the summary tool); [`MrtRoutes`] wraps an [`MrtReader`]
//! into an iterator. Decode problems come out as `Err` items between the
//! routes and never end the iteration, except framing errors under
//! [`Recovery::Stop`](super::Recovery::Stop).

use std::collections::VecDeque;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::bgp4mp::Message;
use super::legacy::LegacyBgp;
use super::table_dump::TableDump;
use super::table_dump_v2::{PeerIndexTable, Rib};
use super::{Body, MrtError, MrtReader, Record};
use crate::attr::{MpReachForm, NextHop, PathAttributes, decode_path_attributes};
use crate::ctx::DecodeCtx;
use crate::iana::{Afi, MsgType, Safi};
use crate::msg::update::{Decoded, Treatment, Update, UpdateError};
use crate::nlri::{AfiSafi, PathId, Prefix};

/// The peer a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: IpAddr,
    /// The peer's AS.
    pub asn: u32,
    /// The peer's BGP identifier (TABLE_DUMP_V2 only).
    pub bgp_id: Option<Ipv4Addr>,
    /// The peer's PEER_INDEX_TABLE index (TABLE_DUMP_V2 only).
    pub index: Option<u16>,
}

/// What a [`Route`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// An entry of a RIB dump (TABLE_DUMP or TABLE_DUMP_V2).
    Rib,
    /// A prefix announced by an UPDATE (NLRI or MP_REACH_NLRI).
    Announce,
    /// A prefix withdrawn by an UPDATE (Withdrawn Routes or
    /// MP_UNREACH_NLRI), or treated as withdrawn (RFC 7606).
    Withdraw,
}

/// One prefix from one peer, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Record timestamp (seconds since the Unix epoch).
    pub timestamp: u32,
    /// Microseconds, for `_ET` records.
    pub microseconds: Option<u32>,
    /// RIB entry, announcement or withdrawal.
    pub kind: RouteKind,
    /// Who sent it.
    pub peer: PeerInfo,
    /// The prefix.
    pub prefix: Prefix,
    /// ADD-PATH path identifier, when the record carries one.
    pub path_id: Option<PathId>,
    /// Attributes; `next_hop` is the one for this prefix's family (the
    /// MP_REACH_NLRI next hop for non-IPv4 prefixes). Empty for
    /// withdrawals. Shared by the prefixes of one UPDATE.
    pub attrs: Arc<PathAttributes>,
    /// Stream offset of the record (bytes).
    pub record_offset: u64,
}

/// Turns records into routes; keeps the last PEER_INDEX_TABLE.
#[derive(Debug, Clone, Default)]
pub struct RouteDecoder {
    peers: Option<PeerIndexTable>,
    empty: Arc<PathAttributes>,
}

/// Fields every route of one record shares.
#[derive(Clone, Copy)]
struct Stamp {
    timestamp: u32,
    microseconds: Option<u32>,
    record_offset: u64,
}

type Out = VecDeque<Result<Route, MrtError>>;

impl RouteDecoder {
    /// A decoder with no peer table yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The last PEER_INDEX_TABLE seen.
    #[must_use]
    pub const fn peer_table(&self) -> Option<&PeerIndexTable> {
        self.peers.as_ref()
    }

    /// Decodes `rec` and appends its routes (and any decode errors) to
    /// `out`. PEER_INDEX_TABLE records update the table and yield nothing.
    pub fn decode(&mut self, rec: &Record<'_>, out: &mut Out) {
        let stamp = Stamp {
            timestamp: rec.header.timestamp,
            microseconds: rec.header.microseconds,
            record_offset: rec.offset,
        };
        match rec.decode() {
            Ok(Body::PeerIndexTable(t)) => self.peers = Some(t),
            Ok(Body::Rib(rib)) => self.rib(&rib, stamp, out),
            Ok(Body::TableDump(td)) => table_dump(&td, stamp, out),
            Ok(Body::Bgp4mpMessage(m)) => self.bgp4mp(&m, stamp, out),
            Ok(Body::Legacy(l)) => self.legacy(&l, rec.body_offset(), stamp, out),
            Ok(_) => {}
            Err(e) => out.push_back(Err(e)),
        }
    }

    fn rib(&self, rib: &Rib<'_>, stamp: Stamp, out: &mut Out) {
        let ctx = DecodeCtx::modern();
        for entry in rib.entries() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => return out.push_back(Err(e)),
            };
            let table = self.peers.as_ref();
            let Some(p) = table.and_then(|t| t.peers.get(usize::from(entry.peer_index))) else {
                out.push_back(Err(MrtError::UnknownPeer {
                    offset: entry.offset,
                    index: entry.peer_index,
                    count: table.map_or(0, |t| t.peers.len()),
                }));
                continue;
            };
            let peer = PeerInfo {
                addr: p.addr,
                asn: p.asn,
                bgp_id: Some(p.bgp_id),
                index: Some(entry.peer_index),
            };
            let attrs_at = entry.offset + 8 + if entry.path_id.is_some() { 4 } else { 0 };
            let Some(attrs) = entry_attrs(entry.attrs, &ctx, rib.prefix, attrs_at, out) else {
                continue;
            };
            out.push_back(Ok(route(
                stamp,
                RouteKind::Rib,
                peer,
                rib.prefix,
                entry.path_id,
                attrs,
            )));
        }
    }

    fn bgp4mp(&self, m: &Message<'_>, stamp: Stamp, out: &mut Out) {
        if m.msg_type() != Some(MsgType::Update) {
            return;
        }
        let peer = PeerInfo {
            addr: m.peering.peer_addr,
            asn: m.peering.peer_as,
            bgp_id: None,
            index: None,
        };
        let Some(body) = m.body() else {
            return out.push_back(Err(MrtError::Invalid {
                what: "BGP message length",
                offset: m.message_offset + 16,
                value: m.message.len() as u64,
            }));
        };
        self.update(
            body,
            &m.decode_ctx(),
            peer,
            m.message_offset + 19,
            stamp,
            out,
        );
    }

    fn legacy(&self, l: &LegacyBgp<'_>, base: u64, stamp: Stamp, out: &mut Out) {
        if let LegacyBgp::Message {
            subtype: super::legacy::subtype::UPDATE,
            peer_as,
            peer_addr,
            body,
            ..
        } = *l
        {
            let peer = PeerInfo {
                addr: IpAddr::V4(peer_addr),
                asn: u32::from(peer_as),
                bgp_id: None,
                index: None,
            };
            self.update(body, &DecodeCtx::legacy(), peer, base + 12, stamp, out);
        }
    }

    /// Routes of one UPDATE body.
    fn update(
        &self,
        body: &[u8],
        ctx: &DecodeCtx,
        peer: PeerInfo,
        offset: u64,
        stamp: Stamp,
        out: &mut Out,
    ) {
        let d = match decode_update(body, ctx) {
            Ok(d) => d,
            Err(error) => {
                return out.push_back(Err(MrtError::Attributes {
                    offset,
                    treatment: Treatment::SessionReset,
                    error,
                }));
            }
        };
        if let Some(error) = d.errors.first() {
            out.push_back(Err(MrtError::Attributes {
                offset,
                treatment: d.treatment,
                error: error.clone(),
            }));
        }
        let u = d.update;
        let mk = |kind, n: &crate::nlri::Nlri, attrs: &Arc<PathAttributes>| {
            route(stamp, kind, peer, n.prefix, n.path_id, Arc::clone(attrs))
        };
        let withdrawn = u
            .withdrawn
            .iter()
            .chain(u.mp_unreach.iter().flat_map(|m| m.withdrawn.iter()));
        for n in withdrawn {
            out.push_back(Ok(mk(RouteKind::Withdraw, n, &self.empty)));
        }
        if !u.nlri.is_empty() {
            let attrs = Arc::new(u.attrs.clone());
            for n in &u.nlri {
                out.push_back(Ok(mk(RouteKind::Announce, n, &attrs)));
            }
        }
        if let Some(mp) = u.mp_reach.as_ref().filter(|m| !m.nlri.is_empty()) {
            let mut a = u.attrs;
            a.next_hop = Some(mp.next_hop);
            let attrs = Arc::new(a);
            for n in &mp.nlri {
                out.push_back(Ok(mk(RouteKind::Announce, n, &attrs)));
            }
        }
    }
}

/// Decodes an UPDATE body. When it fails or reports errors under a context
/// without ADD-PATH and decodes cleanly with path identifiers for every
/// family, the latter is taken: BIRD before 2.0.8 wrote ADD-PATH sessions
/// with the plain MESSAGE_AS4 subtype (seen in mrtparse's `bird6_bgp`),
/// and bgpkit-parser guesses the same way. A deliberate deviation from
/// RFC 8050 §3 for operability with real dumps.
fn decode_update(body: &[u8], ctx: &DecodeCtx) -> Result<Decoded, UpdateError> {
    let first = Update::decode(body, ctx);
    let clean = matches!(&first, Ok(d) if d.errors.is_empty());
    if clean || !ctx.add_path.is_empty() {
        return first;
    }
    let mut guess = ctx.clone();
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        for safi in [Safi::Unicast, Safi::Multicast] {
            guess.add_path.push(AfiSafi::new(afi, safi));
        }
    }
    match Update::decode(body, &guess) {
        Ok(d) if d.errors.is_empty() => Ok(d),
        _ => first,
    }
}

fn route(
    stamp: Stamp,
    kind: RouteKind,
    peer: PeerInfo,
    prefix: Prefix,
    path_id: Option<PathId>,
    attrs: Arc<PathAttributes>,
) -> Route {
    Route {
        timestamp: stamp.timestamp,
        microseconds: stamp.microseconds,
        kind,
        peer,
        prefix,
        path_id,
        attrs,
        record_offset: stamp.record_offset,
    }
}

/// Decodes a RIB entry's attributes and picks the next hop for `prefix`.
/// Pushes an error for malformations; `None` when nothing was decodable.
fn entry_attrs(
    raw: &[u8],
    ctx: &DecodeCtx,
    prefix: Prefix,
    offset: u64,
    out: &mut Out,
) -> Option<Arc<PathAttributes>> {
    let d = match decode_path_attributes(raw, ctx, MpReachForm::MrtAbbreviated) {
        Ok(d) => d,
        Err(error) => {
            out.push_back(Err(MrtError::Attributes {
                offset,
                treatment: Treatment::SessionReset,
                error,
            }));
            return None;
        }
    };
    if let Some(error) = d.errors.first() {
        out.push_back(Err(MrtError::Attributes {
            offset,
            treatment: d.treatment,
            error: error.clone(),
        }));
    }
    let mut attrs = d.attrs;
    let mp_nh = d.mp_reach.map(|m| m.next_hop);
    attrs.next_hop = match (prefix, attrs.next_hop, mp_nh) {
        (Prefix::V4(_), Some(nh @ NextHop::V4(_)), _) => Some(nh),
        (_, _, Some(nh)) => Some(nh),
        (_, nh, None) => nh,
    };
    Some(Arc::new(attrs))
}

fn table_dump(td: &TableDump<'_>, stamp: Stamp, out: &mut Out) {
    let ctx = DecodeCtx::legacy();
    for entry in td.entries() {
        let e = match entry {
            Ok(e) => e,
            Err(e) => return out.push_back(Err(e)),
        };
        let peer = PeerInfo {
            addr: e.peer_addr,
            asn: u32::from(e.peer_as),
            bgp_id: None,
            index: None,
        };
        let attrs_at = e.offset + if e.prefix.addr().is_ipv4() { 18 } else { 42 };
        if let Some(attrs) = entry_attrs(e.attrs, &ctx, e.prefix, attrs_at, out) {
            out.push_back(Ok(route(
                stamp,
                RouteKind::Rib,
                peer,
                e.prefix,
                None,
                attrs,
            )));
        }
    }
}

/// An iterator of [`Route`]s (and decode errors) over an MRT stream.
#[derive(Debug)]
pub struct MrtRoutes<R> {
    reader: MrtReader<R>,
    decoder: RouteDecoder,
    queue: Out,
}

impl<R: Read> MrtRoutes<R> {
    /// Routes from `reader`.
    pub fn new(reader: MrtReader<R>) -> Self {
        Self {
            reader,
            decoder: RouteDecoder::new(),
            queue: VecDeque::new(),
        }
    }

    /// The underlying reader (for its offset and stats).
    #[must_use]
    pub const fn reader(&self) -> &MrtReader<R> {
        &self.reader
    }

    /// The last PEER_INDEX_TABLE seen.
    #[must_use]
    pub const fn peer_table(&self) -> Option<&PeerIndexTable> {
        self.decoder.peer_table()
    }
}

impl<R: Read> Iterator for MrtRoutes<R> {
    type Item = Result<Route, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            match self.reader.next_record() {
                Ok(Some(rec)) => self.decoder.decode(&rec, &mut self.queue),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
