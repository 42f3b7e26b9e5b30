//! Message header and framing ([RFC 4271 §4.1], errors [RFC 4271 §6.1]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker (16 x 0xff)                  |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`peek_len`] checks a header before any body is parsed: a driver feeds it
//! its growing receive buffer and cuts a frame once it returns `Some(len)`.
//!
//! [RFC 4271 §4.1]: https://www.rfc-editor.org/rfc/rfc4271#section-4.1
//! [RFC 4271 §6.1]: https://www.rfc-editor.org/rfc/rfc4271#section-6.1

use bytes::{BufMut, BytesMut};

use crate::ctx::MAX_MESSAGE_LEN;
use crate::iana::{ErrorCode, MsgType, header_error};
use crate::msg::Notification;

/// Length of the fixed header (marker, length, type), bytes.
pub const HEADER_LEN: usize = 19;
/// The all-ones marker (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];

/// Minimum OPEN length (RFC 4271 §4.2), bytes.
pub const MIN_OPEN_LEN: usize = 29;
/// Minimum UPDATE length (RFC 4271 §4.3), bytes.
pub const MIN_UPDATE_LEN: usize = 23;
/// Minimum NOTIFICATION length (RFC 4271 §4.5), bytes.
pub const MIN_NOTIFICATION_LEN: usize = 21;
/// KEEPALIVE length (RFC 4271 §4.4), bytes.
pub const KEEPALIVE_LEN: usize = 19;
/// ROUTE-REFRESH length (RFC 2918 §3), bytes.
pub const ROUTE_REFRESH_LEN: usize = 23;

/// A Message Header Error (RFC 4271 §6.1), with the NOTIFICATION data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The marker is not all ones: Connection Not Synchronized (subcode 1).
    #[error("connection not synchronized: bad marker")]
    ConnectionNotSynchronized,
    /// The length is out of range for the message (subcode 2); the data
    /// field carries the erroneous length.
    #[error("bad message length {len}")]
    BadLength {
        /// The Length field as read (bytes).
        len: u16,
    },
    /// The type is not known (subcode 3); the data field carries it.
    #[error("bad message type {msg_type}")]
    BadType {
        /// The Type field as read.
        msg_type: u8,
    },
}

impl From<&HeaderError> for Notification {
    fn from(e: &HeaderError) -> Self {
        // RFC 4271 §6.1: "the Data field MUST contain the erroneous Length
        // field" / "the Data field MUST contain the erroneous Type field".
        let (subcode, data) = match *e {
            HeaderError::ConnectionNotSynchronized => {
                (header_error::CONNECTION_NOT_SYNCHRONIZED, Vec::new())
            }
            HeaderError::BadLength { len } => {
                (header_error::BAD_MESSAGE_LENGTH, len.to_be_bytes().to_vec())
            }
            HeaderError::BadType { msg_type } => (header_error::BAD_MESSAGE_TYPE, vec![msg_type]),
        };
        Self::new(ErrorCode::MessageHeader, subcode, data)
    }
}

/// Checks the header at the start of `buf` and returns the whole message
/// length once the header is complete.
///
/// Returns `Ok(None)` while fewer than 19 bytes are buffered; call again
/// with more bytes. `Ok(Some(len))` means the message is `len` bytes
/// (header included); it is complete once `buf.len() >= len`. `max_len` is
/// the negotiated maximum ([`crate::DecodeCtx::max_message_len`]); OPEN is
/// always held to 4096 bytes (RFC 8654 §4: the capability does not apply to
/// OPEN).
///
/// # Errors
/// A [`HeaderError`] whose [`Notification`] must be sent before closing.
pub fn peek_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, HeaderError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let (marker, rest) = header.split_at(16);
    // RFC 4271 §6.1: "If the Marker field of the message header is not as
    // expected, then a synchronization error has occurred and the Error
    // Subcode MUST be set to Connection Not Synchronized."
    if marker != MARKER {
        return Err(HeaderError::ConnectionNotSynchronized);
    }
    let [l0, l1, msg_type] = <[u8; 3]>::try_from(rest).unwrap_or([0; 3]);
    let len = u16::from_be_bytes([l0, l1]);
    let n = usize::from(len);
    let bad_len = Err(HeaderError::BadLength { len });
    if n < HEADER_LEN || n > max_len {
        return bad_len;
    }
    let ok = match MsgType::from(msg_type) {
        MsgType::Open => (MIN_OPEN_LEN..=MAX_MESSAGE_LEN).contains(&n),
        MsgType::Update => n >= MIN_UPDATE_LEN,
        MsgType::Notification => n >= MIN_NOTIFICATION_LEN,
        MsgType::Keepalive => n == KEEPALIVE_LEN,
        // Longer ROUTE-REFRESH messages pass framing so that the body decoder
        // can answer with the RFC 7313 §5 error, which carries the whole
        // message; shorter ones cannot even be parsed and fail here.
        MsgType::RouteRefresh => n >= ROUTE_REFRESH_LEN,
        _ => return Err(HeaderError::BadType { msg_type }),
    };
    if ok { Ok(Some(n)) } else { bad_len }
}

/// Writes a header with a placeholder length; returns the offset of the
/// message start so [`finish`] can fill in the length.
pub(crate) fn begin(out: &mut BytesMut, msg_type: MsgType) -> usize {
    let start = out.len();
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(msg_type.into());
    start
}

/// Fills in the length of the message that began at `start`; returns it.
pub(crate) fn finish(out: &mut BytesMut, start: usize) -> usize {
    let len = out.len().saturating_sub(start);
    let be = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(field) = out.get_mut(start + 16..start + 18) {
        field.copy_from_slice(&be);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, ty: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(ty);
        v
    }

    #[test]
    fn partial_header_needs_more() {
        let full = header(19, 4);
        for cut in 0..HEADER_LEN {
            assert_eq!(peek_len(&full[..cut], 4096), Ok(None), "cut at {cut}");
        }
        assert_eq!(peek_len(&full, 4096), Ok(Some(19)));
    }

    #[test]
    fn length_is_reported_before_body_arrives() {
        let mut buf = header(45, 2);
        assert_eq!(peek_len(&buf, 4096), Ok(Some(45)));
        buf.extend_from_slice(&[0; 26]);
        assert_eq!(peek_len(&buf, 4096), Ok(Some(45)));
    }

    #[test]
    fn bad_marker_is_connection_not_synchronized() {
        let mut buf = header(19, 4);
        buf[7] = 0xfe;
        let e = peek_len(&buf, 4096).unwrap_err();
        assert_eq!(e, HeaderError::ConnectionNotSynchronized);
        let n = Notification::from(&e);
        assert_eq!(
            (n.code, n.subcode, n.data.len()),
            (ErrorCode::MessageHeader, 1, 0)
        );
    }

    #[test]
    fn bad_lengths_carry_the_length() {
        let cases: &[(u16, u8, usize)] = &[
            (18, 4, 4096),
            (4097, 2, 4096),
            (20, 4, 4096),
            (28, 1, 4096),
            (22, 2, 4096),
            (20, 3, 4096),
            (22, 5, 4096),
            (5000, 1, 65535),
        ];
        for &(len, ty, max) in cases {
            let e = peek_len(&header(len, ty), max).unwrap_err();
            assert_eq!(e, HeaderError::BadLength { len }, "len {len} type {ty}");
            let n = Notification::from(&e);
            assert_eq!(n.code, ErrorCode::MessageHeader);
            assert_eq!(n.subcode, 2);
            assert_eq!(n.data, len.to_be_bytes());
        }
    }

    #[test]
    fn extended_length_accepted_when_negotiated() {
        assert_eq!(peek_len(&header(5000, 2), 65535), Ok(Some(5000)));
        assert!(peek_len(&header(5000, 2), 4096).is_err());
    }

    #[test]
    fn bad_type_carries_the_type() {
        for ty in [0u8, 6, 200] {
            let e = peek_len(&header(19, ty), 4096).unwrap_err();
            assert_eq!(e, HeaderError::BadType { msg_type: ty });
            let n = Notification::from(&e);
            assert_eq!((n.subcode, n.data.clone()), (3, vec![ty]));
        }
    }

    #[test]
    fn begin_finish_write_length() {
        let mut out = BytesMut::new();
        out.put_u8(0xaa);
        let start = begin(&mut out, MsgType::Keepalive);
        assert_eq!(finish(&mut out, start), 19);
        assert_eq!(peek_len(&out[1..], 4096), Ok(Some(19)));
    }
}
