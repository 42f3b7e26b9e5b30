//! Syntax tree of policy files, with spans.

use std::net::IpAddr;

use rampart_core::attr::Origin;
use rampart_core::nlri::Prefix;

use crate::diag::Span;
use crate::extcomm::ExtPat;

/// A name with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub(crate) text: String,
    pub(crate) span: Span,
}

/// A community pattern: `None` is the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommPat(pub(crate) Option<u16>, pub(crate) Option<u16>);

/// A large-community pattern: `None` is the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LargePat(
    pub(crate) Option<u32>,
    pub(crate) Option<u32>,
    pub(crate) Option<u32>,
);

/// A part of a community written with `peer-as` (`0:peer-as`,
/// `65000:1:peer-as`), resolved per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(u32),
    Any,
    PeerAs,
}

#[derive(Debug, Clone)]
pub(crate) struct PrefixEntry {
    pub(crate) prefix: Prefix,
    pub(crate) min: u8,
    pub(crate) max: u8,
    #[allow(
        dead_code,
        reason = "kept for diagnostics about entries (overlaps, IRR sources)"
    )]
    pub(crate) span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum Item {
    Include(String, Span),
    PrefixSet(Name, Vec<PrefixEntry>),
    /// `prefix-set NAME external;` / `as-set NAME external;`: filled at run time.
    External(Name, crate::compile::Kind),
    AsSet(Name, Vec<(u32, Span)>),
    CommunitySet(Name, Vec<(CommPat, Span)>),
    LargeSet(Name, Vec<(LargePat, Span)>),
    ExtSet(Name, Vec<(ExtPat, Span)>),
    Filter(Name, Vec<Stmt>),
    Test(TestDecl),
    /// `reject-tag "reason" G:L1:L2;`: the large community a route rejected
    /// with that reason carries when the daemon keeps rejected routes.
    RejectTag(String, Span, (LargePat, Span)),
}

#[derive(Debug, Clone)]
pub(crate) enum Stmt {
    Rule(
        #[allow(dead_code, reason = "kept for tracing which rule decided")] Name,
        Vec<Self>,
    ),
    If(Cond, Vec<Self>, Vec<Self>),
    Action(Action),
}

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    And(Box<Self>, Box<Self>),
    Or(Box<Self>, Box<Self>),
    Not(Box<Self>),
    Atom(Atom),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub(crate) enum Atom {
    Value(Value),
    Cmp(Value, CmpOp, Value),
    In(Value, Name),
    Has(Value, Value),
    HasAny(Value, Name),
    /// `as-path matches "pattern"`.
    Matches(Value, String, Span),
}

/// Route fields a condition can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Prefix,
    PrefixLength,
    Family,
    HostRoute,
    AsPath,
    AsPathLength,
    FirstAs,
    OriginAs,
    NextHop,
    Med,
    LocalPref,
    Origin,
    Communities,
    LargeCommunities,
    ExtCommunities,
    CommunityCount,
    LargeCommunityCount,
    PeerAs,
    PeerAddress,
    PeerRole,
    PeerGroup,
    Rpki,
}

impl Field {
    pub(crate) fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "prefix" => Self::Prefix,
            "prefix-length" => Self::PrefixLength,
            "family" => Self::Family,
            "host-route" => Self::HostRoute,
            "as-path" => Self::AsPath,
            "as-path-length" => Self::AsPathLength,
            "first-as" => Self::FirstAs,
            "origin-as" => Self::OriginAs,
            "next-hop" => Self::NextHop,
            "med" => Self::Med,
            "local-pref" => Self::LocalPref,
            "origin" => Self::Origin,
            "communities" => Self::Communities,
            "large-communities" => Self::LargeCommunities,
            "ext-communities" => Self::ExtCommunities,
            "community-count" => Self::CommunityCount,
            "large-community-count" => Self::LargeCommunityCount,
            "peer-as" => Self::PeerAs,
            "peer-address" => Self::PeerAddress,
            "peer-role" => Self::PeerRole,
            "peer-group" => Self::PeerGroup,
            "rpki" => Self::Rpki,
            _ => return None,
        })
    }
}

/// Address family literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

/// Where `set next-hop` points.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NextHopTarget {
    Addr(IpAddr),
    PeerAddress,
    /// `self`: the local address of the session.
    Local,
}

#[derive(Debug, Clone)]
pub(crate) enum ValueKind {
    Field(Field),
    Int(u32),
    Prefix(Prefix),
    Addr(IpAddr),
    Comm(CommPat),
    Large(LargePat),
    Ext(ExtPat),
    CommDyn([Part; 2]),
    LargeDyn([Part; 3]),
    Str(String),
    Family(Family),
    Origin(Origin),
    Rpki(crate::eval::RpkiState),
    /// An identifier that is neither a field nor a keyword value.
    Name(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Value {
    pub(crate) kind: ValueKind,
    pub(crate) span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum CommTarget<P> {
    Lit(P),
    Set(Name),
}

#[derive(Debug, Clone)]
pub(crate) enum ActionKind {
    Accept,
    Reject(Option<String>),
    SetLocalPref(u32),
    SetMed(u32),
    SetOrigin(Origin),
    /// `None`: the peer's address.
    SetNextHop(NextHopTarget),
    AddComm(CommTarget<CommPat>),
    RemoveComm(CommTarget<CommPat>),
    AddLarge(CommTarget<LargePat>),
    RemoveLarge(CommTarget<LargePat>),
    AddCommDyn([Part; 2]),
    RemoveCommDyn([Part; 2]),
    AddLargeDyn([Part; 3]),
    RemoveLargeDyn([Part; 3]),
    AddExt(CommTarget<ExtPat>),
    RemoveExt(CommTarget<ExtPat>),
    Prepend(Value, u32),
    Call(Name),
}

#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) kind: ActionKind,
    #[allow(dead_code, reason = "kept for run-time traces")]
    pub(crate) span: Span,
}

/// `field value ... [as ASN [role "s"]];` inside `route { }` or `expect accept { }`.
#[derive(Debug, Clone)]
pub(crate) struct RouteField {
    pub(crate) name: Name,
    pub(crate) values: Vec<Value>,
    pub(crate) peer_as: Option<(u32, Span)>,
    pub(crate) role: Option<String>,
    pub(crate) span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// `expect reject ["reason"] [{ fields }]`: the fields are checked on
    /// the attributes as the filter left them (e.g. reject-reason tags).
    Reject(Option<String>, Vec<RouteField>),
    Accept(Vec<RouteField>),
}

#[derive(Debug, Clone)]
pub(crate) struct TestDecl {
    pub(crate) name: String,
    pub(crate) span: Span,
    pub(crate) filter: Option<Name>,
    pub(crate) route: Option<(Vec<RouteField>, Span)>,
    pub(crate) expect: Option<(Expect, Span)>,
}
