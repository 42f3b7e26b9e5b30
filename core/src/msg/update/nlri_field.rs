//! Length-prefixed NLRI fields (RFC 4271 §4.3, with the ADD-PATH path
//! identifier of RFC 7911 §3): one validating pass, then an iterator that
//! decodes without allocating.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::iana::Afi;
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};

/// Checks that `buf` is a sequence of well-formed prefixes of `afi`
/// (each with a 4-octet path identifier first when `add_path`).
///
/// Returns the number of prefixes, or the offset in `buf` of the first
/// malformed one (length above the family maximum, or ending past `buf`).
pub(crate) fn validate(buf: &[u8], afi: Afi, add_path: bool) -> Result<usize, usize> {
    let max = match afi {
        Afi::Ipv4 => 32,
        Afi::Ipv6 => 128,
        _ => return Err(0),
    };
    let skip = if add_path { 4 } else { 0 };
    let mut i = 0usize;
    let mut count = 0usize;
    let mut start = 0usize;
    while i < buf.len() {
        start = i;
        let Some(&len) = buf.get(i + skip) else {
            return Err(start);
        };
        if len > max {
            return Err(start);
        }
        i += skip + 1 + (len as usize).div_ceil(8);
        count += 1;
    }
    if i == buf.len() {
        Ok(count)
    } else {
        Err(start)
    }
}

/// Iterator over a validated NLRI field: yields each [`Nlri`] without
/// allocating. Stops early (and stays stopped) on malformed input, which
/// cannot happen for fields that the view or MP parser validated.
#[derive(Debug, Clone)]
pub struct NlriIter<'a> {
    buf: &'a [u8],
    afi: Afi,
    add_path: bool,
}

impl<'a> NlriIter<'a> {
    /// An iterator over `buf`, a field of prefixes of `afi`, with path
    /// identifiers when `add_path`.
    #[must_use]
    pub(crate) const fn new(buf: &'a [u8], afi: Afi, add_path: bool) -> Self {
        Self { buf, afi, add_path }
    }

    /// The undecoded rest of the field.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// True when no prefix is left.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn step(&mut self) -> Option<Nlri> {
        let mut b = self.buf;
        let path_id = if self.add_path {
            let (id, rest) = b.split_first_chunk::<4>()?;
            b = rest;
            Some(u32::from_be_bytes(*id))
        } else {
            None
        };
        let (&len, rest) = b.split_first()?;
        let n = (len as usize).div_ceil(8);
        let (addr, rest) = rest.split_at_checked(n)?;
        let prefix = match self.afi {
            Afi::Ipv4 => {
                // At most 4 octets: shifting them in beats a memcpy call.
                let bits = addr
                    .iter()
                    .take(4)
                    .enumerate()
                    .fold(0u32, |v, (i, &b)| v | u32::from(b) << (24 - 8 * i));
                Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(bits), len)?)
            }
            Afi::Ipv6 => {
                let bits = addr
                    .iter()
                    .take(16)
                    .enumerate()
                    .fold(0u128, |v, (i, &b)| v | u128::from(b) << (120 - 8 * i));
                Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from_bits(bits), len)?)
            }
            Afi::Unknown(_) => return None,
        };
        self.buf = rest;
        Some(Nlri { path_id, prefix })
    }
}

impl Iterator for NlriIter<'_> {
    type Item = Nlri;

    /// Inlined where a receiver hands each prefix on: returned through
    /// memory, a prefix written in pieces and read back whole stalls.
    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        let r = self.step();
        if r.is_none() {
            self.buf = &[];
        }
        r
    }
}

impl std::iter::FusedIterator for NlriIter<'_> {}

/// An empty field (IPv4 unicast, no path identifiers).
impl Default for NlriIter<'_> {
    fn default() -> Self {
        Self::new(&[], Afi::Ipv4, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_counts_and_locates_errors() {
        // 10.0.0.0/8, 192.168.1.0/24, 0.0.0.0/0
        let ok = [8, 10, 24, 192, 168, 1, 0];
        assert_eq!(validate(&ok, Afi::Ipv4, false), Ok(3));
        let v: Vec<String> = NlriIter::new(&ok, Afi::Ipv4, false)
            .map(|n| n.prefix.to_string())
            .collect();
        assert_eq!(v, ["10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0"]);
        assert_eq!(
            validate(&[8, 10, 33, 1, 2, 3, 4, 5], Afi::Ipv4, false),
            Err(2)
        );
        assert_eq!(validate(&[8, 10, 24, 1, 2], Afi::Ipv4, false), Err(2));
        assert_eq!(validate(&[0, 0, 0, 7, 8, 10], Afi::Ipv4, true), Ok(1));
        assert_eq!(validate(&[0, 0, 0], Afi::Ipv4, true), Err(0));
        let n: Vec<Nlri> = NlriIter::new(&[0, 0, 0, 7, 8, 10], Afi::Ipv4, true).collect();
        assert_eq!(n.first().and_then(|n| n.path_id), Some(7));
    }
}
