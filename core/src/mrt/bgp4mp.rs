//! BGP4MP and BGP4MP_ET records (RFC 6396 §4.4; ADD-PATH subtypes
//! RFC 8050 §3).
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! |         Peer AS Number (2/4)  |        Local AS Number (2/4)  |
//! +-------------------------------+-------------------------------+
//! |        Interface Index        |        Address Family         |
//! +-------------------------------+-------------------------------+
//! |                      Peer IP Address (4/16)                   |
//! +---------------------------------------------------------------+
//! |                      Local IP Address (4/16)                  |
//! +---------------------------------------------------------------+
//! |  MESSAGE: BGP Message (with marker)  | STATE_CHANGE: Old State (2) | New State (2)
//! +---------------------------------------------------------------+
//! ```
//!
//! The AS fields are 4 octets in the `_AS4` subtypes. The BGP message is
//! returned raw; [`Message::decode_ctx`] gives the [`DecodeCtx`] to decode
//! it with: four-octet AS follows the subtype, ADD-PATH follows the
//! `_ADDPATH` subtypes ("the BGP message ... contains path identifiers",
//! RFC 8050 §3).

use std::net::IpAddr;

use smallvec::SmallVec;

use super::table_dump_v2::decode_addr;
use super::{Body, MrtError};
use crate::ctx::DecodeCtx;
use crate::iana::{Afi, MsgType, Safi};
use crate::nlri::AfiSafi;
use crate::wire::Reader;

/// BGP4MP subtype codes (RFC 6396 §4.4, RFC 8050 §3).
pub mod subtype {
    /// BGP4MP_STATE_CHANGE.
    pub const STATE_CHANGE: u16 = 0;
    /// BGP4MP_MESSAGE (2-octet AS).
    pub const MESSAGE: u16 = 1;
    /// BGP4MP_MESSAGE_AS4.
    pub const MESSAGE_AS4: u16 = 4;
    /// BGP4MP_STATE_CHANGE_AS4.
    pub const STATE_CHANGE_AS4: u16 = 5;
    /// BGP4MP_MESSAGE_LOCAL.
    pub const MESSAGE_LOCAL: u16 = 6;
    /// BGP4MP_MESSAGE_AS4_LOCAL.
    pub const MESSAGE_AS4_LOCAL: u16 = 7;
    /// BGP4MP_MESSAGE_ADDPATH (RFC 8050).
    pub const MESSAGE_ADDPATH: u16 = 8;
    /// BGP4MP_MESSAGE_AS4_ADDPATH (RFC 8050).
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
    /// BGP4MP_MESSAGE_LOCAL_ADDPATH (RFC 8050).
    pub const MESSAGE_LOCAL_ADDPATH: u16 = 10;
    /// BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH (RFC 8050).
    pub const MESSAGE_AS4_LOCAL_ADDPATH: u16 = 11;

    /// For a MESSAGE subtype: (four-octet AS, local, ADD-PATH).
    #[must_use]
    pub const fn message_flags(s: u16) -> Option<(bool, bool, bool)> {
        Some(match s {
            MESSAGE => (false, false, false),
            MESSAGE_AS4 => (true, false, false),
            MESSAGE_LOCAL => (false, true, false),
            MESSAGE_AS4_LOCAL => (true, true, false),
            MESSAGE_ADDPATH => (false, false, true),
            MESSAGE_AS4_ADDPATH => (true, false, true),
            MESSAGE_LOCAL_ADDPATH => (false, true, true),
            MESSAGE_AS4_LOCAL_ADDPATH => (true, true, true),
            _ => return None,
        })
    }

    /// The MESSAGE subtype for the given flags.
    #[must_use]
    pub const fn message_subtype(four_octet_as: bool, local: bool, add_path: bool) -> u16 {
        match (four_octet_as, local, add_path) {
            (false, false, false) => MESSAGE,
            (true, false, false) => MESSAGE_AS4,
            (false, true, false) => MESSAGE_LOCAL,
            (true, true, false) => MESSAGE_AS4_LOCAL,
            (false, false, true) => MESSAGE_ADDPATH,
            (true, false, true) => MESSAGE_AS4_ADDPATH,
            (false, true, true) => MESSAGE_LOCAL_ADDPATH,
            (true, true, true) => MESSAGE_AS4_LOCAL_ADDPATH,
        }
    }

    /// A display name for a subtype.
    #[must_use]
    pub const fn name(s: u16) -> &'static str {
        match s {
            STATE_CHANGE => "STATE_CHANGE",
            MESSAGE => "MESSAGE",
            2 => "ENTRY",
            3 => "SNAPSHOT",
            MESSAGE_AS4 => "MESSAGE_AS4",
            STATE_CHANGE_AS4 => "STATE_CHANGE_AS4",
            MESSAGE_LOCAL => "MESSAGE_LOCAL",
            MESSAGE_AS4_LOCAL => "MESSAGE_AS4_LOCAL",
            MESSAGE_ADDPATH => "MESSAGE_ADDPATH",
            MESSAGE_AS4_ADDPATH => "MESSAGE_AS4_ADDPATH",
            MESSAGE_LOCAL_ADDPATH => "MESSAGE_LOCAL_ADDPATH",
            MESSAGE_AS4_LOCAL_ADDPATH => "MESSAGE_AS4_LOCAL_ADDPATH",
            _ => "UNKNOWN",
        }
    }
}

/// The peer/local envelope shared by every BGP4MP subtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peering {
    /// The peer's AS.
    pub peer_as: u32,
    /// The collector's (local) AS.
    pub local_as: u32,
    /// Interface index (0 when unknown).
    pub interface: u16,
    /// Address family of both addresses.
    pub afi: Afi,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// The collector's address.
    pub local_addr: IpAddr,
}

impl Peering {
    fn decode(r: &mut Reader<'_>, as4: bool, base: u64) -> Result<Self, MrtError> {
        let t = |w| move |e| MrtError::truncated(w, base, e);
        let (peer_as, local_as) = if as4 {
            (
                r.u32().map_err(t("peer AS"))?,
                r.u32().map_err(t("local AS"))?,
            )
        } else {
            (
                u32::from(r.u16().map_err(t("peer AS"))?),
                u32::from(r.u16().map_err(t("local AS"))?),
            )
        };
        let interface = r.u16().map_err(t("interface index"))?;
        let afi = Afi::from(r.u16().map_err(t("address family"))?);
        let peer_addr = decode_addr(r, afi, base, "peer IP address")?;
        let local_addr = decode_addr(r, afi, base, "local IP address")?;
        Ok(Self {
            peer_as,
            local_as,
            interface,
            afi,
            peer_addr,
            local_addr,
        })
    }

    /// Appends the envelope; AS fields are 4 octets when `as4`.
    ///
    /// # Errors
    /// [`MrtError::Unencodable`] when an AS does not fit 2 octets and
    /// `as4` is false, or the two addresses differ in family.
    pub fn encode(&self, as4: bool, out: &mut Vec<u8>) -> Result<(), MrtError> {
        if self.peer_addr.is_ipv4() != self.local_addr.is_ipv4() {
            return Err(MrtError::Unencodable {
                what: "BGP4MP address families",
                value: 0,
            });
        }
        for asn in [self.peer_as, self.local_as] {
            if as4 {
                out.extend_from_slice(&asn.to_be_bytes());
            } else {
                let a = u16::try_from(asn).map_err(|_| MrtError::Unencodable {
                    what: "2-octet AS",
                    value: u64::from(asn),
                })?;
                out.extend_from_slice(&a.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.interface.to_be_bytes());
        let afi: u16 = if self.peer_addr.is_ipv4() { 1 } else { 2 };
        out.extend_from_slice(&afi.to_be_bytes());
        super::put_addr(out, self.peer_addr);
        super::put_addr(out, self.local_addr);
        Ok(())
    }
}

/// A BGP4MP MESSAGE record of any of the eight MESSAGE subtypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The subtype.
    pub subtype: u16,
    /// Peer and collector.
    pub peering: Peering,
    /// AS fields (and AS numbers inside the message) are 4 octets.
    pub four_octet_as: bool,
    /// A `_LOCAL` subtype: the message was sent by the collector.
    pub local: bool,
    /// An `_ADDPATH` subtype: NLRI carry path identifiers.
    pub add_path: bool,
    /// The whole BGP message, marker and header included.
    pub message: &'a [u8],
    /// Stream offset of the BGP message (bytes).
    pub message_offset: u64,
}

impl<'a> Message<'a> {
    /// The context to decode [`message`](Self::message) with: four-octet
    /// AS per the subtype, ADD-PATH for IPv4/IPv6 unicast and multicast
    /// under the `_ADDPATH` subtypes, and extended message length allowed
    /// (collectors record what they received).
    #[must_use]
    pub fn decode_ctx(&self) -> DecodeCtx {
        let mut add_path = SmallVec::new();
        if self.add_path {
            for afi in [Afi::Ipv4, Afi::Ipv6] {
                for safi in [Safi::Unicast, Safi::Multicast] {
                    add_path.push(AfiSafi::new(afi, safi));
                }
            }
        }
        DecodeCtx {
            four_octet_as: self.four_octet_as,
            add_path,
            extended_message: true,
        }
    }

    /// The BGP message type (octet 19), `None` when the message is shorter
    /// than a BGP header.
    #[must_use]
    pub fn msg_type(&self) -> Option<MsgType> {
        self.message.get(18).map(|&t| MsgType::from(t))
    }

    /// The message body after the 19-byte BGP header, bounded by the
    /// header's Length field; `None` when the header is short or its
    /// Length exceeds the bytes present or is below 19.
    #[must_use]
    pub fn body(&self) -> Option<&'a [u8]> {
        let len = self.message.get(16..18)?;
        let len = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
        if len < 19 {
            return None;
        }
        self.message.get(19..len)
    }
}

/// A BGP4MP STATE_CHANGE(_AS4) record (RFC 6396 §4.4.1, §4.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// Peer and collector.
    pub peering: Peering,
    /// AS fields were 4 octets.
    pub four_octet_as: bool,
    /// Old FSM state (1 Idle … 6 Established; RFC 6396 §4.4.1).
    pub old_state: u16,
    /// New FSM state.
    pub new_state: u16,
}

/// Dispatches a BGP4MP(_ET) body on its subtype.
pub(crate) fn decode(subtype: u16, body: &[u8], base: u64) -> Result<Body<'_>, MrtError> {
    let mut r = Reader::new(body);
    let t = |w| move |e| MrtError::truncated(w, base, e);
    if let Some((as4, local, add_path)) = subtype::message_flags(subtype) {
        let peering = Peering::decode(&mut r, as4, base)?;
        let message_offset = base + r.position() as u64;
        return Ok(Body::Bgp4mpMessage(Message {
            subtype,
            peering,
            four_octet_as: as4,
            local,
            add_path,
            message: r.rest(),
            message_offset,
        }));
    }
    if matches!(subtype, subtype::STATE_CHANGE | subtype::STATE_CHANGE_AS4) {
        let as4 = subtype == subtype::STATE_CHANGE_AS4;
        let peering = Peering::decode(&mut r, as4, base)?;
        let old_state = r.u16().map_err(t("old state"))?;
        let new_state = r.u16().map_err(t("new state"))?;
        if !r.is_empty() {
            return Err(MrtError::Trailing {
                what: "BGP4MP state change",
                offset: base + r.position() as u64,
                count: r.remaining(),
            });
        }
        return Ok(Body::Bgp4mpStateChange(StateChange {
            peering,
            four_octet_as: as4,
            old_state,
            new_state,
        }));
    }
    Ok(Body::Unknown(body))
}
