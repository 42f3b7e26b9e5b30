//! OPEN message ([RFC 4271 §4.2]) with capabilities as optional parameters
//! ([RFC 5492 §4]) and the extended optional parameters length ([RFC 9072]).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 9072 extended form: Opt Parm Len = 255, then a parameter type of
//! 255, then a 2-octet length; every parameter then has a 2-octet length.
//!
//! [RFC 4271 §4.2]: https://www.rfc-editor.org/rfc/rfc4271#section-4.2
//! [RFC 5492 §4]: https://www.rfc-editor.org/rfc/rfc5492#section-4
//! [RFC 9072]: https://www.rfc-editor.org/rfc/rfc9072

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use crate::cap::{Capability, CapabilityError, Role};
use crate::ctx::MAX_MESSAGE_LEN;
use crate::iana::{BGP_VERSION, ErrorCode, MsgType, open_error};
use crate::msg::{EncodeError, Notification, header};
use crate::wire::Reader;

/// Optional parameter type carrying capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Marker of the extended optional parameters form (RFC 9072 §2).
const PARAM_EXTENDED: u8 = 255;

/// An OPEN message, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// Protocol version (4).
    pub version: u8,
    /// My Autonomous System: the sender's AS, or AS_TRANS (23456) when it
    /// does not fit two octets (RFC 6793 §4.1).
    pub my_as: u16,
    /// Proposed hold time, seconds (0, or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in wire order, from every Capabilities parameter.
    pub capabilities: Vec<Capability>,
}

/// An OPEN that could not be read or was refused (RFC 4271 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Version other than 4 (subcode 1).
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion {
        /// Version the peer bid.
        version: u8,
    },
    /// The peer's AS is not the expected one (subcode 2).
    #[error("bad peer AS {asn}")]
    BadPeerAs {
        /// The AS the peer announced (4-octet capability value if present).
        asn: u32,
    },
    /// BGP Identifier unacceptable (subcode 3).
    #[error("bad BGP identifier {id}")]
    BadBgpId {
        /// The identifier received.
        id: Ipv4Addr,
    },
    /// Optional parameter type other than Capabilities (subcode 4).
    #[error("unsupported optional parameter type {param_type}")]
    UnsupportedOptionalParameter {
        /// The parameter type.
        param_type: u8,
    },
    /// Hold time of 1 or 2 seconds (subcode 6).
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime {
        /// The hold time received, seconds.
        hold_time: u16,
    },
    /// The roles do not pair (RFC 9234 §4.2, subcode 11).
    #[error("BGP role mismatch: local {local:?}, remote {remote:?}")]
    RoleMismatch {
        /// Our role.
        local: Role,
        /// The peer's role, if it sent one.
        remote: Option<Role>,
    },
    /// The optional parameters do not fit the message (subcode 0).
    #[error("malformed optional parameters at offset {offset}")]
    Malformed {
        /// Offset in the OPEN body (bytes).
        offset: usize,
    },
    /// A capability could not be read (subcode 0).
    #[error(transparent)]
    Capability(#[from] CapabilityError),
}

impl From<&OpenError> for Notification {
    fn from(e: &OpenError) -> Self {
        let (subcode, data) = match e {
            // RFC 4271 §6.2: "The Data field is a 2-octet unsigned integer,
            // which indicates the largest, locally-supported version number
            // less than the version the remote BGP peer bid [...], or if the
            // smallest, locally-supported version number is greater than the
            // version the remote BGP peer bid, then the smallest,
            // locally-supported version number." We support only 4.
            OpenError::UnsupportedVersion { .. } => (
                open_error::UNSUPPORTED_VERSION,
                u16::from(BGP_VERSION).to_be_bytes().to_vec(),
            ),
            OpenError::BadPeerAs { .. } => (open_error::BAD_PEER_AS, Vec::new()),
            OpenError::BadBgpId { .. } => (open_error::BAD_BGP_IDENTIFIER, Vec::new()),
            OpenError::UnsupportedOptionalParameter { .. } => {
                (open_error::UNSUPPORTED_OPTIONAL_PARAMETER, Vec::new())
            }
            OpenError::UnacceptableHoldTime { .. } => {
                (open_error::UNACCEPTABLE_HOLD_TIME, Vec::new())
            }
            OpenError::RoleMismatch { .. } => (open_error::ROLE_MISMATCH, Vec::new()),
            // RFC 4271 §6.2: "If one of the Optional Parameters in the OPEN
            // message is recognized, but is malformed, then the Error Subcode
            // MUST be set to 0 (Unspecific)."
            OpenError::Malformed { .. } | OpenError::Capability(_) => (0, Vec::new()),
        };
        Self::new(ErrorCode::Open, subcode, data)
    }
}

impl Open {
    /// The AS from the 4-octet AS capability, if the OPEN carries one.
    #[must_use]
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The BGP Role, if the OPEN carries one (the first one).
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
    }

    /// The sender's AS: the 4-octet capability's value, else My AS.
    #[must_use]
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// Decodes an OPEN body (the bytes after the header).
    ///
    /// Only the layout is checked here; the semantic checks of RFC 4271
    /// §6.2 (peer AS, hold time, identifier) belong to the session, which
    /// knows its configuration. A body that does not parse and bids a
    /// version other than 4 is reported as
    /// [`OpenError::UnsupportedVersion`].
    ///
    /// # Errors
    /// [`OpenError`] for truncated or inconsistent parameters, unsupported
    /// parameter types and malformed capabilities.
    pub fn decode(body: &[u8]) -> Result<Self, OpenError> {
        let version = body.first().copied().unwrap_or(0);
        Self::decode_inner(body).map_err(|e| {
            if version == BGP_VERSION {
                e
            } else {
                OpenError::UnsupportedVersion { version }
            }
        })
    }

    fn decode_inner(body: &[u8]) -> Result<Self, OpenError> {
        let mut r = Reader::new(body);
        let malformed = |r: &Reader<'_>| OpenError::Malformed {
            offset: r.position(),
        };
        let fixed = |r: &mut Reader<'_>| -> Option<(u8, u16, u16, Ipv4Addr, u8)> {
            Some((
                r.u8().ok()?,
                r.u16().ok()?,
                r.u16().ok()?,
                r.ipv4().ok()?,
                r.u8().ok()?,
            ))
        };
        let (version, my_as, hold_time, bgp_id, opt_len) =
            fixed(&mut r).ok_or_else(|| malformed(&r))?;
        // RFC 9072 §2 (paraphrased): when Non-Ext OP Len is non-zero, the
        // octet after it (Non-Ext OP Type) MUST be examined; 255 there
        // means the extended format is in use.
        let extended = opt_len != 0 && r.rest().first() == Some(&PARAM_EXTENDED);
        let params = if extended {
            let _ = r.u8();
            let len = r.u16().map_err(|_| malformed(&r))?;
            r.take(usize::from(len)).map_err(|_| malformed(&r))?
        } else {
            r.take(usize::from(opt_len)).map_err(|_| malformed(&r))?
        };
        if !r.is_empty() {
            return Err(malformed(&r));
        }
        let base = r.position() - params.len();
        let capabilities = decode_params(params, extended, base)?;
        Ok(Self {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Encodes the whole message (header included), using the RFC 9072
    /// extended form only when the parameters exceed 255 bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a capability value exceeds 255 bytes or the
    /// OPEN exceeds 4096 bytes; `out` is left as it was.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let mut caps = Vec::with_capacity(self.capabilities.len());
        let mut scratch = BytesMut::new();
        for cap in &self.capabilities {
            cap.encode(&mut scratch)?;
            caps.push(scratch.split().freeze());
        }
        // Pack capabilities into parameters of at most 255 value bytes.
        let mut params: Vec<Vec<u8>> = Vec::new();
        for cap in caps {
            match params.last_mut() {
                Some(p) if p.len() + cap.len() <= 255 => p.extend_from_slice(&cap),
                _ => params.push(cap.to_vec()),
            }
        }
        let short_len: usize = params.iter().map(|p| 2 + p.len()).sum();
        let start = header::begin(out, MsgType::Open);
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());
        if let Ok(len) = u8::try_from(short_len) {
            out.put_u8(len);
            for p in &params {
                out.put_u8(PARAM_CAPABILITIES);
                out.put_u8(u8::try_from(p.len()).unwrap_or(u8::MAX));
                out.put_slice(p);
            }
        } else {
            // RFC 9072 §2 (paraphrased): the extended form sets Non-Ext OP
            // Len and Non-Ext OP Type to 255, follows them with a two-octet
            // length, and gives every parameter a two-octet length; it is
            // used only when the parameters exceed 255 bytes.
            let all: Vec<u8> = params.concat();
            out.put_u8(PARAM_EXTENDED);
            out.put_u8(PARAM_EXTENDED);
            out.put_u16(u16::try_from(all.len() + 3).unwrap_or(u16::MAX));
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u16(u16::try_from(all.len()).unwrap_or(u16::MAX));
            out.put_slice(&all);
        }
        let len = header::finish(out, start);
        if len > MAX_MESSAGE_LEN {
            out.truncate(start);
            return Err(EncodeError::TooLong {
                len,
                max: MAX_MESSAGE_LEN,
            });
        }
        Ok(())
    }
}

/// Decodes the optional parameters; `base` is their offset in the body.
fn decode_params(params: &[u8], extended: bool, base: usize) -> Result<Vec<Capability>, OpenError> {
    let mut r = Reader::new(params);
    let mut caps = Vec::new();
    while !r.is_empty() {
        let malformed = OpenError::Malformed {
            offset: base + r.position(),
        };
        let param_type = r.u8().map_err(|_| malformed.clone())?;
        let len = if extended {
            r.u16().map_err(|_| malformed.clone())?
        } else {
            u16::from(r.u8().map_err(|_| malformed.clone())?)
        };
        let value = r.take(usize::from(len)).map_err(|_| malformed)?;
        // RFC 4271 §6.2: "If one of the Optional Parameters in the OPEN
        // message is not recognized, then the Error Subcode MUST be set to
        // Unsupported Optional Parameters." Authentication (type 1) is
        // deprecated (RFC 5492 §4) and handled the same way.
        if param_type != PARAM_CAPABILITIES {
            return Err(OpenError::UnsupportedOptionalParameter { param_type });
        }
        Capability::decode_all(value, &mut caps)?;
    }
    Ok(caps)
}

#[cfg(test)]
mod tests;
