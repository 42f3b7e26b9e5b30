//! Capabilities advertised in OPEN ([RFC 5492]) and their negotiation.
//!
//! Each capability is a TLV inside an OPEN optional parameter of type 2:
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```
//!
//! [`Capability`] covers the capabilities a route server acts on; any other
//! one is kept as bytes. [`Negotiated`] is what both sides agreed on.
//!
//! [RFC 5492]: https://www.rfc-editor.org/rfc/rfc5492

mod add_path;
mod graceful_restart;
mod negotiated;
mod role;

pub use add_path::AddPathMode;
pub use graceful_restart::GracefulRestart;
pub use negotiated::Negotiated;
pub use role::Role;

use bytes::{BufMut, BytesMut};

use crate::iana::CapCode;
use crate::nlri::AfiSafi;
use crate::wire::Reader;

/// One capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Multiprotocol Extensions for one family (RFC 4760 §8).
    Multiprotocol(AfiSafi),
    /// Route Refresh (RFC 2918 §2).
    RouteRefresh,
    /// Enhanced Route Refresh (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Support for 4-octet AS numbers, with the sender's AS (RFC 6793 §3).
    FourOctetAs(u32),
    /// ADD-PATH per family (RFC 7911 §4).
    AddPath(Vec<(AfiSafi, AddPathMode)>),
    /// Graceful Restart (RFC 4724 §3).
    GracefulRestart(GracefulRestart),
    /// Extended Message (RFC 8654 §3).
    ExtendedMessage,
    /// BGP Role (RFC 9234 §4.1).
    Role(Role),
    /// A capability not modelled here (or a known one the RFC says to
    /// ignore when its value is bad, such as ADD-PATH with Send/Receive 0),
    /// kept as read.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// A capability that could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapabilityError {
    /// The capability header or value runs past its optional parameter.
    #[error("capability truncated at offset {offset}")]
    Truncated {
        /// Offset in the parameter value (bytes).
        offset: usize,
    },
    /// A known capability has a value of the wrong shape.
    #[error("capability {code} malformed: {len}-byte value")]
    Malformed {
        /// Capability code.
        code: u8,
        /// Value length as read (bytes).
        len: usize,
    },
    /// The value does not fit the one-octet Capability Length (encode).
    #[error("capability {code} value of {len} bytes exceeds 255")]
    TooLong {
        /// Capability code.
        code: u8,
        /// Value length (bytes).
        len: usize,
    },
}

impl Capability {
    /// Its capability code.
    #[must_use]
    pub fn code(&self) -> CapCode {
        match self {
            Self::Multiprotocol(_) => CapCode::Multiprotocol,
            Self::RouteRefresh => CapCode::RouteRefresh,
            Self::EnhancedRouteRefresh => CapCode::EnhancedRouteRefresh,
            Self::FourOctetAs(_) => CapCode::FourOctetAs,
            Self::AddPath(_) => CapCode::AddPath,
            Self::GracefulRestart(_) => CapCode::GracefulRestart,
            Self::ExtendedMessage => CapCode::ExtendedMessage,
            Self::Role(_) => CapCode::Role,
            Self::Unknown { code, .. } => CapCode::from(*code),
        }
    }

    /// Decodes every capability in the value of one Capabilities optional
    /// parameter (RFC 5492 §4: several may share one parameter), appending
    /// them to `out`.
    ///
    /// # Errors
    /// [`CapabilityError`] when a TLV is truncated or a known capability
    /// has a value of the wrong size.
    pub fn decode_all(value: &[u8], out: &mut Vec<Self>) -> Result<(), CapabilityError> {
        let mut r = Reader::new(value);
        while !r.is_empty() {
            let offset = r.position();
            let truncated = |_| CapabilityError::Truncated { offset };
            let code = r.u8().map_err(truncated)?;
            let len = r.u8().map_err(truncated)?;
            let value = r.take(usize::from(len)).map_err(truncated)?;
            out.push(Self::decode(code, value)?);
        }
        Ok(())
    }

    /// Decodes one capability from its code and value.
    ///
    /// # Errors
    /// [`CapabilityError::Malformed`] when a known capability's value has
    /// the wrong size.
    pub fn decode(code: u8, value: &[u8]) -> Result<Self, CapabilityError> {
        let malformed = || CapabilityError::Malformed {
            code,
            len: value.len(),
        };
        let cap = match (CapCode::from(code), value) {
            (CapCode::Multiprotocol, &[a0, a1, _reserved, safi]) => Self::Multiprotocol(
                AfiSafi::new(u16::from_be_bytes([a0, a1]).into(), safi.into()),
            ),
            (CapCode::RouteRefresh, []) => Self::RouteRefresh,
            (CapCode::EnhancedRouteRefresh, []) => Self::EnhancedRouteRefresh,
            (CapCode::ExtendedMessage, []) => Self::ExtendedMessage,
            (CapCode::FourOctetAs, &[a, b, c, d]) => {
                Self::FourOctetAs(u32::from_be_bytes([a, b, c, d]))
            }
            (CapCode::Role, &[role]) => Self::Role(role.into()),
            (CapCode::AddPath, v) => match add_path::decode(v) {
                Some(entries) => Self::AddPath(entries),
                None => Self::Unknown {
                    code,
                    value: v.to_vec(),
                },
            },
            (CapCode::GracefulRestart, v) => {
                Self::GracefulRestart(GracefulRestart::decode(v).ok_or_else(malformed)?)
            }
            (
                CapCode::Multiprotocol
                | CapCode::RouteRefresh
                | CapCode::EnhancedRouteRefresh
                | CapCode::ExtendedMessage
                | CapCode::FourOctetAs
                | CapCode::Role,
                _,
            ) => return Err(malformed()),
            (_, v) => Self::Unknown {
                code,
                value: v.to_vec(),
            },
        };
        Ok(cap)
    }

    /// Appends the TLV (code, length, value).
    ///
    /// # Errors
    /// [`CapabilityError::TooLong`] when the value exceeds 255 bytes; `out`
    /// is left as it was.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), CapabilityError> {
        let start = out.len();
        out.put_u8(self.code().into());
        out.put_u8(0);
        self.encode_value(out);
        let len = out.len() - start - 2;
        match (u8::try_from(len), out.get_mut(start + 1)) {
            (Ok(l), Some(slot)) => {
                *slot = l;
                Ok(())
            }
            _ => {
                out.truncate(start);
                Err(CapabilityError::TooLong {
                    code: self.code().into(),
                    len,
                })
            }
        }
    }

    fn encode_value(&self, out: &mut BytesMut) {
        match self {
            Self::Multiprotocol(f) => {
                out.put_u16(f.afi.into());
                out.put_u8(0);
                out.put_u8(f.safi.into());
            }
            Self::RouteRefresh | Self::EnhancedRouteRefresh | Self::ExtendedMessage => {}
            Self::FourOctetAs(asn) => out.put_u32(*asn),
            Self::AddPath(entries) => add_path::encode(entries, out),
            Self::GracefulRestart(gr) => gr.encode(out),
            Self::Role(role) => out.put_u8((*role).into()),
            Self::Unknown { value, .. } => out.put_slice(value),
        }
    }
}

#[cfg(test)]
mod tests;
