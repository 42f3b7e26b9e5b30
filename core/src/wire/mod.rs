//! Bounds-checked reading of wire bytes.
//!
//! [`Reader`] is a cursor over a borrowed slice. Every getter checks the
//! remaining length and returns [`Truncated`] instead of panicking, so decoders
//! built on it cannot index out of bounds on hostile input. Writing uses
//! [`bytes::BufMut`] on a `BytesMut` directly.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The input ended before a field of `needed` bytes at `offset` could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("truncated: needed {needed} bytes at offset {offset}, {available} available")]
pub struct Truncated {
    /// Offset in the reader's slice where the read started (bytes).
    pub offset: usize,
    /// Bytes the read needed.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

/// A cursor over a byte slice with checked big-endian getters.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    #[must_use]
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    #[must_use]
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    #[must_use]
    pub const fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread rest of the slice, without consuming it.
    #[must_use]
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`Truncated`] when fewer than `n` bytes remain; the cursor is unchanged.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Truncated {
                offset: self.pos,
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    /// Takes the rest of the slice.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let r = self.rest();
        self.pos = self.buf.len();
        r
    }

    /// Takes exactly `N` bytes as an array.
    ///
    /// # Errors
    /// [`Truncated`] when fewer than `N` bytes remain.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one octet.
    ///
    /// # Errors
    /// [`Truncated`] at the end of input.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`Truncated`] when fewer than 2 bytes remain.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        self.array().map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Truncated`] when fewer than 4 bytes remain.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        self.array().map(u32::from_be_bytes)
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`Truncated`] when fewer than 8 bytes remain.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        self.array().map(u64::from_be_bytes)
    }

    /// Reads an IPv4 address (4 bytes).
    ///
    /// # Errors
    /// [`Truncated`] when fewer than 4 bytes remain.
    pub fn ipv4(&mut self) -> Result<Ipv4Addr, Truncated> {
        self.array::<4>().map(Ipv4Addr::from)
    }

    /// Reads an IPv6 address (16 bytes).
    ///
    /// # Errors
    /// [`Truncated`] when fewer than 16 bytes remain.
    pub fn ipv6(&mut self) -> Result<Ipv6Addr, Truncated> {
        self.array::<16>().map(Ipv6Addr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_reports_truncation_without_moving() {
        let mut r = Reader::new(&[0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(r.u16(), Ok(1));
        assert_eq!(r.u32(), Ok(2));
        let err = r.u16().unwrap_err();
        assert_eq!(
            err,
            Truncated {
                offset: 6,
                needed: 2,
                available: 1
            }
        );
        assert_eq!(r.position(), 6);
        assert_eq!(r.u8(), Ok(9));
        assert!(r.is_empty());
        assert!(r.take(usize::MAX).is_err());
    }
}
