//! Typed IANA code points: address families, message types, path attribute
//! types, capability codes and NOTIFICATION error codes and subcodes.
//!
//! Each enum has an `Unknown` escape so that every value read from the wire
//! maps to a variant and back without loss.

/// Declares a `#[repr]`-like enum over an integer with an `Unknown` escape,
/// plus lossless `From` conversions both ways.
macro_rules! code_points {
    ($(#[$meta:meta])* $name:ident : $int:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code point this crate has no name for; kept as read.
            Unknown($int),
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                match v {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> $int {
                match v {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_points! {
    /// Address Family Identifier (IANA "Address Family Numbers").
    Afi: u16 {
        /// IPv4.
        Ipv4 = 1,
        /// IPv6.
        Ipv6 = 2,
    }
}

code_points! {
    /// Subsequent Address Family Identifier (RFC 4760 §6).
    Safi: u8 {
        /// Unicast forwarding.
        Unicast = 1,
        /// Multicast forwarding.
        Multicast = 2,
    }
}

code_points! {
    /// BGP message type (RFC 4271 §4.1, RFC 2918 §3).
    MsgType: u8 {
        /// OPEN.
        Open = 1,
        /// UPDATE.
        Update = 2,
        /// NOTIFICATION.
        Notification = 3,
        /// KEEPALIVE.
        Keepalive = 4,
        /// ROUTE-REFRESH (RFC 2918).
        RouteRefresh = 5,
    }
}

code_points! {
    /// Path attribute type code (IANA "BGP Path Attributes").
    AttrType: u8 {
        /// ORIGIN (RFC 4271 §5.1.1).
        Origin = 1,
        /// AS_PATH (RFC 4271 §5.1.2).
        AsPath = 2,
        /// NEXT_HOP (RFC 4271 §5.1.3).
        NextHop = 3,
        /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
        Med = 4,
        /// LOCAL_PREF (RFC 4271 §5.1.5).
        LocalPref = 5,
        /// ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
        AtomicAggregate = 6,
        /// AGGREGATOR (RFC 4271 §5.1.7).
        Aggregator = 7,
        /// COMMUNITIES (RFC 1997).
        Communities = 8,
        /// ORIGINATOR_ID (RFC 4456 §8).
        OriginatorId = 9,
        /// CLUSTER_LIST (RFC 4456 §8).
        ClusterList = 10,
        /// MP_REACH_NLRI (RFC 4760 §3).
        MpReachNlri = 14,
        /// MP_UNREACH_NLRI (RFC 4760 §4).
        MpUnreachNlri = 15,
        /// EXTENDED COMMUNITIES (RFC 4360).
        ExtCommunities = 16,
        /// AS4_PATH (RFC 6793).
        As4Path = 17,
        /// AS4_AGGREGATOR (RFC 6793).
        As4Aggregator = 18,
        /// IPv6 Address Specific Extended Community (RFC 5701).
        Ipv6ExtCommunities = 25,
        /// LARGE_COMMUNITY (RFC 8092).
        LargeCommunities = 32,
        /// Only to Customer (RFC 9234).
        Otc = 35,
    }
}

code_points! {
    /// Capability code (IANA "Capability Codes").
    CapCode: u8 {
        /// Multiprotocol Extensions (RFC 4760).
        Multiprotocol = 1,
        /// Route Refresh (RFC 2918).
        RouteRefresh = 2,
        /// Extended Message (RFC 8654).
        ExtendedMessage = 6,
        /// BGP Role (RFC 9234).
        Role = 9,
        /// Graceful Restart (RFC 4724).
        GracefulRestart = 64,
        /// Support for 4-octet AS number (RFC 6793).
        FourOctetAs = 65,
        /// ADD-PATH (RFC 7911).
        AddPath = 69,
        /// Enhanced Route Refresh (RFC 7313).
        EnhancedRouteRefresh = 70,
        /// Pre-standard Cisco route refresh (code 128), seen from old speakers.
        RouteRefreshCisco = 128,
    }
}

code_points! {
    /// NOTIFICATION error code (RFC 4271 §4.5).
    ErrorCode: u8 {
        /// Message Header Error.
        MessageHeader = 1,
        /// OPEN Message Error.
        Open = 2,
        /// UPDATE Message Error.
        Update = 3,
        /// Hold Timer Expired.
        HoldTimerExpired = 4,
        /// Finite State Machine Error (RFC 6608 subcodes).
        Fsm = 5,
        /// Cease (RFC 4486 subcodes).
        Cease = 6,
        /// ROUTE-REFRESH Message Error (RFC 7313).
        RouteRefresh = 7,
    }
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_error {
    /// Connection Not Synchronized (bad marker).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
pub mod open_error {
    /// Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_error {
    /// Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    /// Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// Attribute Length Error.
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608 §3).
pub mod fsm_error {
    /// Unspecified Error.
    pub const UNSPECIFIED: u8 = 0;
    /// Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
    /// Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
    /// Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486 §4, RFC 9003).
pub mod cease {
    /// Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Administrative Shutdown (may carry an RFC 9003 shutdown communication).
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Reset (may carry an RFC 9003 shutdown communication).
    pub const ADMIN_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
pub mod route_refresh_error {
    /// Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// Path attribute flag bits (RFC 4271 §4.3).
pub mod attr_flags {
    /// Optional (bit 0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive (bit 1).
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial (bit 2).
    pub const PARTIAL: u8 = 0x20;
    /// Extended Length (bit 3): a two-octet length follows.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// AS_TRANS, the 2-octet stand-in for a 4-octet AS (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// The BGP version this implementation speaks (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;

/// Well-known TCP port for BGP (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_round_trip_including_unknown() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(AttrType::from(v)), v);
            assert_eq!(u8::from(CapCode::from(v)), v);
            assert_eq!(u8::from(MsgType::from(v)), v);
        }
        assert_eq!(Afi::from(2), Afi::Ipv6);
        assert_eq!(Afi::from(25), Afi::Unknown(25));
        assert_eq!(Safi::from(1), Safi::Unicast);
    }
}
