//! Connection collision detection ([RFC 4271 §6.8], [RFC 6286 §2.3]).
//!
//! When both speakers connect at once there are two TCP connections, each
//! with its own [`super::Session`]. When an OPEN arrives on one while the
//! other has reached OpenConfirm (or OpenSent, or Established), the driver
//! calls [`resolve`] and feeds [`super::Event::OpenCollisionDump`] to the
//! session of the connection to close; that session sends the Cease
//! NOTIFICATION returned here.
//!
//! [RFC 4271 §6.8]: https://www.rfc-editor.org/rfc/rfc4271#section-6.8
//! [RFC 6286 §2.3]: https://www.rfc-editor.org/rfc/rfc6286#section-2.3

use std::net::Ipv4Addr;

use super::State;
use crate::iana::{ErrorCode, cease};
use crate::msg::Notification;

/// Who opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// We connected to the peer.
    Local,
    /// The peer connected to us.
    Remote,
}

impl Initiator {
    /// The other side.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Self::Local => Self::Remote,
            Self::Remote => Self::Local,
        }
    }
}

/// One speaker's identity for collision resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Speaker {
    /// BGP Identifier.
    pub id: Ipv4Addr,
    /// AS number (4-octet).
    pub asn: u32,
}

/// The outcome: which connection stays and what to send on the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Initiator of the connection to keep.
    pub keep: Initiator,
    /// Initiator of the connection to close.
    pub close: Initiator,
    /// NOTIFICATION to send on the closed connection: Cease/Connection
    /// Collision Resolution (RFC 4486 §4, subcode 7).
    pub notification: Notification,
}

/// Decides which of two connections to the same peer survives.
///
/// `existing` is the initiator of the connection that was already in
/// `existing_state` when the other connection's OPEN arrived. Returns
/// `None` when `existing_state` is before OpenSent: there is no BGP
/// connection to collide with yet.
#[must_use]
pub fn resolve(
    local: Speaker,
    remote: Speaker,
    existing: Initiator,
    existing_state: State,
) -> Option<Resolution> {
    let keep = match existing_state {
        State::Idle | State::Connect | State::Active => return None,
        // RFC 4271 §6.8: "a connection collision with an existing BGP
        // connection that is in the Established state causes closing of
        // the newly created connection."
        State::Established => existing,
        State::OpenSent | State::OpenConfirm => {
            // "Comparing BGP Identifiers is done by converting them to host
            // byte order and treating them as 4-octet unsigned integers."
            let (l, r) = (u32::from(local.id), u32::from(remote.id));
            if l != r {
                // "If the value of the local BGP Identifier is less than the
                // remote one, the local system closes the BGP connection
                // that already exists [...] and accepts the BGP connection
                // initiated by the remote system." The connection opened by
                // the higher identifier survives.
                if l < r {
                    Initiator::Remote
                } else {
                    Initiator::Local
                }
            } else if local.asn != remote.asn {
                // RFC 6286 §2.3: "If the BGP Identifiers of the peers
                // involved in the connection collision are identical, then
                // the connection initiated by the BGP speaker with the
                // larger AS number is preserved."
                if local.asn < remote.asn {
                    Initiator::Remote
                } else {
                    Initiator::Local
                }
            } else {
                // Same identifier and AS cannot pass the OPEN checks; keep
                // what exists.
                existing
            }
        }
    };
    Some(Resolution {
        keep,
        close: keep.other(),
        notification: Notification::new(ErrorCode::Cease, cease::CONNECTION_COLLISION, Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(id: [u8; 4], asn: u32) -> Speaker {
        Speaker {
            id: Ipv4Addr::from(id),
            asn,
        }
    }

    #[test]
    fn higher_local_id_keeps_local_connection() {
        let r = resolve(
            sp([10, 0, 0, 9], 1),
            sp([10, 0, 0, 2], 2),
            Initiator::Remote,
            State::OpenConfirm,
        )
        .unwrap();
        assert_eq!((r.keep, r.close), (Initiator::Local, Initiator::Remote));
        assert_eq!(
            (r.notification.code, r.notification.subcode),
            (ErrorCode::Cease, 7)
        );
    }

    #[test]
    fn lower_local_id_keeps_remote_connection() {
        // Compared as host-order integers: 9.0.0.0 > 2.255.255.255.
        let r = resolve(
            sp([2, 255, 255, 255], 1),
            sp([9, 0, 0, 0], 2),
            Initiator::Local,
            State::OpenConfirm,
        )
        .unwrap();
        assert_eq!((r.keep, r.close), (Initiator::Remote, Initiator::Local));
    }

    #[test]
    fn equal_ids_fall_back_to_as_numbers() {
        let id = [192, 0, 2, 1];
        let r = resolve(
            sp(id, 65001),
            sp(id, 65002),
            Initiator::Local,
            State::OpenSent,
        )
        .unwrap();
        assert_eq!(r.keep, Initiator::Remote);
        let r = resolve(
            sp(id, 65003),
            sp(id, 65002),
            Initiator::Remote,
            State::OpenSent,
        )
        .unwrap();
        assert_eq!(r.keep, Initiator::Local);
    }

    #[test]
    fn established_connection_always_wins() {
        for existing in [Initiator::Local, Initiator::Remote] {
            let r = resolve(
                sp([1, 1, 1, 1], 1),
                sp([9, 9, 9, 9], 2),
                existing,
                State::Established,
            )
            .unwrap();
            assert_eq!(r.keep, existing);
        }
    }

    #[test]
    fn no_collision_before_open_sent() {
        for st in [State::Idle, State::Connect, State::Active] {
            assert_eq!(
                resolve(
                    sp([1, 1, 1, 1], 1),
                    sp([2, 2, 2, 2], 2),
                    Initiator::Local,
                    st
                ),
                None
            );
        }
    }
}
