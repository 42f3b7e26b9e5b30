//! MRT common header (RFC 6396 §2) and the extended-timestamp header
//! (RFC 6396 §3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Timestamp                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Type              |            Subtype            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                             Length                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Microsecond Timestamp (_ET types only)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Message... (variable)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::mrt_type;

/// Length of the common header without the microsecond field (bytes).
pub const HEADER_LEN: usize = 12;

/// A decoded common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommonHeader {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// Microseconds within the second, for `_ET` types (RFC 6396 §3).
    pub microseconds: Option<u32>,
    /// MRT type ([`mrt_type`]).
    pub mrt_type: u16,
    /// Subtype (meaning depends on the type).
    pub subtype: u16,
    /// The Length field as written: body length, plus 4 for `_ET` types
    /// whose microsecond field "is included in the computation of the
    /// Length field value" (RFC 6396 §3).
    pub length: u32,
}

impl CommonHeader {
    /// Decodes the fixed 12 octets. The microsecond field, if any, is read
    /// separately by the caller ([`microseconds`](Self::microseconds) is
    /// `None` here).
    #[must_use]
    pub fn decode(b: [u8; HEADER_LEN]) -> Self {
        let [t0, t1, t2, t3, y0, y1, s0, s1, l0, l1, l2, l3] = b;
        Self {
            timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
            microseconds: None,
            mrt_type: u16::from_be_bytes([y0, y1]),
            subtype: u16::from_be_bytes([s0, s1]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        }
    }

    /// True when this type carries the microsecond field.
    #[must_use]
    pub const fn is_extended(&self) -> bool {
        mrt_type::is_extended_timestamp(self.mrt_type)
    }

    /// Appends the header (with the microsecond field for `_ET` types) to
    /// `out`. `body_len` is the message length without the microsecond
    /// field; the Length field is computed from it.
    pub fn encode(&self, body_len: u32, out: &mut Vec<u8>) {
        let ext = self.is_extended();
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.mrt_type.to_be_bytes());
        out.extend_from_slice(&self.subtype.to_be_bytes());
        let len = if ext {
            body_len.saturating_add(4)
        } else {
            body_len
        };
        out.extend_from_slice(&len.to_be_bytes());
        if ext {
            out.extend_from_slice(&self.microseconds.unwrap_or(0).to_be_bytes());
        }
    }

    /// Timestamp as seconds with a fractional microsecond part.
    #[must_use]
    pub fn time_f64(&self) -> f64 {
        f64::from(self.timestamp) + f64::from(self.microseconds.unwrap_or(0)) / 1e6
    }
}
