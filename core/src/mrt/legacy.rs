//! Deprecated MRT type 5, BGP (RFC 6396 Appendix B.2.1), as written by
//! early RIPE RIS collectors (1999–2000).
//!
//! ```text
//! BGP_UPDATE / BGP_OPEN / BGP_NOTIFY / BGP_KEEPALIVE:
//!   Peer AS (2) | Peer IP (4) | Local AS (2) | Local IP (4) | message body
//! BGP_STATE_CHANGE:
//!   Peer AS (2) | Peer IP (4) | Old State (2) | New State (2)
//! ```
//!
//! The message body has no marker or BGP header: for BGP_UPDATE it starts
//! at the Withdrawn Routes Length. Addresses are IPv4, AS numbers 2
//! octets.

use std::net::{IpAddr, Ipv4Addr};

use super::MrtError;
use crate::wire::Reader;

/// Type 5 subtype codes (RFC 6396 Appendix B.2.1).
pub mod subtype {
    /// BGP_NULL.
    pub const NULL: u16 = 0;
    /// BGP_UPDATE.
    pub const UPDATE: u16 = 1;
    /// BGP_PREF_UPDATE.
    pub const PREF_UPDATE: u16 = 2;
    /// BGP_STATE_CHANGE.
    pub const STATE_CHANGE: u16 = 3;
    /// BGP_SYNC.
    pub const SYNC: u16 = 4;
    /// BGP_OPEN.
    pub const OPEN: u16 = 5;
    /// BGP_NOTIFY.
    pub const NOTIFY: u16 = 6;
    /// BGP_KEEPALIVE.
    pub const KEEPALIVE: u16 = 7;
}

/// A decoded type 5 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyBgp<'a> {
    /// BGP_UPDATE, BGP_OPEN, BGP_NOTIFY or BGP_KEEPALIVE.
    Message {
        /// The subtype.
        subtype: u16,
        /// The peer's AS.
        peer_as: u16,
        /// The peer's address.
        peer_addr: Ipv4Addr,
        /// The collector's AS.
        local_as: u16,
        /// The collector's address.
        local_addr: Ipv4Addr,
        /// The BGP message body, without marker and header.
        body: &'a [u8],
    },
    /// BGP_STATE_CHANGE.
    StateChange {
        /// The peer's AS.
        peer_as: u16,
        /// The peer's address.
        peer_addr: Ipv4Addr,
        /// Old FSM state.
        old_state: u16,
        /// New FSM state.
        new_state: u16,
    },
    /// BGP_NULL, BGP_PREF_UPDATE, BGP_SYNC or an unassigned subtype, raw.
    Other {
        /// The subtype.
        subtype: u16,
        /// The body.
        body: &'a [u8],
    },
}

impl<'a> LegacyBgp<'a> {
    /// Decodes a type 5 body.
    ///
    /// # Errors
    /// [`MrtError::Truncated`] when the envelope is short.
    pub fn decode(subtype: u16, body: &'a [u8], base: u64) -> Result<Self, MrtError> {
        let mut r = Reader::new(body);
        let t = |w| move |e| MrtError::truncated(w, base, e);
        match subtype {
            subtype::UPDATE | subtype::OPEN | subtype::NOTIFY | subtype::KEEPALIVE => {
                Ok(Self::Message {
                    subtype,
                    peer_as: r.u16().map_err(t("peer AS"))?,
                    peer_addr: r.ipv4().map_err(t("peer IP address"))?,
                    local_as: r.u16().map_err(t("local AS"))?,
                    local_addr: r.ipv4().map_err(t("local IP address"))?,
                    body: r.rest(),
                })
            }
            subtype::STATE_CHANGE => Ok(Self::StateChange {
                peer_as: r.u16().map_err(t("peer AS"))?,
                peer_addr: r.ipv4().map_err(t("peer IP address"))?,
                old_state: r.u16().map_err(t("old state"))?,
                new_state: r.u16().map_err(t("new state"))?,
            }),
            _ => Ok(Self::Other { subtype, body }),
        }
    }

    /// The peer's address and AS, for message and state-change records.
    #[must_use]
    pub const fn peer(&self) -> Option<(IpAddr, u16)> {
        match *self {
            Self::Message {
                peer_addr, peer_as, ..
            }
            | Self::StateChange {
                peer_addr, peer_as, ..
            } => Some((IpAddr::V4(peer_addr), peer_as)),
            Self::Other { .. } => None,
        }
    }
}
