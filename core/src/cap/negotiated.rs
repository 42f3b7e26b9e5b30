//! What two OPENs agreed on: families, AS width, ADD-PATH directions,
//! message size, route refresh, graceful restart, role and timers.

use std::net::Ipv4Addr;

use smallvec::SmallVec;

use super::{AddPathMode, Capability, GracefulRestart, Role};
use crate::ctx::{DecodeCtx, EncodeCtx};
use crate::iana::CapCode;
use crate::msg::Open;
use crate::nlri::AfiSafi;

/// The session parameters both sides agreed on, built when the session
/// reaches Established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Families both sides advertised (RFC 4760 §8). A side that sent no
    /// Multiprotocol capability counts as IPv4 unicast only.
    pub families: Vec<AfiSafi>,
    /// Both sides sent the 4-octet AS capability (RFC 6793 §3).
    pub four_octet_as: bool,
    /// The peer's AS: from its 4-octet AS capability if present, else the
    /// OPEN's My Autonomous System field.
    pub peer_as: u32,
    /// The peer's BGP Identifier.
    pub peer_id: Ipv4Addr,
    /// Families where we send path identifiers (RFC 7911 §4: we advertised
    /// Send or Both, the peer Receive or Both).
    pub add_path_send: SmallVec<[AfiSafi; 2]>,
    /// Families where the peer sends path identifiers to us.
    pub add_path_receive: SmallVec<[AfiSafi; 2]>,
    /// Both sides sent Extended Message (RFC 8654 §3).
    pub extended_message: bool,
    /// Both sides support route refresh (RFC 2918; code 128 counts too).
    pub route_refresh: bool,
    /// Both sides support Enhanced Route Refresh (RFC 7313 §4).
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability, if it sent one (RFC 4724).
    pub remote_graceful_restart: Option<GracefulRestart>,
    /// The peer's BGP Role, if it sent one (RFC 9234).
    pub remote_role: Option<Role>,
    /// Negotiated hold time, seconds: the smaller of both (RFC 4271 §4.2);
    /// 0 means no hold timer and no keepalives.
    pub hold_time: u16,
    /// Keepalive interval, seconds: one third of the hold time (RFC 4271
    /// §10 suggests this ratio); 0 when the hold time is 0.
    pub keepalive: u16,
}

fn families(open: &Open) -> Vec<AfiSafi> {
    let mp: Vec<AfiSafi> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(*f),
            _ => None,
        })
        .collect();
    // RFC 4760 §8: a speaker that does not advertise the capability is
    // assumed to support IPv4 unicast only (RFC 4271 behaviour).
    if mp.is_empty() {
        vec![AfiSafi::IPV4_UNICAST]
    } else {
        mp
    }
}

fn add_path_modes(open: &Open) -> impl Iterator<Item = (AfiSafi, AddPathMode)> + '_ {
    open.capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::AddPath(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
}

fn add_path_mode(open: &Open, family: AfiSafi) -> Option<AddPathMode> {
    add_path_modes(open)
        .find(|(f, _)| *f == family)
        .map(|(_, m)| m)
}

fn has(open: &Open, pred: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities.iter().any(pred)
}

impl Negotiated {
    /// Computes what `local` (the OPEN we sent) and `remote` (the OPEN we
    /// received) agree on.
    #[must_use]
    pub fn new(local: &Open, remote: &Open) -> Self {
        let remote_families = families(remote);
        let mut families: Vec<AfiSafi> = families(local)
            .into_iter()
            .filter(|f| remote_families.contains(f))
            .collect();
        families.sort_unstable();
        families.dedup();
        let mut add_path_send = SmallVec::new();
        let mut add_path_receive = SmallVec::new();
        for &family in &families {
            let (Some(ours), Some(theirs)) =
                (add_path_mode(local, family), add_path_mode(remote, family))
            else {
                continue;
            };
            if ours.can_send() && theirs.can_receive() {
                add_path_send.push(family);
            }
            if ours.can_receive() && theirs.can_send() {
                add_path_receive.push(family);
            }
        }
        let both = |pred: &dyn Fn(&Capability) -> bool| has(local, pred) && has(remote, pred);
        let hold_time = local.hold_time.min(remote.hold_time);
        Self {
            four_octet_as: both(&|c| matches!(c, Capability::FourOctetAs(_))),
            peer_as: remote.four_octet_as().unwrap_or(u32::from(remote.my_as)),
            peer_id: remote.bgp_id,
            add_path_send,
            add_path_receive,
            extended_message: both(&|c| matches!(c, Capability::ExtendedMessage)),
            route_refresh: both(&|c| {
                matches!(c, Capability::RouteRefresh)
                    || matches!(c, Capability::Unknown { code, .. }
                        if CapCode::from(*code) == CapCode::RouteRefreshCisco)
            }),
            enhanced_route_refresh: both(&|c| matches!(c, Capability::EnhancedRouteRefresh)),
            remote_graceful_restart: remote.capabilities.iter().find_map(|c| match c {
                Capability::GracefulRestart(gr) => Some(gr.clone()),
                _ => None,
            }),
            remote_role: remote.role(),
            hold_time,
            keepalive: hold_time / 3,
            families,
        }
    }

    /// The codec settings for messages from the peer.
    #[must_use]
    pub fn decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive.clone(),
            extended_message: self.extended_message,
        }
    }

    /// The codec settings for messages to the peer.
    #[must_use]
    pub fn encode_ctx(&self) -> EncodeCtx {
        EncodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send.clone(),
            extended_message: self.extended_message,
        }
    }
}
