//! ADD-PATH capability ([RFC 7911 §4]).
//!
//! ```text
//! +------------------------------------------------+
//! | Address Family Identifier (2 octets)           |
//! +------------------------------------------------+
//! | Subsequent Address Family Identifier (1 octet) |
//! +------------------------------------------------+
//! | Send/Receive (1 octet)                         |
//! +------------------------------------------------+   (repeated)
//! ```
//!
//! [RFC 7911 §4]: https://www.rfc-editor.org/rfc/rfc7911#section-4

use bytes::{BufMut, BytesMut};

use crate::nlri::AfiSafi;
use crate::wire::Reader;

/// Send/Receive field of one ADD-PATH entry (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddPathMode {
    /// 1: the sender can receive multiple paths.
    Receive,
    /// 2: the sender can send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// The mode from its wire value; `None` for anything but 1..=3.
    #[must_use]
    pub const fn from_wire(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Receive),
            2 => Some(Self::Send),
            3 => Some(Self::Both),
            _ => None,
        }
    }

    /// The wire value.
    #[must_use]
    pub const fn to_wire(self) -> u8 {
        match self {
            Self::Receive => 1,
            Self::Send => 2,
            Self::Both => 3,
        }
    }

    /// True for Send or Both.
    #[must_use]
    pub const fn can_send(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }

    /// True for Receive or Both.
    #[must_use]
    pub const fn can_receive(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }
}

/// Decodes the capability value; `None` when it is not a whole number of
/// 4-byte entries or has a Send/Receive value outside 1..=3.
///
/// RFC 7911 §4: "If any other value is received, then the capability SHOULD
/// be treated as not understood and ignored." The caller keeps such a
/// capability as unknown bytes.
pub(super) fn decode(value: &[u8]) -> Option<Vec<(AfiSafi, AddPathMode)>> {
    if !value.len().is_multiple_of(4) {
        return None;
    }
    let mut r = Reader::new(value);
    let mut out = Vec::with_capacity(value.len() / 4);
    while !r.is_empty() {
        let afi = r.u16().ok()?;
        let safi = r.u8().ok()?;
        let mode = AddPathMode::from_wire(r.u8().ok()?)?;
        out.push((AfiSafi::new(afi.into(), safi.into()), mode));
    }
    Some(out)
}

pub(super) fn encode(entries: &[(AfiSafi, AddPathMode)], out: &mut BytesMut) {
    for (family, mode) in entries {
        out.put_u16(family.afi.into());
        out.put_u8(family.safi.into());
        out.put_u8(mode.to_wire());
    }
}
