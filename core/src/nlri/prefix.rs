//! Compact IPv4/IPv6 prefixes and their wire encoding (RFC 4271 §4.3).
//!
//! ```text
//! +---------------------------+
//! |   Length (1 octet, bits)  |
//! +---------------------------+
//! |   Prefix (ceil(len/8) octets, trailing bits irrelevant)
//! +---------------------------+
//! ```
//!
//! Inside the RIB a prefix is a masked integer and a length: 8 bytes for IPv4,
//! 17 for IPv6. `ipnet` types are used only at the edges (config, display).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::BufMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::iana::Afi;
use crate::wire::{Reader, Truncated};

/// Why an NLRI field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NlriError {
    /// The length octet exceeds the family's maximum (32 or 128 bits).
    #[error("prefix length {len} at offset {offset} exceeds {max} bits")]
    InvalidLength {
        /// Offset of the length octet (bytes).
        offset: usize,
        /// The length read (bits).
        len: u8,
        /// The family's maximum (bits).
        max: u8,
    },
    /// The field ended inside a prefix or path identifier.
    #[error("NLRI {0}")]
    Truncated(#[from] Truncated),
    /// The address family is not IPv4 or IPv6.
    #[error("unsupported AFI {0}")]
    UnsupportedAfi(u16),
}

/// An IPv4 prefix: address with host bits cleared, and a length in bits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    addr: u32,
    len: u8,
}

/// An IPv6 prefix: address with host bits cleared, and a length in bits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv6Prefix {
    addr: [u8; 16],
    len: u8,
}

/// An IPv4 or IPv6 prefix in compact form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

/// One hasher write per IPv4 prefix (the RIB tables hash every prefix they
/// touch).
impl std::hash::Hash for Ipv4Prefix {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.addr) << 8 | u64::from(self.len));
    }
}

/// Two hasher writes per IPv6 prefix.
impl std::hash::Hash for Ipv6Prefix {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_be_bytes(self.addr));
        state.write_u8(self.len);
    }
}

/// The family's own hash: equal prefixes hash equal, and an IPv4 and an
/// IPv6 prefix that collide are told apart by `Eq`.
impl std::hash::Hash for Prefix {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Self::V4(p) => p.hash(state),
            Self::V6(p) => p.hash(state),
        }
    }
}

const fn mask_v4(addr: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - len as u32))
    }
}

const fn mask_v6(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - len as u32))
    }
}

impl Ipv4Prefix {
    /// A prefix from an address and a length (bits); host bits are cleared.
    /// Returns `None` when `len > 32`.
    #[must_use]
    pub const fn new(addr: Ipv4Addr, len: u8) -> Option<Self> {
        if len > 32 {
            return None;
        }
        Some(Self {
            addr: mask_v4(addr.to_bits(), len),
            len,
        })
    }

    /// The network address.
    #[must_use]
    pub const fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr)
    }

    /// The network address as an integer.
    #[must_use]
    pub const fn bits(&self) -> u32 {
        self.addr
    }

    /// Prefix length (bits).
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a container size
    pub const fn len(&self) -> u8 {
        self.len
    }

    /// True for the default route 0.0.0.0/0.
    #[must_use]
    pub const fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True when `other` lies inside this prefix (or equals it).
    #[must_use]
    pub const fn contains(&self, other: &Self) -> bool {
        other.len >= self.len && mask_v4(other.addr, self.len) == self.addr
    }
}

impl Ipv6Prefix {
    /// A prefix from an address and a length (bits); host bits are cleared.
    /// Returns `None` when `len > 128`.
    #[must_use]
    pub const fn new(addr: Ipv6Addr, len: u8) -> Option<Self> {
        if len > 128 {
            return None;
        }
        Some(Self {
            addr: mask_v6(addr.to_bits(), len).to_be_bytes(),
            len,
        })
    }

    /// The network address.
    #[must_use]
    pub const fn addr(&self) -> Ipv6Addr {
        Ipv6Addr::from_octets(self.addr)
    }

    /// The network address as an integer.
    #[must_use]
    pub const fn bits(&self) -> u128 {
        u128::from_be_bytes(self.addr)
    }

    /// Prefix length (bits).
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a container size
    pub const fn len(&self) -> u8 {
        self.len
    }

    /// True for the default route ::/0.
    #[must_use]
    pub const fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True when `other` lies inside this prefix (or equals it).
    #[must_use]
    pub const fn contains(&self, other: &Self) -> bool {
        other.len >= self.len && mask_v6(other.bits(), self.len) == self.bits()
    }
}

impl Prefix {
    /// The address family of this prefix.
    #[must_use]
    pub const fn afi(&self) -> Afi {
        match self {
            Self::V4(_) => Afi::Ipv4,
            Self::V6(_) => Afi::Ipv6,
        }
    }

    /// Prefix length (bits).
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a container size
    pub const fn len(&self) -> u8 {
        match self {
            Self::V4(p) => p.len,
            Self::V6(p) => p.len,
        }
    }

    /// The network address.
    #[must_use]
    pub const fn addr(&self) -> IpAddr {
        match self {
            Self::V4(p) => IpAddr::V4(p.addr()),
            Self::V6(p) => IpAddr::V6(p.addr()),
        }
    }

    /// True for a host route (/32 or /128), as floating IPs are announced.
    #[must_use]
    pub const fn is_host(&self) -> bool {
        match self {
            Self::V4(p) => p.len == 32,
            Self::V6(p) => p.len == 128,
        }
    }

    /// True when `other` is the same family and lies inside this prefix.
    #[must_use]
    pub const fn contains(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::V4(a), Self::V4(b)) => a.contains(b),
            (Self::V6(a), Self::V6(b)) => a.contains(b),
            _ => false,
        }
    }

    /// Bytes this prefix takes on the wire without a path identifier:
    /// one length octet plus `ceil(len / 8)` address octets.
    #[must_use]
    pub const fn wire_len(&self) -> usize {
        1 + (self.len() as usize).div_ceil(8)
    }

    /// Reads one length-prefixed prefix of family `afi` (RFC 4271 §4.3).
    /// Bits past the prefix length are cleared, as BIRD and bgpdump do.
    ///
    /// # Errors
    /// [`NlriError::InvalidLength`] when the length exceeds the family's
    /// maximum, [`NlriError::Truncated`] when the address octets are short,
    /// [`NlriError::UnsupportedAfi`] for families other than IPv4/IPv6.
    pub fn decode(r: &mut Reader<'_>, afi: Afi) -> Result<Self, NlriError> {
        let offset = r.position();
        let len = r.u8()?;
        let bytes = (len as usize).div_ceil(8);
        match afi {
            Afi::Ipv4 => {
                if len > 32 {
                    return Err(NlriError::InvalidLength {
                        offset,
                        len,
                        max: 32,
                    });
                }
                let mut a = [0u8; 4];
                let src = r.take(bytes)?;
                a.get_mut(..bytes)
                    .ok_or(NlriError::InvalidLength {
                        offset,
                        len,
                        max: 32,
                    })?
                    .copy_from_slice(src);
                Ok(Self::V4(Ipv4Prefix {
                    addr: mask_v4(u32::from_be_bytes(a), len),
                    len,
                }))
            }
            Afi::Ipv6 => {
                if len > 128 {
                    return Err(NlriError::InvalidLength {
                        offset,
                        len,
                        max: 128,
                    });
                }
                let mut a = [0u8; 16];
                let src = r.take(bytes)?;
                a.get_mut(..bytes)
                    .ok_or(NlriError::InvalidLength {
                        offset,
                        len,
                        max: 128,
                    })?
                    .copy_from_slice(src);
                Ok(Self::V6(Ipv6Prefix {
                    addr: mask_v6(u128::from_be_bytes(a), len).to_be_bytes(),
                    len,
                }))
            }
            Afi::Unknown(v) => Err(NlriError::UnsupportedAfi(v)),
        }
    }

    /// Writes the length octet and the significant address octets.
    ///
    /// An IPv4 prefix is written in fixed-size puts (a /24 is one 4-octet
    /// put): a slice of variable length is a call to `memcpy`, paid for
    /// each of a full table's prefixes.
    pub fn encode(&self, out: &mut impl BufMut) {
        let len = self.len();
        let n = (len as usize).div_ceil(8);
        match self {
            Self::V4(p) => {
                let (len, a) = (u32::from(len), p.addr);
                #[allow(clippy::cast_possible_truncation)] // the shifts keep 16 bits
                match n {
                    0 => out.put_u8(p.len),
                    1 => out.put_u16((len << 8 | a >> 24) as u16),
                    2 => {
                        out.put_u8(p.len);
                        out.put_u16((a >> 16) as u16);
                    }
                    3 => out.put_u32(len << 24 | a >> 8),
                    _ => {
                        out.put_u8(p.len);
                        out.put_u32(a);
                    }
                }
            }
            Self::V6(p) => {
                out.put_u8(len);
                out.put_slice(p.addr.get(..n).unwrap_or_default());
            }
        }
    }
}

impl From<Ipv4Net> for Ipv4Prefix {
    fn from(n: Ipv4Net) -> Self {
        Self {
            addr: mask_v4(n.addr().to_bits(), n.prefix_len()),
            len: n.prefix_len(),
        }
    }
}

impl From<Ipv6Net> for Ipv6Prefix {
    fn from(n: Ipv6Net) -> Self {
        Self {
            addr: mask_v6(n.addr().to_bits(), n.prefix_len()).to_be_bytes(),
            len: n.prefix_len(),
        }
    }
}

impl From<IpNet> for Prefix {
    fn from(n: IpNet) -> Self {
        match n {
            IpNet::V4(n) => Self::V4(n.into()),
            IpNet::V6(n) => Self::V6(n.into()),
        }
    }
}

impl From<Ipv4Prefix> for Ipv4Net {
    fn from(p: Ipv4Prefix) -> Self {
        Self::new_assert(p.addr(), p.len)
    }
}

impl From<Ipv6Prefix> for Ipv6Net {
    fn from(p: Ipv6Prefix) -> Self {
        Self::new_assert(p.addr(), p.len)
    }
}

impl From<Prefix> for IpNet {
    fn from(p: Prefix) -> Self {
        match p {
            Prefix::V4(p) => Self::V4(p.into()),
            Prefix::V6(p) => Self::V6(p.into()),
        }
    }
}

impl std::str::FromStr for Prefix {
    type Err = ipnet::AddrParseError;

    /// Parses `a.b.c.d/len` or `x:y::/len`; host bits are cleared.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<IpNet>().map(Self::from)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(p) => p.fmt(f),
            Self::V6(p) => p.fmt(f),
        }
    }
}

impl fmt::Debug for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn decode_masks_trailing_bits_and_encodes_minimal_octets() {
        // 11.8.0.0/13 sent with bits set past the length (bgpdump's
        // updates.nlri_mask_trailing_bits case).
        let wire = [13u8, 11, 15];
        let mut r = Reader::new(&wire);
        let p = Prefix::decode(&mut r, Afi::Ipv4).unwrap();
        assert_eq!(p.to_string(), "11.8.0.0/13");
        assert!(r.is_empty());
        let mut out = BytesMut::new();
        p.encode(&mut out);
        assert_eq!(&out[..], &[13, 11, 8]);
    }

    #[test]
    fn decode_rejects_overlong_and_short() {
        assert!(matches!(
            Prefix::decode(&mut Reader::new(&[33, 1, 2, 3, 4, 5]), Afi::Ipv4),
            Err(NlriError::InvalidLength { len: 33, .. })
        ));
        assert!(matches!(
            Prefix::decode(&mut Reader::new(&[129]), Afi::Ipv6),
            Err(NlriError::InvalidLength { len: 129, .. })
        ));
        assert!(matches!(
            Prefix::decode(&mut Reader::new(&[24, 10, 0]), Afi::Ipv4),
            Err(NlriError::Truncated(_))
        ));
    }

    #[test]
    fn contains_and_host() {
        let a: Prefix = "10.0.0.0/8".parse().unwrap();
        let b: Prefix = "10.1.2.3/32".parse().unwrap();
        let c: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(a.contains(&b) && !b.contains(&a) && !a.contains(&c));
        assert!(b.is_host() && !a.is_host());
    }

    proptest! {
        #[test]
        fn v4_round_trip(addr: u32, len in 0u8..=32) {
            let p = Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(addr), len).unwrap());
            let mut out = BytesMut::new();
            p.encode(&mut out);
            prop_assert_eq!(out.len(), p.wire_len());
            let mut r = Reader::new(&out);
            prop_assert_eq!(Prefix::decode(&mut r, Afi::Ipv4).unwrap(), p);
            prop_assert!(r.is_empty());
            prop_assert_eq!(Prefix::from(IpNet::from(p)), p);
        }

        #[test]
        fn v6_round_trip(addr: u128, len in 0u8..=128) {
            let p = Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from_bits(addr), len).unwrap());
            let mut out = BytesMut::new();
            p.encode(&mut out);
            prop_assert_eq!(out.len(), p.wire_len());
            let mut r = Reader::new(&out);
            prop_assert_eq!(Prefix::decode(&mut r, Afi::Ipv6).unwrap(), p);
            prop_assert_eq!(p.to_string().parse::<Prefix>().unwrap(), p);
        }
    }
}
