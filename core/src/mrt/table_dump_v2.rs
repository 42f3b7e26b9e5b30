//! TABLE_DUMP_V2 records (RFC 6396 §4.3; ADD-PATH subtypes RFC 8050 §4).
//!
//! PEER_INDEX_TABLE (RFC 6396 §4.3.1):
//!
//! ```text
//! +---------------------------------------------------------------+
//! |                      Collector BGP ID                         |
//! +-------------------------------+-------------------------------+
//! |       View Name Length        |     View Name (variable)      |
//! +-------------------------------+-------------------------------+
//! |          Peer Count           |    Peer Entries (variable)
//! +---------------------------------------------------------------+
//! Peer Entry: Peer Type (1) | Peer BGP ID (4) | Peer IP (4/16) | Peer AS (2/4)
//! ```
//!
//! RIB_AFI records (RFC 6396 §4.3.2) and their ADD-PATH form (RFC 8050 §4.1):
//!
//! ```text
//! +---------------------------------------------------------------+
//! |                         Sequence Number                       |
//! +---------------+-----------------------------------------------+
//! | Prefix Length |  Prefix (variable)                            |
//! +---------------+---------------+-------------------------------+
//! |         Entry Count           |  RIB Entries (variable)
//! +-------------------------------+-------------------------------+
//! RIB Entry: Peer Index (2) | Originated Time (4) | [Path Identifier (4)]
//!            | Attribute Length (2) | BGP Attributes (variable)
//! ```
//!
//! Attributes in RIB entries always use 4-octet AS numbers and carry an
//! abbreviated MP_REACH_NLRI (next hop only, RFC 6396 §4.3.4).

use std::net::{IpAddr, Ipv4Addr};

use super::{AddrError, Body, MrtError, put_addr, read_addr};
use crate::iana::{Afi, Safi};
use crate::nlri::{AfiSafi, PathId, Prefix};
use crate::wire::Reader;

/// TABLE_DUMP_V2 subtype codes (RFC 6396 §4.3, RFC 8050 §4, IANA).
pub mod subtype {
    /// PEER_INDEX_TABLE.
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// RIB_IPV4_UNICAST.
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// RIB_IPV4_MULTICAST.
    pub const RIB_IPV4_MULTICAST: u16 = 3;
    /// RIB_IPV6_UNICAST.
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// RIB_IPV6_MULTICAST.
    pub const RIB_IPV6_MULTICAST: u16 = 5;
    /// RIB_GENERIC.
    pub const RIB_GENERIC: u16 = 6;
    /// RIB_IPV4_UNICAST_ADDPATH (RFC 8050).
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// RIB_IPV4_MULTICAST_ADDPATH (RFC 8050).
    pub const RIB_IPV4_MULTICAST_ADDPATH: u16 = 9;
    /// RIB_IPV6_UNICAST_ADDPATH (RFC 8050).
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    /// RIB_IPV6_MULTICAST_ADDPATH (RFC 8050).
    pub const RIB_IPV6_MULTICAST_ADDPATH: u16 = 11;
    /// RIB_GENERIC_ADDPATH (RFC 8050).
    pub const RIB_GENERIC_ADDPATH: u16 = 12;

    /// The family and ADD-PATH flag of a RIB_AFI subtype, `None` for others.
    #[must_use]
    pub const fn rib_family(s: u16) -> Option<(super::AfiSafi, bool)> {
        use super::AfiSafi;
        use crate::iana::{Afi, Safi};
        let (afi, safi, add_path) = match s {
            RIB_IPV4_UNICAST => (Afi::Ipv4, Safi::Unicast, false),
            RIB_IPV4_MULTICAST => (Afi::Ipv4, Safi::Multicast, false),
            RIB_IPV6_UNICAST => (Afi::Ipv6, Safi::Unicast, false),
            RIB_IPV6_MULTICAST => (Afi::Ipv6, Safi::Multicast, false),
            RIB_IPV4_UNICAST_ADDPATH => (Afi::Ipv4, Safi::Unicast, true),
            RIB_IPV4_MULTICAST_ADDPATH => (Afi::Ipv4, Safi::Multicast, true),
            RIB_IPV6_UNICAST_ADDPATH => (Afi::Ipv6, Safi::Unicast, true),
            RIB_IPV6_MULTICAST_ADDPATH => (Afi::Ipv6, Safi::Multicast, true),
            _ => return None,
        };
        Some((AfiSafi::new(afi, safi), add_path))
    }

    /// The RIB_AFI subtype for a family, `None` when there is none.
    #[must_use]
    pub const fn for_family(afi: crate::iana::Afi, add_path: bool) -> Option<u16> {
        use crate::iana::Afi;
        match (afi, add_path) {
            (Afi::Ipv4, false) => Some(RIB_IPV4_UNICAST),
            (Afi::Ipv6, false) => Some(RIB_IPV6_UNICAST),
            (Afi::Ipv4, true) => Some(RIB_IPV4_UNICAST_ADDPATH),
            (Afi::Ipv6, true) => Some(RIB_IPV6_UNICAST_ADDPATH),
            _ => None,
        }
    }
}

/// Peer Type bit: the peer address is IPv6 (RFC 6396 §4.3.1).
pub const PEER_TYPE_IPV6: u8 = 0x01;
/// Peer Type bit: the peer AS is 4 octets (RFC 6396 §4.3.1).
pub const PEER_TYPE_AS4: u8 = 0x02;

/// One entry of the PEER_INDEX_TABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerEntry {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's address (its family gives the Peer Type IPv6 bit).
    pub addr: IpAddr,
    /// The peer's AS number.
    pub asn: u32,
    /// Whether the AS was written in 4 octets (Peer Type bit 1). Kept so a
    /// table re-encodes byte for byte; the writer sets it when `asn`
    /// needs it.
    pub as4: bool,
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIndexTable {
    /// The collector's BGP identifier.
    pub collector_id: Ipv4Addr,
    /// View name (UTF-8 is not required by the RFC; decoded lossily).
    pub view_name: String,
    /// Peers, indexed by RIB entries' Peer Index.
    pub peers: Vec<PeerEntry>,
}

impl Default for PeerEntry {
    fn default() -> Self {
        Self {
            bgp_id: Ipv4Addr::UNSPECIFIED,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            asn: 0,
            as4: true,
        }
    }
}

impl PeerIndexTable {
    /// Decodes a PEER_INDEX_TABLE body; `base` is its stream offset.
    ///
    /// # Errors
    /// [`MrtError::Truncated`] when a field runs past the body.
    pub fn decode(body: &[u8], base: u64) -> Result<Self, MrtError> {
        let mut r = Reader::new(body);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let collector_id = r.ipv4().map_err(t("collector BGP ID"))?;
        let name_len = r.u16().map_err(t("view name length"))?;
        let name = r.take(usize::from(name_len)).map_err(t("view name"))?;
        let view_name = String::from_utf8_lossy(name).into_owned();
        let count = r.u16().map_err(t("peer count"))?;
        let mut peers = Vec::with_capacity(usize::from(count).min(r.remaining() / 9 + 1));
        for _ in 0..count {
            let peer_type = r.u8().map_err(t("peer type"))?;
            let bgp_id = r.ipv4().map_err(t("peer BGP ID"))?;
            let addr = if peer_type & PEER_TYPE_IPV6 != 0 {
                IpAddr::V6(r.ipv6().map_err(t("peer IP address"))?)
            } else {
                IpAddr::V4(r.ipv4().map_err(t("peer IP address"))?)
            };
            let as4 = peer_type & PEER_TYPE_AS4 != 0;
            let asn = if as4 {
                r.u32().map_err(t("peer AS"))?
            } else {
                u32::from(r.u16().map_err(t("peer AS"))?)
            };
            peers.push(PeerEntry {
                bgp_id,
                addr,
                asn,
                as4,
            });
        }
        Ok(Self {
            collector_id,
            view_name,
            peers,
        })
    }

    /// Appends the body encoding to `out`.
    ///
    /// # Errors
    /// [`MrtError::Unencodable`] for a view name over 65535 bytes or more
    /// than 65535 peers.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MrtError> {
        out.extend_from_slice(&self.collector_id.octets());
        let name = self.view_name.as_bytes();
        out.extend_from_slice(&len16("view name length", name.len())?.to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&len16("peer count", self.peers.len())?.to_be_bytes());
        for p in &self.peers {
            let as4 = p.as4 || p.asn > u32::from(u16::MAX);
            let mut ty = if as4 { PEER_TYPE_AS4 } else { 0 };
            if p.addr.is_ipv6() {
                ty |= PEER_TYPE_IPV6;
            }
            out.push(ty);
            out.extend_from_slice(&p.bgp_id.octets());
            put_addr(out, p.addr);
            if as4 {
                out.extend_from_slice(&p.asn.to_be_bytes());
            } else {
                out.extend_from_slice(&(p.asn as u16).to_be_bytes());
            }
        }
        Ok(())
    }
}

/// Checks that a length fits a 2-octet field.
pub(crate) fn len16(what: &'static str, n: usize) -> Result<u16, MrtError> {
    u16::try_from(n).map_err(|_| MrtError::Unencodable {
        what,
        value: n as u64,
    })
}

/// One RIB entry (RFC 6396 §4.3.4, RFC 8050 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RibEntry<'a> {
    /// Index into the PEER_INDEX_TABLE.
    pub peer_index: u16,
    /// When the route was received (seconds since the Unix epoch).
    pub originated: u32,
    /// Path identifier (ADD-PATH subtypes only).
    pub path_id: Option<PathId>,
    /// Raw path attributes: 4-octet AS numbers, abbreviated MP_REACH_NLRI.
    pub attrs: &'a [u8],
    /// Stream offset of the entry (bytes).
    pub offset: u64,
}

/// A RIB_AFI record: one prefix and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rib<'a> {
    /// Sequence number.
    pub sequence: u32,
    /// The family the subtype names.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: Prefix,
    /// True for the ADD-PATH subtypes (path identifiers present).
    pub add_path: bool,
    /// Number of entries the record declares.
    pub entry_count: u16,
    entries: &'a [u8],
    entries_offset: u64,
}

impl<'a> Rib<'a> {
    /// Decodes the fixed part of a RIB_AFI body of `family`; entries are
    /// read lazily by [`entries`](Self::entries).
    ///
    /// # Errors
    /// [`MrtError::Truncated`] or an invalid prefix length.
    pub fn decode(
        family: AfiSafi,
        add_path: bool,
        body: &'a [u8],
        base: u64,
    ) -> Result<Self, MrtError> {
        let mut r = Reader::new(body);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let sequence = r.u32().map_err(t("sequence number"))?;
        let prefix = decode_prefix(&mut r, family.afi, base)?;
        let entry_count = r.u16().map_err(t("entry count"))?;
        let entries_offset = base + r.position() as u64;
        Ok(Self {
            sequence,
            family,
            prefix,
            add_path,
            entry_count,
            entries: r.rest(),
            entries_offset,
        })
    }

    /// The entries, decoded one by one. The iterator yields exactly
    /// `entry_count` items (or stops after the first error), then reports
    /// trailing bytes as an error.
    #[must_use]
    pub fn entries(&self) -> RibEntries<'a> {
        RibEntries {
            r: Reader::new(self.entries),
            base: self.entries_offset,
            left: self.entry_count,
            add_path: self.add_path,
            done: false,
        }
    }
}

/// Reads a length-prefixed prefix, mapping errors to stream offsets.
pub(crate) fn decode_prefix(r: &mut Reader<'_>, afi: Afi, base: u64) -> Result<Prefix, MrtError> {
    use crate::nlri::NlriError;
    let at = base + r.position() as u64;
    Prefix::decode(r, afi).map_err(|e| match e {
        NlriError::Truncated(t) => MrtError::truncated("prefix", base, t),
        NlriError::InvalidLength { len, .. } => MrtError::Invalid {
            what: "prefix length",
            offset: at,
            value: u64::from(len),
        },
        NlriError::UnsupportedAfi(v) => MrtError::Invalid {
            what: "AFI",
            offset: at,
            value: u64::from(v),
        },
    })
}

/// Lazy iterator over a RIB record's entries.
#[derive(Debug, Clone)]
pub struct RibEntries<'a> {
    r: Reader<'a>,
    base: u64,
    left: u16,
    add_path: bool,
    done: bool,
}

impl<'a> RibEntries<'a> {
    fn entry(&mut self) -> Result<RibEntry<'a>, MrtError> {
        let base = self.base;
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let offset = base + self.r.position() as u64;
        let peer_index = self.r.u16().map_err(t("peer index"))?;
        let originated = self.r.u32().map_err(t("originated time"))?;
        let path_id = if self.add_path {
            Some(self.r.u32().map_err(t("path identifier"))?)
        } else {
            None
        };
        let len = self.r.u16().map_err(t("attribute length"))?;
        let attrs = self.r.take(usize::from(len)).map_err(t("attributes"))?;
        Ok(RibEntry {
            peer_index,
            originated,
            path_id,
            attrs,
            offset,
        })
    }
}

impl<'a> Iterator for RibEntries<'a> {
    type Item = Result<RibEntry<'a>, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            return (!self.r.is_empty()).then(|| {
                Err(MrtError::Trailing {
                    what: "RIB entries",
                    offset: self.base + self.r.position() as u64,
                    count: self.r.remaining(),
                })
            });
        }
        self.left -= 1;
        let e = self.entry();
        self.done = e.is_err();
        Some(e)
    }
}

/// A RIB_GENERIC record (RFC 6396 §4.3.3), recognized but not decoded
/// further: its NLRI format depends on AFI/SAFI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RibGeneric<'a> {
    /// Sequence number.
    pub sequence: u32,
    /// Address Family Identifier.
    pub afi: Afi,
    /// Subsequent AFI.
    pub safi: Safi,
    /// True for RIB_GENERIC_ADDPATH (RFC 8050).
    pub add_path: bool,
    /// NLRI, entry count and entries, raw.
    pub rest: &'a [u8],
}

impl<'a> RibGeneric<'a> {
    /// Decodes the fixed part of a RIB_GENERIC body.
    ///
    /// # Errors
    /// [`MrtError::Truncated`] when the body is shorter than 7 bytes.
    pub fn decode(add_path: bool, body: &'a [u8], base: u64) -> Result<Self, MrtError> {
        let mut r = Reader::new(body);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        Ok(Self {
            sequence: r.u32().map_err(t("sequence number"))?,
            afi: Afi::from(r.u16().map_err(t("AFI"))?),
            safi: Safi::from(r.u8().map_err(t("SAFI"))?),
            add_path,
            rest: r.rest(),
        })
    }
}

/// Dispatches a TABLE_DUMP_V2 body on its subtype.
pub(crate) fn decode(subtype: u16, body: &[u8], base: u64) -> Result<Body<'_>, MrtError> {
    if let Some((family, add_path)) = subtype::rib_family(subtype) {
        return Rib::decode(family, add_path, body, base).map(Body::Rib);
    }
    match subtype {
        subtype::PEER_INDEX_TABLE => PeerIndexTable::decode(body, base).map(Body::PeerIndexTable),
        subtype::RIB_GENERIC | subtype::RIB_GENERIC_ADDPATH => {
            let ap = subtype == subtype::RIB_GENERIC_ADDPATH;
            RibGeneric::decode(ap, body, base).map(Body::RibGeneric)
        }
        _ => Ok(Body::Unknown(body)),
    }
}

/// Appends a RIB_AFI body: sequence, prefix, entries.
///
/// # Errors
/// [`MrtError::Unencodable`] for more than 65535 entries or attributes
/// over 65535 bytes.
pub fn encode_rib<'e>(
    sequence: u32,
    prefix: &Prefix,
    entries: impl ExactSizeIterator<Item = &'e RibEntry<'e>>,
    out: &mut Vec<u8>,
) -> Result<(), MrtError> {
    out.extend_from_slice(&sequence.to_be_bytes());
    prefix.encode(out);
    out.extend_from_slice(&len16("entry count", entries.len())?.to_be_bytes());
    for e in entries {
        out.extend_from_slice(&e.peer_index.to_be_bytes());
        out.extend_from_slice(&e.originated.to_be_bytes());
        if let Some(id) = e.path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&len16("attribute length", e.attrs.len())?.to_be_bytes());
        out.extend_from_slice(e.attrs);
    }
    Ok(())
}

/// Reads an address of `afi`, with errors at stream offsets.
pub(crate) fn decode_addr(
    r: &mut Reader<'_>,
    afi: Afi,
    base: u64,
    what: &'static str,
) -> Result<IpAddr, MrtError> {
    let at = base + r.position() as u64;
    read_addr(r, afi).map_err(|e| match e {
        AddrError::Truncated(t) => MrtError::truncated(what, base, t),
        AddrError::Afi(v) => MrtError::Invalid {
            what: "AFI",
            offset: at,
            value: u64::from(v),
        },
    })
}
