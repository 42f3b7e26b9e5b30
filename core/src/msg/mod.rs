//! BGP messages (RFC 4271 §4): header framing, OPEN, UPDATE, NOTIFICATION,
//! KEEPALIVE and ROUTE-REFRESH (RFC 2918, RFC 7313).
//!
//! A driver frames with [`header::peek_len`], then calls
//! [`Message::decode`] on the whole frame. Every decode error maps to the
//! NOTIFICATION to send through `From<&XError> for Notification`.

pub mod header;
pub mod keepalive;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod update;

pub use header::HeaderError;
pub use keepalive::Keepalive;
pub use notification::{Notification, NotificationError};
pub use open::{Open, OpenError};
pub use route_refresh::{RouteRefresh, RouteRefreshError, RouteRefreshSubtype};
pub use update::Update;

use bytes::BytesMut;

use crate::cap::CapabilityError;
use crate::ctx::{DecodeCtx, EncodeCtx};
use crate::iana::MsgType;

/// Any BGP message, owned.
// UPDATE is the common message: boxing it would cost an allocation per
// UPDATE to save bytes on the rare OPEN and KEEPALIVE.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// A message that could not be decoded; each variant maps to the
/// NOTIFICATION to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Header error (RFC 4271 §6.1).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// OPEN error (RFC 4271 §6.2).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// An UPDATE error that calls for a session reset (RFC 7606 §2).
    #[error(transparent)]
    Update(#[from] update::UpdateError),
    /// NOTIFICATION body unreadable.
    #[error(transparent)]
    Notification(#[from] NotificationError),
    /// ROUTE-REFRESH error (RFC 7313 §5).
    #[error(transparent)]
    RouteRefresh(#[from] RouteRefreshError),
}

impl From<&MessageError> for Notification {
    fn from(e: &MessageError) -> Self {
        match e {
            MessageError::Header(e) => e.into(),
            MessageError::Open(e) => e.into(),
            // The UPDATE codec owns the subcode and Data of each UPDATE
            // error (RFC 4271 §6.3, RFC 7606).
            MessageError::Update(e) => {
                let d = e.notification();
                Self::new(d.code, d.subcode, d.data)
            }
            MessageError::Notification(e) => e.into(),
            MessageError::RouteRefresh(e) => e.into(),
        }
    }
}

/// A message that could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message exceeds the allowed size.
    #[error("message of {len} bytes exceeds the {max}-byte maximum")]
    TooLong {
        /// Encoded length (bytes).
        len: usize,
        /// Allowed maximum (bytes).
        max: usize,
    },
    /// A capability value exceeds 255 bytes.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// The UPDATE encoder refused the update.
    #[error(transparent)]
    Update(#[from] update::EncodeError),
}

impl Message {
    /// Its message type.
    #[must_use]
    pub const fn msg_type(&self) -> MsgType {
        match self {
            Self::Open(_) => MsgType::Open,
            Self::Update(_) => MsgType::Update,
            Self::Notification(_) => MsgType::Notification,
            Self::Keepalive => MsgType::Keepalive,
            Self::RouteRefresh(_) => MsgType::RouteRefresh,
        }
    }

    /// Decodes one whole message, header included, as cut by
    /// [`header::peek_len`]. The header is checked again, and its length
    /// must equal `frame.len()`.
    ///
    /// UPDATEs go through [`Update::decode`]; an error there is the
    /// session-reset case of RFC 7606, and recoverable malformations are
    /// absorbed by it (call it directly to see the treatment).
    ///
    /// # Errors
    /// [`MessageError`]; send `Notification::from(&err)` and close.
    pub fn decode(frame: &[u8], ctx: &DecodeCtx) -> Result<Self, MessageError> {
        let len = header::peek_len(frame, ctx.max_message_len())?;
        if len != Some(frame.len()) {
            let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
            return Err(HeaderError::BadLength { len }.into());
        }
        let msg_type = frame.get(18).copied().unwrap_or(0);
        let body = frame.get(header::HEADER_LEN..).unwrap_or_default();
        Ok(match MsgType::from(msg_type) {
            MsgType::Open => Self::Open(Open::decode(body)?),
            MsgType::Update => Self::Update(Update::decode(body, ctx)?.update),
            MsgType::Notification => Self::Notification(Notification::decode(body)?),
            MsgType::Keepalive => Self::Keepalive,
            MsgType::RouteRefresh => Self::RouteRefresh(RouteRefresh::decode(frame)?),
            _ => return Err(HeaderError::BadType { msg_type }.into()),
        })
    }

    /// Encodes the whole message (header included), appending to `out`.
    ///
    /// # Errors
    /// [`EncodeError`] when the message does not fit (OPEN over 4096
    /// bytes, a capability over 255, an UPDATE over the negotiated
    /// maximum).
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::Open(m) => m.encode(out)?,
            Self::Update(m) => m.encode(ctx, out)?,
            Self::Notification(m) => m.encode(out),
            Self::Keepalive => Keepalive.encode(out),
            Self::RouteRefresh(m) => m.encode(out),
        }
        Ok(())
    }
}

impl From<Open> for Message {
    fn from(m: Open) -> Self {
        Self::Open(m)
    }
}

impl From<Notification> for Message {
    fn from(m: Notification) -> Self {
        Self::Notification(m)
    }
}

impl From<RouteRefresh> for Message {
    fn from(m: RouteRefresh) -> Self {
        Self::RouteRefresh(m)
    }
}

#[cfg(test)]
mod tests;
