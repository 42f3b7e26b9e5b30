//! KEEPALIVE message ([RFC 4271 §4.4]): a bare 19-byte header.
//!
//! [RFC 4271 §4.4]: https://www.rfc-editor.org/rfc/rfc4271#section-4.4

use bytes::BytesMut;

use crate::iana::MsgType;
use crate::msg::header;

/// A KEEPALIVE message. Its length (exactly 19) is checked by
/// [`header::peek_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Keepalive;

impl Keepalive {
    /// Encodes the whole message (19 bytes).
    pub fn encode(self, out: &mut BytesMut) {
        let start = header::begin(out, MsgType::Keepalive);
        header::finish(out, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector() {
        let mut wire = [0xffu8; 19];
        wire[16..].copy_from_slice(&[0x00, 0x13, 0x04]);
        let mut out = BytesMut::new();
        Keepalive.encode(&mut out);
        assert_eq!(&out[..], &wire);
        assert_eq!(header::peek_len(&wire, 4096), Ok(Some(19)));
    }
}
