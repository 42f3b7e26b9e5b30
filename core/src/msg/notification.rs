//! NOTIFICATION message ([RFC 4271 §4.5]) and the shutdown communication of
//! Cease subcodes 2 and 4 ([RFC 9003 §2]).
//!
//! ```text
//! 0                   1                   2                   3
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [RFC 4271 §4.5]: https://www.rfc-editor.org/rfc/rfc4271#section-4.5
//! [RFC 9003 §2]: https://www.rfc-editor.org/rfc/rfc9003#section-2

use bytes::{BufMut, BytesMut};

use crate::iana::{ErrorCode, MsgType, cease, header_error};
use crate::msg::header;

/// Longest shutdown communication, bytes (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode (meaning depends on `code`; 0 is Unspecific).
    pub subcode: u8,
    /// Data field, as the error's definition lays it out.
    pub data: Vec<u8>,
}

/// A NOTIFICATION body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The body is shorter than the 2-byte code and subcode.
    #[error("NOTIFICATION body of {len} bytes is shorter than 2")]
    TooShort {
        /// Body length (bytes).
        len: usize,
    },
}

impl From<&NotificationError> for Notification {
    fn from(e: &NotificationError) -> Self {
        // A NOTIFICATION is never answered by another one (RFC 4271 §6.5:
        // the connection is closed); this mapping serves logging and the
        // header error a too-short message would have raised.
        let NotificationError::TooShort { len } = *e;
        let total = u16::try_from(len + header::HEADER_LEN).unwrap_or(u16::MAX);
        Self::new(
            ErrorCode::MessageHeader,
            header_error::BAD_MESSAGE_LENGTH,
            total.to_be_bytes().to_vec(),
        )
    }
}

impl Notification {
    /// A NOTIFICATION from its parts.
    #[must_use]
    pub const fn new(code: ErrorCode, subcode: u8, data: Vec<u8>) -> Self {
        Self {
            code,
            subcode,
            data,
        }
    }

    /// A Cease NOTIFICATION (RFC 4486) with an RFC 9003 shutdown
    /// communication.
    ///
    /// `subcode` should be [`cease::ADMIN_SHUTDOWN`] or
    /// [`cease::ADMIN_RESET`]; other subcodes get `msg` as data just the
    /// same. A message longer than 255 bytes is cut at the last UTF-8
    /// character boundary that fits, since the length is one octet.
    #[must_use]
    pub fn cease_shutdown(subcode: u8, msg: &str) -> Self {
        let mut end = msg.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        let text = msg.as_bytes().get(..end).unwrap_or_default();
        let mut data = Vec::with_capacity(1 + text.len());
        data.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
        data.extend_from_slice(text);
        Self::new(ErrorCode::Cease, subcode, data)
    }

    /// The RFC 9003 shutdown communication of a Cease/Administrative
    /// Shutdown or Cease/Administrative Reset, if there is a non-empty,
    /// well-formed one.
    ///
    /// RFC 9003 §2: a malformed communication (length past the data, bad
    /// UTF-8) is not shown as text; this returns `None` and the caller may
    /// log the raw data.
    #[must_use]
    pub fn shutdown_communication(&self) -> Option<&str> {
        let is_shutdown = self.code == ErrorCode::Cease
            && (self.subcode == cease::ADMIN_SHUTDOWN || self.subcode == cease::ADMIN_RESET);
        if !is_shutdown {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok().filter(|s| !s.is_empty())
    }

    /// Decodes a NOTIFICATION body (the bytes after the header).
    ///
    /// # Errors
    /// [`NotificationError::TooShort`] when fewer than 2 bytes are given.
    pub fn decode(body: &[u8]) -> Result<Self, NotificationError> {
        match body {
            [code, subcode, data @ ..] => Ok(Self::new((*code).into(), *subcode, data.to_vec())),
            _ => Err(NotificationError::TooShort { len: body.len() }),
        }
    }

    /// Encodes the whole message (header included). Data past the
    /// 4096-byte message limit is cut off.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = header::begin(out, MsgType::Notification);
        out.put_u8(self.code.into());
        out.put_u8(self.subcode);
        let room = crate::ctx::MAX_MESSAGE_LEN - header::MIN_NOTIFICATION_LEN;
        out.put_slice(self.data.get(..room).unwrap_or(&self.data));
        header::finish(out, start);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "code {} subcode {}", u8::from(self.code), self.subcode)?;
        if let Some(text) = self.shutdown_communication() {
            write!(f, " \"{}\"", text.escape_debug())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vector_hold_timer_expired() {
        let wire = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0x00, 0x15, 0x03, 0x04, 0x00,
        ];
        let n = Notification::new(ErrorCode::HoldTimerExpired, 0, vec![]);
        let mut out = BytesMut::new();
        n.encode(&mut out);
        assert_eq!(&out[..], &wire);
        assert_eq!(Notification::decode(&wire[19..]), Ok(n));
    }

    #[test]
    fn vector_shutdown_communication() {
        // Cease / Administrative Shutdown, "maint" (RFC 9003 §2 layout).
        let body = [6, 2, 5, b'm', b'a', b'i', b'n', b't'];
        let n = Notification::decode(&body).unwrap();
        assert_eq!(n, Notification::cease_shutdown(2, "maint"));
        assert_eq!(n.shutdown_communication(), Some("maint"));
        let mut out = BytesMut::new();
        n.encode(&mut out);
        assert_eq!(&out[19..], &body);
        assert_eq!(
            usize::from(u16::from_be_bytes([out[16], out[17]])),
            out.len()
        );
    }

    #[test]
    fn shutdown_communication_rejects_malformed() {
        let n = |sub: u8, data: &[u8]| Notification::new(ErrorCode::Cease, sub, data.to_vec());
        assert_eq!(n(2, &[]).shutdown_communication(), None);
        assert_eq!(n(2, &[0]).shutdown_communication(), None);
        assert_eq!(n(2, &[4, b'a']).shutdown_communication(), None);
        assert_eq!(n(4, &[2, 0xc3, 0x28]).shutdown_communication(), None);
        assert_eq!(n(3, &[1, b'a']).shutdown_communication(), None);
        assert_eq!(n(4, &[1, b'a', 9]).shutdown_communication(), Some("a"));
    }

    #[test]
    fn cease_shutdown_truncates_on_char_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let n = Notification::cease_shutdown(cease::ADMIN_RESET, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_communication().unwrap().chars().count(), 127);
    }

    #[test]
    fn too_short_body() {
        let e = Notification::decode(&[6]).unwrap_err();
        assert_eq!(e, NotificationError::TooShort { len: 1 });
        let n = Notification::from(&e);
        assert_eq!(
            (n.code, n.subcode, n.data),
            (ErrorCode::MessageHeader, 2, vec![0, 20])
        );
    }

    proptest! {
        #[test]
        fn round_trip(code: u8, subcode: u8, data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let n = Notification::new(code.into(), subcode, data);
            let mut out = BytesMut::new();
            n.encode(&mut out);
            prop_assert_eq!(header::peek_len(&out, 4096), Ok(Some(out.len())));
            prop_assert_eq!(Notification::decode(&out[19..]), Ok(n));
        }
    }
}
