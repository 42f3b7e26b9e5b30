//! A peer's import and export filters as the shards run them: the compiled
//! policy, the filter chain named in the config, and what the filters may
//! ask about the peer (`peer-address`, `peer-as`, `peer-prefixes`, ...).

use std::net::IpAddr;
use std::sync::Arc;

use rampart_core::attr::PathAttributes;
use rampart_core::nlri::Prefix;
use rampart_core::rib::{AttrSet, Interner};
use rampart_policy::{FilterId, Policy, RouteContext, Verdict};

use rampart_core::rib::PeerId;

use super::export::EbgpRewrite;
use super::peer::PeerSpec;
use super::shard::PeerPolicy;
use crate::config::{AllowedPrefixes, PolicyConfig, Role, SessionSettings};
use crate::rpki::Rpki;

/// The peer a chain runs for: where imported routes come from, or where
/// exported routes go.
#[derive(Debug, Clone)]
pub(crate) struct PolicyPeer {
    pub(crate) address: IpAddr,
    pub(crate) asn: u32,
    pub(crate) role: Role,
    /// Template name for dynamic neighbors, else empty (`peer-group`).
    pub(crate) group: Arc<str>,
    /// Local address of the session (`set next-hop self`).
    pub(crate) local_address: Option<IpAddr>,
    pub(crate) allowed: Option<Arc<AllowedPrefixes>>,
}

/// Filters run in order; the first reject wins.
#[derive(Debug)]
pub(crate) struct Chain {
    policy: Arc<Policy>,
    filters: Vec<FilterId>,
    peer: PolicyPeer,
    /// The outcome may differ between two peers (the filters read the
    /// peer), so an update group cannot share it.
    per_peer: bool,
    /// Where routes are validated (RFC 6811), when a filter reads `rpki`.
    rpki: Option<Arc<Rpki>>,
}

/// What a peer's import does with a route.
#[derive(Debug, Clone)]
pub(crate) enum Import {
    /// No import filter: every route as received.
    AcceptAll,
    /// An eBGP peer without import filter: nothing (RFC 8212 §3).
    RejectAll,
    /// Run the filters.
    Filters(Arc<Chain>),
}

/// Reason a route is rejected by [`Import::RejectAll`].
pub(crate) const NO_POLICY: &str = "no import policy (RFC 8212)";

impl Chain {
    /// The chain of `names` in `policy`, or `None` when `names` is empty.
    /// Names were checked at config load; unknown ones are skipped. A
    /// chain whose filters read `rpki` validates routes with `rpki`.
    pub(crate) fn new(
        policy: &Arc<Policy>,
        names: &[String],
        peer: PolicyPeer,
        rpki: &Arc<Rpki>,
    ) -> Option<Self> {
        if names.is_empty() {
            return None;
        }
        let filters: Vec<FilterId> = names.iter().filter_map(|n| policy.filter_id(n)).collect();
        let per_peer = filters.iter().any(|f| policy.reads_peer(*f));
        let reads_rpki = filters.iter().any(|f| policy.reads_rpki(*f));
        Some(Self {
            policy: Arc::clone(policy),
            filters,
            peer,
            per_peer,
            rpki: reads_rpki.then(|| Arc::clone(rpki)),
        })
    }

    pub(crate) fn per_peer(&self) -> bool {
        self.per_peer
    }

    /// True when the outcome depends on the route's RPKI state: a change
    /// of the validated payloads runs the chain again.
    pub(crate) fn reads_rpki(&self) -> bool {
        self.rpki.is_some()
    }

    /// Runs the chain on `attrs` of `prefix`: the (possibly rewritten) set
    /// to keep, or the reject reason. An unchanged route keeps its set; a
    /// rewritten one is interned in `interner`.
    pub(crate) fn run(
        &self,
        prefix: Prefix,
        attrs: &AttrSet,
        interner: &mut Interner,
    ) -> Result<AttrSet, Arc<str>> {
        let mut ctx = RouteContext::new(prefix, self.peer.address, self.peer.asn);
        ctx.peer_role = self.peer.role.name();
        ctx.peer_group = &self.peer.group;
        ctx.local_address = self.peer.local_address;
        ctx.peer_prefixes = self.peer.allowed.as_deref().map(|a| &a.set);
        if let Some(r) = &self.rpki {
            ctx.rpki = r.validate(&prefix, attrs.attrs());
        }
        let mut out: PathAttributes = attrs.attrs().clone();
        for f in &self.filters {
            if let Verdict::Reject(why) = self.policy.evaluate(*f, &ctx, &mut out) {
                return Err(why);
            }
        }
        if out == *attrs.attrs() {
            Ok(attrs.clone())
        } else {
            Ok(interner.intern(out))
        }
    }
}

impl Import {
    /// The import of a peer with `settings` under `policy`.
    pub(crate) fn new(
        policy: Option<&Arc<Policy>>,
        settings: &SessionSettings,
        peer: PolicyPeer,
        rpki: &Arc<Rpki>,
    ) -> Self {
        match policy.and_then(|p| Chain::new(p, &settings.import, peer, rpki)) {
            Some(c) => Self::Filters(Arc::new(c)),
            None if settings.role == Role::Ebgp => Self::RejectAll,
            None => Self::AcceptAll,
        }
    }

    /// True when routes are stored before policy too (the Adj-RIB-In
    /// pre-policy), which is when the outcome can differ from the input.
    pub(crate) fn keeps_pre_policy(&self) -> bool {
        !matches!(self, Self::AcceptAll)
    }

    /// True when the outcome depends on the route's RPKI state.
    pub(crate) fn reads_rpki(&self) -> bool {
        matches!(self, Self::Filters(c) if c.reads_rpki())
    }

    /// Runs the import on one route. Accepting everything hands `attrs`
    /// back as it came: a handle moved, not cloned, since its reference
    /// count is shared with the session's thread and other shards.
    pub(crate) fn run(
        &self,
        prefix: Prefix,
        attrs: AttrSet,
        interner: &mut Interner,
    ) -> Result<AttrSet, Arc<str>> {
        match self {
            Self::AcceptAll => Ok(attrs),
            Self::RejectAll => Err(Arc::from(NO_POLICY)),
            Self::Filters(c) => c.run(prefix, &attrs, interner),
        }
    }
}

/// The filters of the peer `spec` describes, on a session with peer AS
/// `asn` from `local_address`, under the policy in force (validating
/// routes with `rpki` where they read it); with the group key fields that
/// depend on them (`policy` digest, `dest`).
pub(crate) fn peer_policy(
    policy: Option<&PolicyConfig>,
    spec: &PeerSpec,
    asn: u32,
    (local_as, local_address): (u32, Option<IpAddr>),
    rpki: &Arc<Rpki>,
) -> (PeerPolicy, u64, Option<PeerId>) {
    let s = &spec.settings;
    let peer = PolicyPeer {
        address: spec.address,
        asn,
        role: s.role,
        group: Arc::clone(&spec.group),
        local_address,
        allowed: s.allowed_prefixes.clone(),
    };
    let compiled = policy.map(|p| &p.policy);
    let import = Import::new(compiled, s, peer.clone(), rpki);
    let export = compiled.and_then(|p| Chain::new(p, &s.export, peer, rpki).map(Arc::new));
    let digest = match (&export, policy) {
        (Some(_), Some(p)) => p.digest,
        _ => 0,
    };
    let ebgp = (s.role == Role::Ebgp).then_some(EbgpRewrite {
        local_as,
        next_hop_self: local_address,
    });
    let dest = (ebgp.is_some() || export.as_ref().is_some_and(|c| c.per_peer())).then_some(spec.id);
    (
        PeerPolicy {
            import,
            export,
            ebgp,
        },
        digest,
        dest,
    )
}
