//! ROUTE-REFRESH message ([RFC 2918 §3]) with the Message Subtype of
//! Enhanced Route Refresh ([RFC 7313 §3]).
//!
//! ```text
//! 0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      |Subtype| SAFI  |
//! +-------+-------+-------+-------+
//! ```
//!
//! [RFC 2918 §3]: https://www.rfc-editor.org/rfc/rfc2918#section-3
//! [RFC 7313 §3]: https://www.rfc-editor.org/rfc/rfc7313#section-3

use bytes::{BufMut, BytesMut};

use crate::iana::{ErrorCode, MsgType, route_refresh_error};
use crate::msg::{Notification, header};
use crate::nlri::AfiSafi;
use crate::wire::Reader;

/// Message Subtype (RFC 7313 §3; the Reserved octet of RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteRefreshSubtype {
    /// Normal route refresh request (0).
    Normal,
    /// Beginning of Route Refresh, BoRR (1).
    BoRR,
    /// End of Route Refresh, EoRR (2).
    EoRR,
    /// Any other value. RFC 7313 §5: "When the BGP speaker receives a
    /// ROUTE-REFRESH message with a "Message Subtype" field other than 0,
    /// 1, or 2, it MUST ignore the received ROUTE-REFRESH message."
    Unknown(u8),
}

impl From<u8> for RouteRefreshSubtype {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Normal,
            1 => Self::BoRR,
            2 => Self::EoRR,
            other => Self::Unknown(other),
        }
    }
}

impl From<RouteRefreshSubtype> for u8 {
    fn from(v: RouteRefreshSubtype) -> Self {
        match v {
            RouteRefreshSubtype::Normal => 0,
            RouteRefreshSubtype::BoRR => 1,
            RouteRefreshSubtype::EoRR => 2,
            RouteRefreshSubtype::Unknown(other) => other,
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family whose routes are to be re-advertised.
    pub family: AfiSafi,
    /// Normal request, or the BoRR/EoRR demarcation of RFC 7313.
    pub subtype: RouteRefreshSubtype,
}

/// A ROUTE-REFRESH body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteRefreshError {
    /// The body is not 4 bytes long (RFC 7313 §5).
    #[error("ROUTE-REFRESH of {} bytes, expected 23", message.len())]
    InvalidLength {
        /// The complete message, header included, for the NOTIFICATION.
        message: Vec<u8>,
    },
}

impl From<&RouteRefreshError> for Notification {
    fn from(e: &RouteRefreshError) -> Self {
        let RouteRefreshError::InvalidLength { message } = e;
        // RFC 7313 §5: "If the length, excluding the fixed-size message
        // header, of the received ROUTE-REFRESH message with Message
        // Subtype 1 and 2 is not 4, then the BGP speaker MUST send a
        // NOTIFICATION message with the Error Code of "ROUTE-REFRESH Message
        // Error" and the subcode of "Invalid Message Length". The Data field
        // of the NOTIFICATION message MUST contain the complete ROUTE-REFRESH
        // message." Applied to subtype 0 as well: RFC 2918 fixes its length
        // and names no error of its own.
        Self::new(
            ErrorCode::RouteRefresh,
            route_refresh_error::INVALID_MESSAGE_LENGTH,
            message.clone(),
        )
    }
}

impl RouteRefresh {
    /// A normal (subtype 0) request for `family`.
    #[must_use]
    pub const fn normal(family: AfiSafi) -> Self {
        Self {
            family,
            subtype: RouteRefreshSubtype::Normal,
        }
    }

    /// Decodes a ROUTE-REFRESH from its whole `frame` (header included, as
    /// the error must echo it).
    ///
    /// # Errors
    /// [`RouteRefreshError::InvalidLength`] unless the body is 4 bytes.
    pub fn decode(frame: &[u8]) -> Result<Self, RouteRefreshError> {
        let invalid = || RouteRefreshError::InvalidLength {
            message: frame.to_vec(),
        };
        let body = frame.get(header::HEADER_LEN..).ok_or_else(invalid)?;
        if body.len() != 4 {
            return Err(invalid());
        }
        let mut r = Reader::new(body);
        let afi = r.u16().map_err(|_| invalid())?;
        let subtype = r.u8().map_err(|_| invalid())?;
        let safi = r.u8().map_err(|_| invalid())?;
        Ok(Self {
            family: AfiSafi::new(afi.into(), safi.into()),
            subtype: subtype.into(),
        })
    }

    /// Encodes the whole message (23 bytes).
    pub fn encode(&self, out: &mut BytesMut) {
        let start = header::begin(out, MsgType::RouteRefresh);
        out.put_u16(self.family.afi.into());
        out.put_u8(self.subtype.into());
        out.put_u8(self.family.safi.into());
        header::finish(out, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
        v.push(5);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn vectors_both_ways() {
        let cases = [
            ([0, 1, 0, 1], RouteRefresh::normal(AfiSafi::IPV4_UNICAST)),
            (
                [0, 2, 1, 1],
                RouteRefresh {
                    family: AfiSafi::IPV6_UNICAST,
                    subtype: RouteRefreshSubtype::BoRR,
                },
            ),
            (
                [0, 2, 2, 1],
                RouteRefresh {
                    family: AfiSafi::IPV6_UNICAST,
                    subtype: RouteRefreshSubtype::EoRR,
                },
            ),
            (
                [0, 1, 9, 2],
                RouteRefresh {
                    family: AfiSafi::new(1.into(), 2.into()),
                    subtype: RouteRefreshSubtype::Unknown(9),
                },
            ),
        ];
        for (body, rr) in cases {
            let wire = frame(&body);
            assert_eq!(RouteRefresh::decode(&wire), Ok(rr));
            let mut out = BytesMut::new();
            rr.encode(&mut out);
            assert_eq!(&out[..], &wire[..]);
        }
    }

    #[test]
    fn bad_length_echoes_whole_message() {
        let wire = frame(&[0, 1, 1, 1, 0]);
        let e = RouteRefresh::decode(&wire).unwrap_err();
        let n = Notification::from(&e);
        assert_eq!((n.code, n.subcode), (ErrorCode::RouteRefresh, 1));
        assert_eq!(n.data, wire);
    }

    proptest! {
        #[test]
        fn round_trip(afi: u16, safi: u8, subtype: u8) {
            let rr = RouteRefresh {
                family: AfiSafi::new(afi.into(), safi.into()),
                subtype: subtype.into(),
            };
            let mut out = BytesMut::new();
            rr.encode(&mut out);
            prop_assert_eq!(header::peek_len(&out, 4096), Ok(Some(23)));
            prop_assert_eq!(RouteRefresh::decode(&out), Ok(rr));
        }
    }
}
