//! The BGP session finite state machine ([RFC 4271 §8]), sans-IO.
//!
//! One [`Session`] drives one BGP connection (and, when active, the attempts
//! to open it). It owns no socket and reads no clock: the driver feeds it
//! [`Event`]s with the current [`Instant`](std::time::Instant), drains [`Action`]s, and sleeps
//! until [`Session::poll_timeout`]. Received messages come in decoded.
//!
//! ```text
//!   driver                              Session
//!   ------                              -------
//!   handle(now, Event::ManualStart) --> state Connect, Action::Connect
//!   TCP connected
//!   handle(now, TcpCrAcked)         --> Action::Send(OPEN), state OpenSent
//!   OPEN decoded
//!   handle(now, BgpOpen(open))      --> Action::Send(KEEPALIVE), OpenConfirm
//!   KEEPALIVE decoded
//!   handle(now, KeepAliveMsg)       --> Action::Established(negotiated)
//!   loop { while let Some(a) = poll_action() {..};
//!          sleep until poll_timeout(); handle_timeout(now) }
//! ```
//!
//! Connection collisions (RFC 4271 §6.8) involve two sessions; the driver
//! decides with [`collision::resolve`] and feeds
//! [`Event::OpenCollisionDump`] to the loser.
//!
//! [RFC 4271 §8]: https://www.rfc-editor.org/rfc/rfc4271#section-8

pub mod collision;
mod session;
mod timer;
mod validate;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::time::Duration;

pub use session::Session;
pub use timer::{Timer, TimerTable};

use crate::cap::{Capability, Negotiated, Role};
use crate::msg::{Message, Notification, Open};

/// Hold time used in OpenSent before the peer's OPEN arrives (RFC 4271
/// §8.2.2: "a large value", "A HoldTimer value of 4 minutes is suggested").
pub const LARGE_HOLD_TIME: Duration = Duration::from_secs(240);

/// Session states (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Refuses connections; waits for a start event (or the idle hold timer).
    Idle,
    /// Waiting for our outgoing TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Session up: UPDATEs flow.
    Established,
}

/// Which AS numbers the peer may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAs {
    /// Exactly this AS.
    Exact(u32),
    /// Any AS in this range (dynamic neighbors).
    Range(RangeInclusive<u32>),
    /// Any AS except 0 (dynamic neighbors).
    Any,
}

impl PeerAs {
    /// True when `asn` is acceptable.
    #[must_use]
    pub fn accepts(&self, asn: u32) -> bool {
        match self {
            Self::Exact(a) => *a == asn,
            Self::Range(r) => r.contains(&asn),
            Self::Any => true,
        }
    }
}

/// Damped restart after failures (RFC 4271 §8.1.1 DampPeerOscillations):
/// the first automatic restart waits `start`, each further consecutive
/// failure doubles the wait up to `max`. A session that stayed Established
/// for at least `forget` starts over from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleHoldConfig {
    /// First wait after a failure.
    pub start: Duration,
    /// Ceiling for the doubled wait.
    pub max: Duration,
    /// Established time after which the failure count is forgotten.
    pub forget: Duration,
}

impl Default for IdleHoldConfig {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(5),
            max: Duration::from_secs(300),
            forget: Duration::from_secs(300),
        }
    }
}

/// Our BGP Role and whether the peer must send one (RFC 9234 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleConfig {
    /// Our role; advertised in the Role capability.
    pub local: Role,
    /// Strict mode: refuse a peer that sends no Role capability.
    pub strict: bool,
}

/// Configuration of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS (4-octet).
    pub local_as: u32,
    /// Our BGP Identifier.
    pub local_id: Ipv4Addr,
    /// The AS (or ASes) the peer may have.
    pub peer_as: PeerAs,
    /// Hold time we propose, seconds: 0 (no keepalives) or at least 3.
    pub hold_time: u16,
    /// ConnectRetryTimer interval (RFC 4271 §10 suggests 120 s).
    pub connect_retry: Duration,
    /// Never initiate a connection; wait for the peer (RFC 4271 §8.1.1
    /// PassiveTcpEstablishment).
    pub passive: bool,
    /// Wait this long after the TCP connection before sending OPEN, unless
    /// the peer's OPEN comes first (RFC 4271 §8.1.1 DelayOpen).
    pub delay_open: Option<Duration>,
    /// Damped automatic restart after failures.
    pub idle_hold: IdleHoldConfig,
    /// Capabilities to advertise. A FourOctetAs capability with `local_as`
    /// and a Role capability (when `role` is set) are added if absent.
    pub capabilities: Vec<Capability>,
    /// BGP Role check (RFC 9234).
    pub role: Option<RoleConfig>,
}

impl SessionConfig {
    /// A configuration with the RFC 4271 §10 suggested timers (hold 90 s,
    /// connect retry 120 s), active, no delay-open, no capabilities.
    #[must_use]
    pub fn new(local_as: u32, local_id: Ipv4Addr, peer_as: PeerAs) -> Self {
        Self {
            local_as,
            local_id,
            peer_as,
            hold_time: 90,
            connect_retry: Duration::from_secs(120),
            passive: false,
            delay_open: None,
            idle_hold: IdleHoldConfig::default(),
            capabilities: Vec::new(),
            role: None,
        }
    }
}

/// Inputs to the session (RFC 4271 §8.1). Timer events (9–13) are not
/// here: they come from [`Session::handle_timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Event 1, ManualStart: start; connect unless configured passive.
    ManualStart,
    /// Event 2, ManualStop: stop; sends Cease/Administrative Shutdown
    /// (RFC 4486) with this RFC 9003 shutdown communication, if any. No
    /// automatic restart follows.
    ManualStop {
        /// Shutdown communication (UTF-8, cut to 255 bytes).
        communication: Option<String>,
    },
    /// Event 2, ManualStop, with this NOTIFICATION instead of
    /// Administrative Shutdown: the operator's configuration ends the
    /// session, e.g. Cease/Maximum Number of Prefixes Reached with action
    /// "shutdown", or Cease/Peer De-configured (RFC 4486 §4). No automatic
    /// restart follows.
    ManualStopWith(Notification),
    /// Event 3 (AutomaticStart) or 5 (AutomaticStart_with_PassiveTcp
    /// Establishment): start as the system decides, for example a dynamic
    /// neighbor whose connection was accepted.
    AutomaticStart {
        /// Wait for the peer to connect (event 5) instead of connecting.
        passive: bool,
    },
    /// Event 8, AutomaticStop: stop with this NOTIFICATION (for example
    /// Cease/Maximum Number of Prefixes Reached); automatic restart after
    /// the idle hold time.
    AutomaticStop(Notification),
    /// Event 16, Tcp_CR_Acked: our outgoing connection is established.
    TcpCrAcked,
    /// Event 17, TcpConnectionConfirmed: an incoming connection from the
    /// peer was accepted.
    TcpConnectionConfirmed,
    /// Event 18, TcpConnectionFails: the connection failed or was closed.
    TcpConnectionFails,
    /// Event 19, BGPOpen (event 20 when the DelayOpenTimer is running): a
    /// valid-looking OPEN arrived; the session checks it (RFC 4271 §6.2).
    BgpOpen(Open),
    /// Event 21, BGPHeaderErr: a header error; send this NOTIFICATION.
    BgpHeaderErr(Notification),
    /// Event 22, BGPOpenMsgErr: an OPEN that did not decode; send this
    /// NOTIFICATION.
    BgpOpenMsgErr(Notification),
    /// Event 23, OpenCollisionDump: this connection lost a collision
    /// (RFC 4271 §6.8); send Cease/Connection Collision Resolution.
    OpenCollisionDump,
    /// Event 25 (24, NotifMsgVerErr, when it reports a version error):
    /// the peer sent a NOTIFICATION.
    NotifMsg(Notification),
    /// Event 26, KeepAliveMsg.
    KeepAliveMsg,
    /// Event 27, UpdateMsg: a valid UPDATE arrived (the UPDATE itself goes
    /// to the RIB, not here).
    UpdateMsg,
    /// Event 28, UpdateMsgErr: an UPDATE error that resets the session
    /// (RFC 7606); send this NOTIFICATION.
    UpdateMsgErr(Notification),
    /// A ROUTE-REFRESH arrived (RFC 2918; not an RFC 4271 event). Counts
    /// as an UPDATE for the FSM: expected only in Established.
    RouteRefreshMsg,
}

/// Outputs of the session, drained with [`Session::poll_action`].
// `Send` holds a whole message; actions are few and drained at once, so an
// inline message beats a box per send.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Open a TCP connection to the peer (abandoning any attempt in flight).
    Connect,
    /// Encode and send this message.
    Send(Message),
    /// Close the TCP connection (after sending what was queued before).
    CloseTcp,
    /// The session reached Established with these parameters: build the
    /// codec contexts from them and start exchanging routes.
    Established(Box<Negotiated>),
    /// The session fell back to Idle. If [`Action::Established`] was seen
    /// before, the peer's routes must be withdrawn. (A TCP failure in
    /// OpenSent falls back to Active instead, with only
    /// [`Action::CloseTcp`].)
    Down(DownReason),
}

/// Why a session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// ManualStop or AutomaticStop; carries the NOTIFICATION sent, if a
    /// BGP connection was open to send it on.
    Stop(Option<Notification>),
    /// We detected an error and sent this NOTIFICATION (hold timer expiry,
    /// bad OPEN, FSM error, UPDATE error, collision).
    Error(Notification),
    /// The peer sent this NOTIFICATION.
    Notification(Notification),
    /// The TCP connection failed or closed.
    TcpFailed,
    /// An event arrived that the state does not expect before any BGP
    /// message was exchanged (RFC 4271 §8.2.2 "any other event" in
    /// Connect/Active).
    Unexpected,
}

/// The OPEN we send for `cfg`: version 4, AS_TRANS when the AS needs four
/// octets (RFC 6793 §4.1), capabilities plus FourOctetAs and Role.
#[must_use]
pub fn local_open(cfg: &SessionConfig) -> Open {
    let mut capabilities = cfg.capabilities.clone();
    if !capabilities
        .iter()
        .any(|c| matches!(c, Capability::FourOctetAs(_)))
    {
        capabilities.push(Capability::FourOctetAs(cfg.local_as));
    }
    if let Some(role) = cfg.role
        && !capabilities
            .iter()
            .any(|c| matches!(c, Capability::Role(_)))
    {
        capabilities.push(Capability::Role(role.local));
    }
    Open {
        version: crate::iana::BGP_VERSION,
        my_as: u16::try_from(cfg.local_as).unwrap_or(crate::iana::AS_TRANS),
        hold_time: cfg.hold_time,
        bgp_id: cfg.local_id,
        capabilities,
    }
}
