//! The evaluator: runs compiled filters on one route, allocating nothing
//! unless an action grows an attribute list.

use std::net::IpAddr;
use std::sync::Arc;

use rampart_core::attr::{NextHop, PathAttributes};
use rampart_core::nlri::Prefix;

use crate::ast::{CmpOp, CommPat, Family, LargePat, NextHopTarget, Part};
use crate::compile::{AddrExpr, CCond, CStmt, Compiled, IntExpr};
use crate::extcomm::ExtPat;
use crate::sets::PrefixSet;

/// RPKI route-origin validation state (RFC 6811 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RpkiState {
    /// A VRP covers the prefix and matches the origin AS and length.
    Valid,
    /// Covered by a VRP, but no VRP matches.
    Invalid,
    /// No VRP covers the prefix.
    NotFound,
    /// No RPKI source is configured: `rpki == ...` is false for every state.
    #[default]
    Unknown,
}

/// What the evaluator knows about a route besides its attributes. Build it
/// with [`RouteContext::new`] and set the other fields as needed.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RouteContext<'a> {
    /// The route's prefix.
    pub prefix: Prefix,
    /// Address of the peer the route came from (or goes to, on export).
    pub peer_address: IpAddr,
    /// AS number of that peer.
    pub peer_as: u32,
    /// The peer's role as configured (e.g. "rs-client"); matched by `peer-role`.
    pub peer_role: &'a str,
    /// The peer's group or template name; matched by `peer-group`.
    pub peer_group: &'a str,
    /// The local address of the session; `set next-hop self` uses it.
    pub local_address: Option<IpAddr>,
    /// RPKI state of the route; matched by `rpki`.
    pub rpki: RpkiState,
    /// The prefixes this peer may announce (from config or the control API);
    /// matched by `prefix in peer-prefixes`, which is false when `None`.
    pub peer_prefixes: Option<&'a PrefixSet>,
}

impl<'a> RouteContext<'a> {
    /// A context with empty role and group, no local address and RPKI state
    /// [`RpkiState::Unknown`].
    #[must_use]
    pub const fn new(prefix: Prefix, peer_address: IpAddr, peer_as: u32) -> Self {
        Self {
            prefix,
            peer_address,
            peer_as,
            peer_role: "",
            peer_group: "",
            local_address: None,
            rpki: RpkiState::Unknown,
            peer_prefixes: None,
        }
    }
}

/// Outcome of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The route passes.
    Accept,
    /// The route is rejected, with the reason from the policy.
    Reject(Arc<str>),
}

enum Flow<'p> {
    Continue,
    Accept,
    Reject(&'p Arc<str>),
}

fn next_hop_addr(nh: Option<&NextHop>) -> Option<IpAddr> {
    match nh? {
        NextHop::V4(a) => Some(IpAddr::V4(*a)),
        NextHop::V6 { global, .. } => Some(IpAddr::V6(*global)),
    }
}

/// Resolves `peer-as` in a part; `Err` when the value does not fit `T`.
fn part<T: TryFrom<u32>>(p: Part, ctx: &RouteContext<'_>) -> Result<Option<T>, ()> {
    match p {
        Part::Any => Ok(None),
        Part::Lit(n) => T::try_from(n).map(Some).map_err(|_| ()),
        Part::PeerAs => T::try_from(ctx.peer_as).map(Some).map_err(|_| ()),
    }
}

/// `0:peer-as` for this route; `None` when the peer AS does not fit 16 bits.
fn dyn_comm(p: [Part; 2], ctx: &RouteContext<'_>) -> Option<CommPat> {
    let [a, b] = p;
    Some(CommPat(part(a, ctx).ok()?, part(b, ctx).ok()?))
}

fn dyn_large(p: [Part; 3], ctx: &RouteContext<'_>) -> Option<LargePat> {
    let [a, b, c] = p;
    Some(LargePat(
        part(a, ctx).ok()?,
        part(b, ctx).ok()?,
        part(c, ctx).ok()?,
    ))
}

/// Adds and removes communities written with `peer-as`.
fn act_dyn(s: &CStmt, ctx: &RouteContext<'_>, a: &mut PathAttributes) {
    match s {
        CStmt::AddCommDyn(p) => {
            if let Some(c) = dyn_comm(*p, ctx).and_then(CommPat::exact)
                && !a.communities.contains(&c)
            {
                a.communities.push(c);
            }
        }
        CStmt::RemoveCommDyn(p) => {
            if let Some(p) = dyn_comm(*p, ctx) {
                a.communities.retain(|c| !p.matches(*c));
            }
        }
        CStmt::AddLargeDyn(p) => {
            if let Some(c) = dyn_large(*p, ctx).and_then(LargePat::exact)
                && !a.large_communities.contains(&c)
            {
                a.large_communities.push(c);
            }
        }
        CStmt::RemoveLargeDyn(p) => {
            if let Some(p) = dyn_large(*p, ctx) {
                a.large_communities.retain(|c| !p.matches(*c));
            }
        }
        _ => {}
    }
}

fn int(e: IntExpr, ctx: &RouteContext<'_>, a: &PathAttributes) -> Option<u32> {
    let len = |n: usize| u32::try_from(n).ok();
    match e {
        IntExpr::Lit(n) => Some(n),
        IntExpr::PrefixLength => Some(u32::from(ctx.prefix.len())),
        IntExpr::AsPathLength => len(a.as_path.path_len()),
        IntExpr::Med => a.med,
        IntExpr::LocalPref => a.local_pref,
        IntExpr::CommunityCount => len(a.communities.len()),
        IntExpr::LargeCount => len(a.large_communities.len()),
        IntExpr::FirstAs => a.as_path.first_as(),
        IntExpr::OriginAs => a.as_path.origin_as(),
        IntExpr::PeerAs => Some(ctx.peer_as),
    }
}

fn addr(e: AddrExpr, ctx: &RouteContext<'_>, a: &PathAttributes) -> Option<IpAddr> {
    match e {
        AddrExpr::Lit(x) => Some(x),
        AddrExpr::NextHop => next_hop_addr(a.next_hop.as_ref()),
        AddrExpr::PeerAddress => Some(ctx.peer_address),
    }
}

impl Compiled {
    fn test(&self, c: &CCond, ctx: &RouteContext<'_>, a: &PathAttributes) -> bool {
        match c {
            CCond::And(x, y) => self.test(x, ctx, a) && self.test(y, ctx, a),
            CCond::Or(x, y) => self.test(x, ctx, a) || self.test(y, ctx, a),
            CCond::Not(x) => !self.test(x, ctx, a),
            CCond::HostRoute => ctx.prefix.is_host(),
            CCond::IntCmp(l, op, r) => match (int(*l, ctx, a), int(*r, ctx, a)) {
                (Some(l), Some(r)) => match op {
                    CmpOp::Eq => l == r,
                    CmpOp::Ne => l != r,
                    CmpOp::Lt => l < r,
                    CmpOp::Le => l <= r,
                    CmpOp::Gt => l > r,
                    CmpOp::Ge => l >= r,
                },
                _ => false,
            },
            CCond::AddrCmp(l, eq, r) => match (addr(*l, ctx, a), addr(*r, ctx, a)) {
                (Some(l), Some(r)) => (l == r) == *eq,
                _ => false,
            },
            CCond::PrefixIs(p, eq) => (ctx.prefix == *p) == *eq,
            CCond::PrefixIn(s) => self
                .prefix_sets
                .get(*s)
                .is_some_and(|s| s.contains(&ctx.prefix)),
            CCond::PrefixInPeer => ctx.peer_prefixes.is_some_and(|s| s.contains(&ctx.prefix)),
            CCond::AsIn(e, s) => int(*e, ctx, a)
                .is_some_and(|asn| self.as_sets.get(*s).is_some_and(|s| s.contains(asn))),
            CCond::FamilyIs(f, eq) => {
                let is = match ctx.prefix {
                    Prefix::V4(_) => Family::V4,
                    Prefix::V6(_) => Family::V6,
                };
                (is == *f) == *eq
            }
            CCond::OriginIs(o, eq) => a.origin.is_some_and(|x| (x == *o) == *eq),
            CCond::RoleIs(r, eq) => (ctx.peer_role == &**r) == *eq,
            CCond::GroupIs(g, eq) => (ctx.peer_group == &**g) == *eq,
            CCond::RpkiIs(r, eq) => ctx.rpki != RpkiState::Unknown && (ctx.rpki == *r) == *eq,
            CCond::PathHas(e) => int(*e, ctx, a).is_some_and(|asn| a.as_path.contains(asn)),
            CCond::PathHasAny(s) => self
                .as_sets
                .get(*s)
                .is_some_and(|s| a.as_path.iter().any(|asn| s.contains(asn))),
            CCond::PathMatches(re) => re.matches(a.as_path.iter()),
            CCond::CommHas(p) => a.communities.iter().any(|c| p.matches(*c)),
            CCond::CommHasAny(s) => self
                .comm_sets
                .get(*s)
                .is_some_and(|s| a.communities.iter().any(|c| s.matches(*c))),
            CCond::CommHasDyn(p) => {
                dyn_comm(*p, ctx).is_some_and(|p| a.communities.iter().any(|c| p.matches(*c)))
            }
            CCond::LargeHasDyn(p) => dyn_large(*p, ctx)
                .is_some_and(|p| a.large_communities.iter().any(|c| p.matches(*c))),
            CCond::ExtHas(p) => a.rare.ext_communities.iter().any(|c| p.matches(c)),
            CCond::ExtHasAny(s) => self.ext_sets.get(*s).is_some_and(|s| {
                a.rare
                    .ext_communities
                    .iter()
                    .any(|c| s.iter().any(|p| p.matches(c)))
            }),
            CCond::LargeHas(p) => a.large_communities.iter().any(|c| p.matches(*c)),
            CCond::LargeHasAny(s) => self
                .large_sets
                .get(*s)
                .is_some_and(|s| a.large_communities.iter().any(|c| s.matches(*c))),
        }
    }

    fn run<'p>(
        &'p self,
        body: &'p [CStmt],
        ctx: &RouteContext<'_>,
        a: &mut PathAttributes,
        depth: usize,
    ) -> Flow<'p> {
        for s in body {
            let flow = match s {
                CStmt::If(c, t, e) => {
                    let branch = if self.test(c, ctx, a) { t } else { e };
                    self.run(branch, ctx, a, depth)
                }
                CStmt::Accept => Flow::Accept,
                CStmt::Reject(r) => Flow::Reject(r),
                CStmt::Call(f) => self.call(*f, ctx, a, depth),
                other => {
                    self.act(other, ctx, a);
                    Flow::Continue
                }
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    /// `call`: the callee's accept returns to the caller; its reject (or
    /// falling off its end) rejects the route.
    fn call<'p>(
        &'p self,
        f: usize,
        ctx: &RouteContext<'_>,
        a: &mut PathAttributes,
        depth: usize,
    ) -> Flow<'p> {
        let Some(filter) = self.filters.get(f) else {
            return Flow::Continue;
        };
        // Call cycles are refused at load; the bound is a second guard.
        if depth > 64 {
            return Flow::Reject(&filter.end_reason);
        }
        match self.run(&filter.body, ctx, a, depth + 1) {
            Flow::Accept => Flow::Continue,
            Flow::Continue => Flow::Reject(&filter.end_reason),
            r @ Flow::Reject(_) => r,
        }
    }

    fn act(&self, s: &CStmt, ctx: &RouteContext<'_>, a: &mut PathAttributes) {
        match s {
            CStmt::SetLocalPref(n) => a.local_pref = Some(*n),
            CStmt::SetMed(n) => a.med = Some(*n),
            CStmt::SetOrigin(o) => a.origin = Some(*o),
            CStmt::SetNextHop(x) => {
                let target = match x {
                    NextHopTarget::Addr(a) => *a,
                    NextHopTarget::PeerAddress => ctx.peer_address,
                    NextHopTarget::Local => match ctx.local_address {
                        Some(a) => a,
                        None => return,
                    },
                };
                a.next_hop = Some(match target {
                    IpAddr::V4(v) => NextHop::V4(v),
                    IpAddr::V6(v) => NextHop::V6 {
                        global: v,
                        link_local: None,
                    },
                });
            }
            CStmt::AddComm(p) => {
                if let Some(c) = p.exact()
                    && !a.communities.contains(&c)
                {
                    a.communities.push(c);
                }
            }
            CStmt::AddCommSet(s) => {
                for c in self.comm_sets.get(*s).map_or(&[][..], |s| &s.exact) {
                    if !a.communities.contains(c) {
                        a.communities.push(*c);
                    }
                }
            }
            CStmt::RemoveComm(p) => a.communities.retain(|c| !p.matches(*c)),
            CStmt::RemoveCommSet(s) => {
                if let Some(s) = self.comm_sets.get(*s) {
                    a.communities.retain(|c| !s.matches(*c));
                }
            }
            CStmt::AddLarge(p) => {
                if let Some(c) = p.exact()
                    && !a.large_communities.contains(&c)
                {
                    a.large_communities.push(c);
                }
            }
            CStmt::AddLargeSet(s) => {
                for c in self.large_sets.get(*s).map_or(&[][..], |s| &s.exact) {
                    if !a.large_communities.contains(c) {
                        a.large_communities.push(*c);
                    }
                }
            }
            CStmt::RemoveLarge(p) => a.large_communities.retain(|c| !p.matches(*c)),
            CStmt::RemoveLargeSet(s) => {
                if let Some(s) = self.large_sets.get(*s) {
                    a.large_communities.retain(|c| !s.matches(*c));
                }
            }
            CStmt::AddCommDyn(_)
            | CStmt::RemoveCommDyn(_)
            | CStmt::AddLargeDyn(_)
            | CStmt::RemoveLargeDyn(_) => act_dyn(s, ctx, a),
            CStmt::AddExt(_)
            | CStmt::AddExtSet(_)
            | CStmt::RemoveExt(_)
            | CStmt::RemoveExtSet(_) => {
                self.act_ext(s, a);
            }
            CStmt::Prepend(e, times) => {
                if let Some(asn) = int(*e, ctx, a) {
                    a.as_path.prepend(asn, *times as usize);
                }
            }
            CStmt::If(..) | CStmt::Accept | CStmt::Reject(_) | CStmt::Call(_) => {}
        }
    }

    fn act_ext(&self, s: &CStmt, a: &mut PathAttributes) {
        let add = |a: &mut PathAttributes, p: ExtPat| {
            if let Some(c) = p.encode()
                && !a.rare.ext_communities.contains(&c)
            {
                a.rare.ext_communities.push(c);
            }
        };
        match s {
            CStmt::AddExt(p) => add(a, *p),
            CStmt::AddExtSet(i) => {
                for p in self.ext_sets.get(*i).map_or(&[][..], Vec::as_slice) {
                    add(a, *p);
                }
            }
            // Removal goes through `stored_mut`: a set with no rare group
            // has nothing to remove, and must not be given one.
            CStmt::RemoveExt(p) => {
                if let Some(r) = a.rare.stored_mut() {
                    r.ext_communities.retain(|c| !p.matches(c));
                }
            }
            CStmt::RemoveExtSet(i) => {
                if let (Some(set), Some(r)) = (self.ext_sets.get(*i), a.rare.stored_mut()) {
                    r.ext_communities
                        .retain(|c| !set.iter().any(|p| p.matches(c)));
                }
            }
            _ => {}
        }
    }

    /// Runs filter `f` on a route (default at the end: reject).
    pub(crate) fn evaluate(
        &self,
        f: usize,
        ctx: &RouteContext<'_>,
        a: &mut PathAttributes,
    ) -> Verdict {
        let Some(filter) = self.filters.get(f) else {
            return Verdict::Reject(Arc::from("no such filter"));
        };
        match self.run(&filter.body, ctx, a, 0) {
            Flow::Accept => Verdict::Accept,
            Flow::Reject(r) => Verdict::Reject(Arc::clone(r)),
            Flow::Continue => Verdict::Reject(Arc::clone(&filter.end_reason)),
        }
    }

    /// Call-graph cycle check: returns the filter index on a cycle, if any.
    pub(crate) fn find_call_cycle(&self) -> Option<usize> {
        fn calls(body: &[CStmt], out: &mut Vec<usize>) {
            for s in body {
                match s {
                    CStmt::Call(f) => out.push(*f),
                    CStmt::If(_, t, e) => {
                        calls(t, out);
                        calls(e, out);
                    }
                    _ => {}
                }
            }
        }
        let edges: Vec<Vec<usize>> = self
            .filters
            .iter()
            .map(|f| {
                let mut v = Vec::new();
                calls(&f.body, &mut v);
                v
            })
            .collect();
        // 0 = unvisited, 1 = on stack, 2 = done.
        let mut state = vec![0u8; edges.len()];
        fn dfs(n: usize, edges: &[Vec<usize>], state: &mut [u8]) -> bool {
            if let Some(s) = state.get_mut(n) {
                match *s {
                    1 => return true,
                    2 => return false,
                    _ => *s = 1,
                }
            }
            for &m in edges.get(n).map_or(&[][..], |v| v.as_slice()) {
                if dfs(m, edges, state) {
                    return true;
                }
            }
            if let Some(s) = state.get_mut(n) {
                *s = 2;
            }
            false
        }
        (0..edges.len()).find(|&n| state.get(n) == Some(&0) && dfs(n, &edges, &mut state))
    }
}
