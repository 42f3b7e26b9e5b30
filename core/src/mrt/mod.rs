//! MRT routing information export format ([RFC 6396], ADD-PATH [RFC 8050]).
//!
//! Layers, lowest first:
//!
//! - [`header`]: the common header (RFC 6396 §2) and its `_ET` form with
//!   microseconds (RFC 6396 §3).
//! - [`reader`]: [`MrtReader`], a streaming record reader over any
//!   `std::io::Read` with one reusable buffer, a record size bound and
//!   stop-or-resync error recovery.
//! - Body decoders, one per record type, all borrowing from the record:
//!   [`table_dump_v2`] (type 13, RFC 6396 §4.3 and RFC 8050 §4),
//!   [`table_dump`] (type 12, RFC 6396 §4.2), [`bgp4mp`] (types 16/17,
//!   RFC 6396 §4.4 and RFC 8050 §3) and [`legacy`] (deprecated type 5,
//!   RFC 6396 Appendix B.2.1). [`Record::decode`] dispatches on the type.
//! - [`writer`]: [`MrtWriter`] for PEER_INDEX_TABLE, RIB_IPV4/IPV6_UNICAST
//!   (and ADD-PATH) and BGP4MP(_ET) MESSAGE_AS4 records.
//! - [`routes`]: [`MrtRoutes`] / [`RouteDecoder`], one [`Route`] per
//!   prefix with decoded attributes, from RIB entries and UPDATEs.
//! - `open_file` (feature `compression`): a buffered reader for plain,
//!   gzip and bzip2 files.
//!
//! The codec is pure: bytes in, values out. Path attributes inside RIB
//! entries and BGP messages inside BGP4MP records are handed out as raw
//! bytes, with the [`DecodeCtx`](crate::DecodeCtx) the caller needs to
//! decode them.
//!
//! [RFC 6396]: https://www.rfc-editor.org/rfc/rfc6396
//! [RFC 8050]: https://www.rfc-editor.org/rfc/rfc8050

pub mod bgp4mp;
#[cfg(feature = "compression")]
mod compression;
mod error;
pub mod header;
pub mod legacy;
pub mod reader;
pub mod routes;
pub mod table_dump;
pub mod table_dump_v2;
pub mod writer;

#[cfg(test)]
mod tests;

#[cfg(feature = "compression")]
pub use compression::open_file;
pub use error::MrtError;
pub use header::{CommonHeader, HEADER_LEN};
pub use reader::{MAX_RECORD_LEN, MrtReader, ReaderStats, Record, Recovery};
pub use routes::{MrtRoutes, PeerInfo, Route, RouteDecoder, RouteKind};
pub use writer::MrtWriter;

use std::net::IpAddr;

use crate::iana::Afi;
use crate::wire::{Reader, Truncated};

/// MRT type codes (RFC 6396 §4, IANA "MRT Types").
pub mod mrt_type {
    /// BGP (deprecated, RFC 6396 Appendix B.2.1).
    pub const BGP: u16 = 5;
    /// OSPFv2 (RFC 6396 §4.1).
    pub const OSPF_V2: u16 = 11;
    /// TABLE_DUMP (RFC 6396 §4.2).
    pub const TABLE_DUMP: u16 = 12;
    /// TABLE_DUMP_V2 (RFC 6396 §4.3).
    pub const TABLE_DUMP_V2: u16 = 13;
    /// BGP4MP (RFC 6396 §4.4).
    pub const BGP4MP: u16 = 16;
    /// BGP4MP_ET: BGP4MP with a microsecond timestamp (RFC 6396 §4.4).
    pub const BGP4MP_ET: u16 = 17;
    /// ISIS (RFC 6396 §4.5).
    pub const ISIS: u16 = 32;
    /// ISIS_ET (RFC 6396 §4.5).
    pub const ISIS_ET: u16 = 33;
    /// OSPFv3 (RFC 6396 §4.6).
    pub const OSPF_V3: u16 = 48;
    /// OSPFv3_ET (RFC 6396 §4.6).
    pub const OSPF_V3_ET: u16 = 49;

    /// True for the `_ET` types, whose header carries microseconds
    /// (RFC 6396 §3).
    #[must_use]
    pub const fn is_extended_timestamp(t: u16) -> bool {
        matches!(t, BGP4MP_ET | ISIS_ET | OSPF_V3_ET)
    }

    /// True for every type RFC 6396 defines (current or deprecated ones
    /// this crate reads).
    #[must_use]
    pub const fn is_known(t: u16) -> bool {
        matches!(
            t,
            BGP | OSPF_V2
                | TABLE_DUMP
                | TABLE_DUMP_V2
                | BGP4MP
                | BGP4MP_ET
                | ISIS
                | ISIS_ET
                | OSPF_V3
                | OSPF_V3_ET
        )
    }

    /// A display name for a type code.
    #[must_use]
    pub const fn name(t: u16) -> &'static str {
        match t {
            BGP => "BGP",
            OSPF_V2 => "OSPFv2",
            TABLE_DUMP => "TABLE_DUMP",
            TABLE_DUMP_V2 => "TABLE_DUMP_V2",
            BGP4MP => "BGP4MP",
            BGP4MP_ET => "BGP4MP_ET",
            ISIS => "ISIS",
            ISIS_ET => "ISIS_ET",
            OSPF_V3 => "OSPFv3",
            OSPF_V3_ET => "OSPFv3_ET",
            _ => "UNKNOWN",
        }
    }
}

/// A record body decoded by [`Record::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body<'a> {
    /// TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 §4.3.1).
    PeerIndexTable(table_dump_v2::PeerIndexTable),
    /// TABLE_DUMP_V2 RIB_AFI record, with or without ADD-PATH
    /// (RFC 6396 §4.3.2, RFC 8050 §4.1).
    Rib(table_dump_v2::Rib<'a>),
    /// TABLE_DUMP_V2 RIB_GENERIC record (RFC 6396 §4.3.3), kept raw.
    RibGeneric(table_dump_v2::RibGeneric<'a>),
    /// TABLE_DUMP (v1) record: one or more entries (RFC 6396 §4.2).
    TableDump(table_dump::TableDump<'a>),
    /// BGP4MP(_ET) message record (RFC 6396 §4.4.2–§4.4.6, RFC 8050 §3).
    Bgp4mpMessage(bgp4mp::Message<'a>),
    /// BGP4MP(_ET) state change (RFC 6396 §4.4.1, §4.4.4).
    Bgp4mpStateChange(bgp4mp::StateChange),
    /// Deprecated type 5 BGP record (RFC 6396 Appendix B.2.1).
    Legacy(legacy::LegacyBgp<'a>),
    /// A type or subtype this crate does not decode; the body is raw.
    Unknown(&'a [u8]),
}

/// Reads an address of family `afi` (4 or 16 octets).
fn read_addr(r: &mut Reader<'_>, afi: Afi) -> Result<IpAddr, AddrError> {
    match afi {
        Afi::Ipv4 => Ok(IpAddr::V4(r.ipv4()?)),
        Afi::Ipv6 => Ok(IpAddr::V6(r.ipv6()?)),
        Afi::Unknown(v) => Err(AddrError::Afi(v)),
    }
}

/// Why an address field could not be read.
enum AddrError {
    Truncated(Truncated),
    Afi(u16),
}

impl From<Truncated> for AddrError {
    fn from(t: Truncated) -> Self {
        Self::Truncated(t)
    }
}

/// Writes an address (4 or 16 octets).
fn put_addr(out: &mut Vec<u8>, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}
