//! MRT writer: TABLE_DUMP_V2 PEER_INDEX_TABLE and RIB_IPV4/IPV6_UNICAST
//! (plus ADD-PATH) records, BGP4MP(_ET) MESSAGE_AS4 records, and TABLE_DUMP
//! v1 entries (RFC 6396 §4.2–§4.4, RFC 8050).
//!
//! The writer frames bodies and owns one scratch buffer; attributes and BGP
//! messages come in already encoded (RIB entry attributes with 4-octet AS
//! numbers and the abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4).

use std::io::Write;

use super::bgp4mp::{Peering, subtype as bgp4mp_subtype};
use super::header::CommonHeader;
use super::table_dump::{self, TableDumpEntry};
use super::table_dump_v2::{self, PeerIndexTable, RibEntry, subtype as td2_subtype};
use super::{MrtError, mrt_type};
use crate::nlri::Prefix;

/// Writes MRT records to any [`Write`]. Wrap files in a `BufWriter`.
#[derive(Debug)]
pub struct MrtWriter<W> {
    out: W,
    body: Vec<u8>,
    head: Vec<u8>,
    offset: u64,
    records: u64,
}

impl<W: Write> MrtWriter<W> {
    /// A writer over `out`.
    pub const fn new(out: W) -> Self {
        Self {
            out,
            body: Vec::new(),
            head: Vec::new(),
            offset: 0,
            records: 0,
        }
    }

    /// Records written so far.
    #[must_use]
    pub const fn records(&self) -> u64 {
        self.records
    }

    /// Bytes written so far.
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Flushes and returns the wrapped output.
    ///
    /// # Errors
    /// [`MrtError::Io`] when the flush fails.
    pub fn into_inner(mut self) -> Result<W, MrtError> {
        self.out
            .flush()
            .map_err(|e| MrtError::io(self.offset, &e))?;
        Ok(self.out)
    }

    /// Writes one record whose body is in `self.body`.
    fn emit(&mut self, mut header: CommonHeader) -> Result<(), MrtError> {
        let len = u32::try_from(self.body.len()).map_err(|_| MrtError::Unencodable {
            what: "record length",
            value: self.body.len() as u64,
        })?;
        header.length = len;
        self.head.clear();
        header.encode(len, &mut self.head);
        let io = |off, e: std::io::Error| MrtError::io(off, &e);
        self.out
            .write_all(&self.head)
            .map_err(|e| io(self.offset, e))?;
        self.out
            .write_all(&self.body)
            .map_err(|e| io(self.offset, e))?;
        self.offset += (self.head.len() + self.body.len()) as u64;
        self.records += 1;
        Ok(())
    }

    /// Writes a raw record: header fields and a body as given.
    ///
    /// # Errors
    /// [`MrtError::Io`], or [`MrtError::Unencodable`] for a body over 4 GiB.
    pub fn write_raw(
        &mut self,
        timestamp: u32,
        microseconds: Option<u32>,
        mrt_type: u16,
        subtype: u16,
        body: &[u8],
    ) -> Result<(), MrtError> {
        self.body.clear();
        self.body.extend_from_slice(body);
        self.emit(header(timestamp, microseconds, mrt_type, subtype))
    }

    /// Writes a TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 §4.3.1). It must
    /// precede the RIB records that refer to its peers.
    ///
    /// # Errors
    /// [`MrtError::Io`] or [`MrtError::Unencodable`].
    pub fn write_peer_index_table(
        &mut self,
        timestamp: u32,
        table: &PeerIndexTable,
    ) -> Result<(), MrtError> {
        self.body.clear();
        table.encode(&mut self.body)?;
        let h = header(
            timestamp,
            None,
            mrt_type::TABLE_DUMP_V2,
            td2_subtype::PEER_INDEX_TABLE,
        );
        self.emit(h)
    }

    /// Writes a RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record, or its
    /// `_ADDPATH` form (RFC 8050 §4.1) when the entries carry path
    /// identifiers. Every entry's `attrs` must be encoded with 4-octet AS
    /// numbers and the abbreviated MP_REACH_NLRI (RFC 6396 §4.3.4).
    ///
    /// # Errors
    /// [`MrtError::Unencodable`] when some entries have a path identifier
    /// and others do not, or for field overflows; [`MrtError::Io`].
    pub fn write_rib(
        &mut self,
        timestamp: u32,
        sequence: u32,
        prefix: &Prefix,
        entries: &[RibEntry<'_>],
    ) -> Result<(), MrtError> {
        let with_id = entries.iter().filter(|e| e.path_id.is_some()).count();
        if with_id != 0 && with_id != entries.len() {
            return Err(MrtError::Unencodable {
                what: "RIB entries mixing path identifiers",
                value: with_id as u64,
            });
        }
        let sub =
            td2_subtype::for_family(prefix.afi(), with_id != 0).ok_or(MrtError::Unencodable {
                what: "RIB family",
                value: u64::from(u16::from(prefix.afi())),
            })?;
        self.body.clear();
        table_dump_v2::encode_rib(sequence, prefix, entries.iter(), &mut self.body)?;
        self.emit(header(timestamp, None, mrt_type::TABLE_DUMP_V2, sub))
    }

    /// Writes a BGP4MP MESSAGE_AS4 record (or MESSAGE_AS4_ADDPATH when
    /// `add_path`), as BGP4MP_ET when `microseconds` is given. `message`
    /// is a complete BGP message (marker and header included) encoded
    /// with 4-octet AS numbers.
    ///
    /// # Errors
    /// [`MrtError::Io`] or [`MrtError::Unencodable`].
    pub fn write_bgp4mp_message(
        &mut self,
        timestamp: u32,
        microseconds: Option<u32>,
        peering: &Peering,
        message: &[u8],
        add_path: bool,
    ) -> Result<(), MrtError> {
        self.body.clear();
        peering.encode(true, &mut self.body)?;
        self.body.extend_from_slice(message);
        let ty = if microseconds.is_some() {
            mrt_type::BGP4MP_ET
        } else {
            mrt_type::BGP4MP
        };
        let sub = bgp4mp_subtype::message_subtype(true, false, add_path);
        self.emit(header(timestamp, microseconds, ty, sub))
    }

    /// Writes a BGP4MP STATE_CHANGE_AS4 record (RFC 6396 §4.4.4).
    ///
    /// # Errors
    /// [`MrtError::Io`] or [`MrtError::Unencodable`].
    pub fn write_bgp4mp_state_change(
        &mut self,
        timestamp: u32,
        microseconds: Option<u32>,
        peering: &Peering,
        old_state: u16,
        new_state: u16,
    ) -> Result<(), MrtError> {
        self.body.clear();
        peering.encode(true, &mut self.body)?;
        self.body.extend_from_slice(&old_state.to_be_bytes());
        self.body.extend_from_slice(&new_state.to_be_bytes());
        let ty = if microseconds.is_some() {
            mrt_type::BGP4MP_ET
        } else {
            mrt_type::BGP4MP
        };
        let h = header(
            timestamp,
            microseconds,
            ty,
            bgp4mp_subtype::STATE_CHANGE_AS4,
        );
        self.emit(h)
    }

    /// Writes one TABLE_DUMP (v1) entry as its own record (RFC 6396 §4.2).
    /// `entry.attrs` must use 2-octet AS numbers.
    ///
    /// # Errors
    /// [`MrtError::Io`] or [`MrtError::Unencodable`].
    pub fn write_table_dump(
        &mut self,
        timestamp: u32,
        entry: &TableDumpEntry<'_>,
    ) -> Result<(), MrtError> {
        self.body.clear();
        entry.encode(&mut self.body)?;
        let sub = if entry.prefix.addr().is_ipv4() {
            table_dump::AFI_IPV4
        } else {
            table_dump::AFI_IPV6
        };
        self.emit(header(timestamp, None, mrt_type::TABLE_DUMP, sub))
    }
}

const fn header(timestamp: u32, microseconds: Option<u32>, t: u16, s: u16) -> CommonHeader {
    CommonHeader {
        timestamp,
        microseconds,
        mrt_type: t,
        subtype: s,
        length: 0,
    }
}
