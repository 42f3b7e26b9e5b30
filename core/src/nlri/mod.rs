//! NLRI: prefixes in their compact in-RIB form, address families, and the
//! length-prefixed prefix encoding of RFC 4271 §4.3 with the ADD-PATH path
//! identifier of RFC 7911 §3.

mod prefix;

pub use prefix::{Ipv4Prefix, Ipv6Prefix, NlriError, Prefix};

use crate::iana::{Afi, Safi};

/// An address family: AFI and SAFI together (RFC 4760 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AfiSafi {
    /// Address Family Identifier.
    pub afi: Afi,
    /// Subsequent Address Family Identifier.
    pub safi: Safi,
}

impl AfiSafi {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Self = Self {
        afi: Afi::Ipv4,
        safi: Safi::Unicast,
    };
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Self = Self {
        afi: Afi::Ipv6,
        safi: Safi::Unicast,
    };

    /// A family from its parts.
    #[must_use]
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Self { afi, safi }
    }
}

impl std::fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.afi, self.safi) {
            (Afi::Ipv4, Safi::Unicast) => f.write_str("ipv4-unicast"),
            (Afi::Ipv6, Safi::Unicast) => f.write_str("ipv6-unicast"),
            (a, s) => write!(f, "afi {}/safi {}", u16::from(a), u8::from(s)),
        }
    }
}

/// ADD-PATH path identifier (RFC 7911 §3): four octets, opaque to receivers.
pub type PathId = u32;

/// One NLRI entry: a prefix and, when ADD-PATH is negotiated for its family
/// in this direction, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// Path identifier, present only under ADD-PATH (RFC 7911 §3).
    pub path_id: Option<PathId>,
    /// The prefix.
    pub prefix: Prefix,
}

impl Nlri {
    /// An NLRI without a path identifier.
    #[must_use]
    pub const fn new(prefix: Prefix) -> Self {
        Self {
            path_id: None,
            prefix,
        }
    }
}

impl From<Prefix> for Nlri {
    fn from(prefix: Prefix) -> Self {
        Self::new(prefix)
    }
}
