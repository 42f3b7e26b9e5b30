//! Checks of a received OPEN against the session configuration
//! (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 7607, RFC 9234).

use crate::cap::Capability;
use crate::iana::{AS_TRANS, BGP_VERSION};
use crate::msg::{Open, OpenError};

use super::SessionConfig;

/// Checks `open` against `cfg`; the error maps to the NOTIFICATION.
pub(super) fn check_open(cfg: &SessionConfig, open: &Open) -> Result<(), OpenError> {
    if open.version != BGP_VERSION {
        return Err(OpenError::UnsupportedVersion {
            version: open.version,
        });
    }
    let asn = check_peer_as(cfg, open)?;
    // RFC 4271 §6.2: "An implementation MUST reject Hold Time values of one
    // or two seconds."
    if matches!(open.hold_time, 1 | 2) {
        return Err(OpenError::UnacceptableHoldTime {
            hold_time: open.hold_time,
        });
    }
    // RFC 6286 §2.2: the BGP Identifier is "a 4-octet, unsigned, non-zero
    // integer", and it MUST be unique within an AS: for an internal peer
    // ours and theirs must differ.
    if open.bgp_id.is_unspecified() || (asn == cfg.local_as && open.bgp_id == cfg.local_id) {
        return Err(OpenError::BadBgpId { id: open.bgp_id });
    }
    check_role(cfg, open)
}

/// The peer's AS, or Bad Peer AS.
fn check_peer_as(cfg: &SessionConfig, open: &Open) -> Result<u32, OpenError> {
    let four = open.four_octet_as();
    let asn = four.unwrap_or(u32::from(open.my_as));
    let bad = Err(OpenError::BadPeerAs { asn });
    match four {
        // RFC 6793 reserves AS_TRANS as a stand-in for 4-octet ASes; a peer
        // without the capability that names it as its own AS is
        // misconfigured (paraphrased; no exact sentence covers this case).
        None if open.my_as == AS_TRANS => return bad,
        // The capability carries the real AS: it must not be AS_TRANS, and
        // My AS must be the same value when it fits two octets, AS_TRANS
        // otherwise (RFC 6793 §4.1).
        Some(a) if a == u32::from(AS_TRANS) => return bad,
        Some(a) => {
            let expected = u16::try_from(a).unwrap_or(AS_TRANS);
            if open.my_as != expected {
                return bad;
            }
        }
        None => {}
    }
    // RFC 7607 §3: "If a BGP speaker receives zero as the peer AS in an
    // OPEN message, it MUST abort the connection and send a NOTIFICATION
    // with Error Code "OPEN Message Error" and subcode "Bad Peer AS"".
    if asn == 0 || !cfg.peer_as.accepts(asn) {
        return bad;
    }
    Ok(asn)
}

/// RFC 9234 §4.2 role pairing.
fn check_role(cfg: &SessionConfig, open: &Open) -> Result<(), OpenError> {
    let Some(role) = cfg.role else {
        return Ok(());
    };
    let mut roles = open.capabilities.iter().filter_map(|c| match c {
        Capability::Role(r) => Some(*r),
        _ => None,
    });
    let remote = roles.next();
    let mismatch = Err(OpenError::RoleMismatch {
        local: role.local,
        remote,
    });
    // RFC 9234 §4.2 (paraphrased): several Role capabilities with
    // different values MUST be rejected with Role Mismatch.
    if roles.any(|r| Some(r) != remote) {
        return mismatch;
    }
    match remote {
        // RFC 9234 §4.2 (paraphrased): roles that do not form an allowed
        // pair (Table 2) MUST be rejected with Role Mismatch.
        Some(r) if !role.local.pairs_with(r) => mismatch,
        // RFC 9234 §4.2 (paraphrased): in strict mode a peer that sends no
        // Role capability is rejected with Role Mismatch.
        None if role.strict => mismatch,
        _ => Ok(()),
    }
}
