//! Errors of the MRT reader and decoders. Every variant carries the absolute
//! byte offset in the (decompressed) stream where the problem starts.

use crate::msg::update::{Treatment, UpdateError};
use crate::wire::Truncated;

/// A framing or decoding error in an MRT stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrtError {
    /// The underlying reader failed.
    #[error("I/O error at offset {offset}: {message}")]
    Io {
        /// Stream offset of the read that failed (bytes).
        offset: u64,
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// The I/O error text.
        message: String,
    },
    /// The stream ended inside a record (a truncated last record).
    #[error(
        "truncated record at offset {offset}: {needed} bytes expected, {available} present before end of input"
    )]
    TruncatedRecord {
        /// Offset of the record's common header (bytes).
        offset: u64,
        /// Bytes the header (or header plus body) needed.
        needed: u64,
        /// Bytes that were present.
        available: u64,
    },
    /// A record declares a length above the reader's bound; nothing was
    /// allocated for it.
    #[error("record at offset {offset} declares {length} bytes, above the {max}-byte limit")]
    Oversized {
        /// Offset of the record's common header (bytes).
        offset: u64,
        /// Declared length (bytes).
        length: u32,
        /// The bound (bytes).
        max: u32,
    },
    /// In resync mode, a header that does not look like an MRT header (unknown
    /// type with a timestamp far from the previous record's).
    #[error(
        "implausible MRT header at offset {offset}: type {mrt_type}, subtype {subtype}, length {length}"
    )]
    BadHeader {
        /// Offset of the header (bytes).
        offset: u64,
        /// Type code read.
        mrt_type: u16,
        /// Subtype read.
        subtype: u16,
        /// Length read (bytes).
        length: u32,
    },
    /// Resync scanned its whole budget without finding a plausible header.
    #[error("no plausible MRT header within {scanned} bytes after offset {offset}")]
    ResyncFailed {
        /// Where scanning started (bytes).
        offset: u64,
        /// Bytes scanned (bytes).
        scanned: u64,
    },
    /// A field inside a record body ran past the end of the body.
    #[error("{what} truncated at offset {offset}: needed {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Stream offset of the field (bytes).
        offset: u64,
        /// Bytes the field needed.
        needed: usize,
        /// Bytes left in the body.
        available: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid {what} {value} at offset {offset}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Stream offset of the field (bytes).
        offset: u64,
        /// The value read.
        value: u64,
    },
    /// Bytes left over after the last field of a body.
    #[error("{count} trailing bytes after {what} at offset {offset}")]
    Trailing {
        /// The structure that should have ended.
        what: &'static str,
        /// Stream offset of the first trailing byte.
        offset: u64,
        /// How many bytes are left.
        count: usize,
    },
    /// A RIB entry names a peer index the PEER_INDEX_TABLE does not have, or
    /// no PEER_INDEX_TABLE preceded the RIB records (RFC 6396 §4.3.4).
    #[error("RIB entry at offset {offset} names peer index {index}, table has {count} peers")]
    UnknownPeer {
        /// Stream offset of the RIB entry.
        offset: u64,
        /// The index read.
        index: u16,
        /// Peers in the table (0 when no table was seen).
        count: usize,
    },
    /// Path attributes (of a RIB entry or TABLE_DUMP entry) or a BGP
    /// UPDATE inside a record were malformed. `treatment` is what RFC 7606
    /// calls for (`SessionReset` when nothing could be decoded); routes
    /// that could still be decoded are returned as well.
    #[error("malformed attributes/UPDATE at offset {offset} ({treatment:?}): {error}")]
    Attributes {
        /// Stream offset of the attribute section or BGP message (bytes).
        offset: u64,
        /// The RFC 7606 outcome.
        treatment: Treatment,
        /// The first error (offsets inside it are relative to `offset`).
        error: UpdateError,
    },
    /// A writer input that cannot be represented (e.g. more than 65535
    /// entries, a view name over 65535 bytes, a 2-octet AS field too small).
    #[error("cannot encode {what}: {value} out of range")]
    Unencodable {
        /// What was being written.
        what: &'static str,
        /// The offending value.
        value: u64,
    },
}

impl MrtError {
    /// Turns a body-relative [`Truncated`] into an error at an absolute
    /// offset; `base` is the stream offset of the slice the reader walked.
    pub(crate) fn truncated(what: &'static str, base: u64, t: Truncated) -> Self {
        Self::Truncated {
            what,
            offset: base + t.offset as u64,
            needed: t.needed,
            available: t.available,
        }
    }

    pub(crate) fn io(offset: u64, e: &std::io::Error) -> Self {
        Self::Io {
            offset,
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    /// The stream offset the error points at (bytes).
    #[must_use]
    pub const fn offset(&self) -> u64 {
        match self {
            Self::Io { offset, .. }
            | Self::TruncatedRecord { offset, .. }
            | Self::Oversized { offset, .. }
            | Self::BadHeader { offset, .. }
            | Self::ResyncFailed { offset, .. }
            | Self::Truncated { offset, .. }
            | Self::Invalid { offset, .. }
            | Self::Trailing { offset, .. }
            | Self::UnknownPeer { offset, .. }
            | Self::Attributes { offset, .. } => *offset,
            Self::Unencodable { .. } => 0,
        }
    }
}
