//! TABLE_DUMP (v1) records (RFC 6396 §4.2). Subtype is the AFI (1 IPv4,
//! 2 IPv6); the prefix and peer address use that family.
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! |         View Number           |       Sequence Number         |
//! +-------------------------------+-------------------------------+
//! |                        Prefix (4 or 16 octets)                |
//! +---------------+---------------+-------------------------------+
//! | Prefix Length |    Status     |
//! +---------------+---------------+-------------------------------+
//! |                         Originated Time                       |
//! +---------------------------------------------------------------+
//! |                    Peer IP Address (4 or 16 octets)           |
//! +-------------------------------+-------------------------------+
//! |           Peer AS             |       Attribute Length        |
//! +-------------------------------+-------------------------------+
//! |                   BGP Attribute... (variable)
//! +---------------------------------------------------------------+
//! ```
//!
//! "The TABLE_DUMP Type does not permit 4-byte Peer AS numbers" (RFC 6396
//! §4.2): attributes use 2-octet AS numbers. Early writers batched several
//! entries behind one View/Sequence pair; [`TableDump::entries`] walks them
//! all, as bgpkit-parser does.

use std::net::IpAddr;

use super::MrtError;
use super::table_dump_v2::{decode_addr, len16};
use crate::iana::Afi;
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};
use crate::wire::Reader;

/// Subtype AFI_IPv4.
pub const AFI_IPV4: u16 = 1;
/// Subtype AFI_IPv6.
pub const AFI_IPV6: u16 = 2;

/// The family of a TABLE_DUMP subtype.
#[must_use]
pub const fn subtype_afi(subtype: u16) -> Option<Afi> {
    match subtype {
        AFI_IPV4 => Some(Afi::Ipv4),
        AFI_IPV6 => Some(Afi::Ipv6),
        _ => None,
    }
}

const fn addr_len(afi: Afi) -> usize {
    match afi {
        Afi::Ipv6 => 16,
        _ => 4,
    }
}

/// One TABLE_DUMP entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDumpEntry<'a> {
    /// View number of the record.
    pub view: u16,
    /// Sequence number of the record.
    pub sequence: u16,
    /// The prefix (host bits cleared).
    pub prefix: Prefix,
    /// Status octet ("unused ... SHOULD be set to 1", RFC 6396 §4.2).
    pub status: u8,
    /// Originated time (seconds since the Unix epoch).
    pub originated: u32,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// The peer's (2-octet) AS.
    pub peer_as: u16,
    /// Raw path attributes with 2-octet AS numbers.
    pub attrs: &'a [u8],
    /// Stream offset of the entry (bytes).
    pub offset: u64,
}

/// A TABLE_DUMP record: view, sequence and one or more entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDump<'a> {
    /// The family from the subtype.
    pub afi: Afi,
    /// View Number.
    pub view: u16,
    /// Sequence Number.
    pub sequence: u16,
    rest: &'a [u8],
    rest_offset: u64,
}

impl<'a> TableDump<'a> {
    /// Decodes the View and Sequence fields; entries are read lazily.
    ///
    /// # Errors
    /// [`MrtError::Invalid`] for a subtype other than 1 or 2,
    /// [`MrtError::Truncated`] for a body under 4 bytes.
    pub fn decode(subtype: u16, body: &'a [u8], base: u64) -> Result<Self, MrtError> {
        let afi = subtype_afi(subtype).ok_or(MrtError::Invalid {
            what: "TABLE_DUMP subtype",
            offset: base.saturating_sub(6),
            value: u64::from(subtype),
        })?;
        let mut r = Reader::new(body);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let view = r.u16().map_err(t("view number"))?;
        let sequence = r.u16().map_err(t("sequence number"))?;
        Ok(Self {
            afi,
            view,
            sequence,
            rest: r.rest(),
            rest_offset: base + 4,
        })
    }

    /// The entries, one or more; stops after the first error.
    #[must_use]
    pub fn entries(&self) -> TableDumpEntries<'a> {
        TableDumpEntries {
            afi: self.afi,
            view: self.view,
            sequence: self.sequence,
            r: Reader::new(self.rest),
            base: self.rest_offset,
            first: true,
            done: false,
        }
    }
}

/// Lazy iterator over a TABLE_DUMP record's entries.
#[derive(Debug, Clone)]
pub struct TableDumpEntries<'a> {
    afi: Afi,
    view: u16,
    sequence: u16,
    r: Reader<'a>,
    base: u64,
    first: bool,
    done: bool,
}

impl<'a> TableDumpEntries<'a> {
    fn entry(&mut self) -> Result<TableDumpEntry<'a>, MrtError> {
        let (base, afi) = (self.base, self.afi);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let offset = base + self.r.position() as u64;
        let addr = decode_addr(&mut self.r, afi, base, "prefix")?;
        let len_at = base + self.r.position() as u64;
        let len = self.r.u8().map_err(t("prefix length"))?;
        let prefix = match addr {
            IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(Prefix::V4),
            IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(Prefix::V6),
        }
        .ok_or(MrtError::Invalid {
            what: "prefix length",
            offset: len_at,
            value: u64::from(len),
        })?;
        let status = self.r.u8().map_err(t("status"))?;
        let originated = self.r.u32().map_err(t("originated time"))?;
        let peer_addr = decode_addr(&mut self.r, afi, base, "peer IP address")?;
        let peer_as = self.r.u16().map_err(t("peer AS"))?;
        let alen = self.r.u16().map_err(t("attribute length"))?;
        let attrs = self.r.take(usize::from(alen)).map_err(t("attributes"))?;
        Ok(TableDumpEntry {
            view: self.view,
            sequence: self.sequence,
            prefix,
            status,
            originated,
            peer_addr,
            peer_as,
            attrs,
            offset,
        })
    }
}

impl<'a> Iterator for TableDumpEntries<'a> {
    type Item = Result<TableDumpEntry<'a>, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || (!self.first && self.r.is_empty()) {
            return None;
        }
        self.first = false;
        let e = self.entry();
        self.done = e.is_err();
        Some(e)
    }
}

impl TableDumpEntry<'_> {
    /// Appends this entry as a complete TABLE_DUMP body (view, sequence,
    /// entry).
    ///
    /// # Errors
    /// [`MrtError::Unencodable`] for attributes over 65535 bytes or a prefix
    /// whose family differs from the peer address's.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MrtError> {
        if self.prefix.addr().is_ipv4() != self.peer_addr.is_ipv4() {
            return Err(MrtError::Unencodable {
                what: "TABLE_DUMP peer address family",
                value: 0,
            });
        }
        out.extend_from_slice(&self.view.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        super::put_addr(out, self.prefix.addr());
        out.push(self.prefix.len());
        out.push(self.status);
        out.extend_from_slice(&self.originated.to_be_bytes());
        super::put_addr(out, self.peer_addr);
        out.extend_from_slice(&self.peer_as.to_be_bytes());
        out.extend_from_slice(&len16("attribute length", self.attrs.len())?.to_be_bytes());
        out.extend_from_slice(self.attrs);
        Ok(())
    }
}

/// True when a TABLE_DUMP body of `subtype` walks entry by entry to end
/// exactly 4 bytes past its declared length: the "Length 4 bytes short"
/// framing of early RIPE RIS dumps (see `Record::length_corrected`).
#[must_use]
pub fn needs_length_correction(subtype: u16, body: &[u8]) -> bool {
    let Some(afi) = subtype_afi(subtype) else {
        return false;
    };
    // Prefix, length, status, time, peer IP, peer AS, attribute length.
    let fixed = addr_len(afi) * 2 + 10;
    let mut at = 4usize;
    while at < body.len() {
        let Some(len_at) = at.checked_add(fixed - 2) else {
            return false;
        };
        let attr_len = match body.get(len_at..len_at + 2) {
            Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
            _ => return false,
        };
        let end = at + fixed + attr_len;
        if end == body.len() + 4 {
            return true;
        }
        if end > body.len() {
            return false;
        }
        at = end;
    }
    false
}
