//! Checker and compiler: resolves names, checks types, and lowers the syntax
//! tree to the compiled form the evaluator runs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use rampart_core::attr::Origin;
use rampart_core::nlri::Prefix;

use crate::ast::{CmpOp, CommPat, Family, Field, Item, LargePat, Name, Stmt, Value, ValueKind};
use crate::diag::{Diagnostic, Span};
use crate::extcomm::ExtPat;
use crate::sets::{AsSet, CommSet, LargeSet, PrefixSet};

/// An integer-valued operand.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IntExpr {
    Lit(u32),
    PrefixLength,
    AsPathLength,
    Med,
    LocalPref,
    CommunityCount,
    LargeCount,
    FirstAs,
    OriginAs,
    PeerAs,
}

/// An address-valued operand.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AddrExpr {
    Lit(IpAddr),
    NextHop,
    PeerAddress,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum CCond {
    And(Box<Self>, Box<Self>),
    Or(Box<Self>, Box<Self>),
    Not(Box<Self>),
    HostRoute,
    IntCmp(IntExpr, CmpOp, IntExpr),
    AddrCmp(AddrExpr, bool, AddrExpr),
    PrefixIs(Prefix, bool),
    PrefixIn(usize),
    PrefixInPeer,
    AsIn(IntExpr, usize),
    FamilyIs(Family, bool),
    OriginIs(Origin, bool),
    RoleIs(Box<str>, bool),
    GroupIs(Box<str>, bool),
    RpkiIs(crate::eval::RpkiState, bool),
    PathHas(IntExpr),
    PathHasAny(usize),
    PathMatches(Box<crate::aspath_re::AsPathRegex>),
    CommHas(CommPat),
    CommHasAny(usize),
    LargeHas(LargePat),
    LargeHasAny(usize),
    ExtHas(ExtPat),
    CommHasDyn([crate::ast::Part; 2]),
    LargeHasDyn([crate::ast::Part; 3]),
    ExtHasAny(usize),
}

/// A compiled statement.
#[derive(Debug, Clone)]
pub(crate) enum CStmt {
    If(CCond, Box<[Self]>, Box<[Self]>),
    Accept,
    Reject(Arc<str>),
    SetLocalPref(u32),
    SetMed(u32),
    SetOrigin(Origin),
    SetNextHop(crate::ast::NextHopTarget),
    AddComm(CommPat),
    AddCommSet(usize),
    RemoveComm(CommPat),
    RemoveCommSet(usize),
    AddLarge(LargePat),
    AddLargeSet(usize),
    RemoveLarge(LargePat),
    RemoveLargeSet(usize),
    AddCommDyn([crate::ast::Part; 2]),
    RemoveCommDyn([crate::ast::Part; 2]),
    AddLargeDyn([crate::ast::Part; 3]),
    RemoveLargeDyn([crate::ast::Part; 3]),
    AddExt(ExtPat),
    AddExtSet(usize),
    RemoveExt(ExtPat),
    RemoveExtSet(usize),
    Prepend(IntExpr, u32),
    Call(usize),
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub(crate) struct CFilter {
    pub(crate) name: String,
    pub(crate) body: Box<[CStmt]>,
    pub(crate) end_reason: Arc<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    PrefixSet,
    AsSet,
    CommunitySet,
    LargeSet,
    ExtSet,
    Filter,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Self::PrefixSet => "a prefix-set",
            Self::AsSet => "an as-set",
            Self::CommunitySet => "a community-set",
            Self::LargeSet => "a large-community-set",
            Self::ExtSet => "an ext-community-set",
            Self::Filter => "a filter",
        }
    }
}

/// Everything compiled from the loaded files.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub(crate) names: HashMap<String, (Kind, usize, Span)>,
    pub(crate) prefix_sets: Vec<PrefixSet>,
    pub(crate) as_sets: Vec<AsSet>,
    pub(crate) comm_sets: Vec<CommSet>,
    pub(crate) large_sets: Vec<LargeSet>,
    pub(crate) ext_sets: Vec<Vec<ExtPat>>,
    pub(crate) filters: Vec<CFilter>,
    /// Names of `external` sets, which the daemon may replace.
    pub(crate) external: Vec<String>,
    /// `reject-tag` declarations: reject reason -> large community.
    pub(crate) reject_tags: HashMap<String, (rampart_core::attr::LargeCommunity, Span)>,
}

/// Value types of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Prefix,
    Addr,
    Int,
    Asn,
    /// An integer literal: usable as `Int` or `Asn`.
    IntLit,
    Family,
    Origin,
    Rpki,
    Str,
    Bool,
    AsPath,
    Comms,
    Larges,
    Exts,
    Comm,
    Large,
    Ext,
    Unknown,
}

impl Ty {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Prefix => "a prefix",
            Self::Addr => "an address",
            Self::Int => "an integer",
            Self::Asn => "an AS number",
            Self::IntLit => "an integer",
            Self::Family => "an address family",
            Self::Origin => "an origin",
            Self::Rpki => "an RPKI state",
            Self::Str => "a string",
            Self::Bool => "a boolean",
            Self::AsPath => "an AS path",
            Self::Comms => "a community list",
            Self::Larges => "a large-community list",
            Self::Comm => "a community",
            Self::Large => "a large community",
            Self::Exts => "an extended-community list",
            Self::Ext => "an extended community",
            Self::Unknown => "an unknown name",
        }
    }

    fn unify(a: Self, b: Self) -> Option<Self> {
        match (a, b) {
            (Self::IntLit, Self::Int | Self::Asn | Self::IntLit) => Some(b),
            (Self::Int | Self::Asn, Self::IntLit) => Some(a),
            _ if a == b => Some(a),
            _ => None,
        }
    }
}

pub(crate) fn type_of(v: &Value) -> Ty {
    match &v.kind {
        ValueKind::Field(f) => match f {
            Field::Prefix => Ty::Prefix,
            Field::PrefixLength
            | Field::AsPathLength
            | Field::Med
            | Field::LocalPref
            | Field::CommunityCount
            | Field::LargeCommunityCount => Ty::Int,
            Field::FirstAs | Field::OriginAs | Field::PeerAs => Ty::Asn,
            Field::Family => Ty::Family,
            Field::HostRoute => Ty::Bool,
            Field::AsPath => Ty::AsPath,
            Field::NextHop | Field::PeerAddress => Ty::Addr,
            Field::Origin => Ty::Origin,
            Field::Communities => Ty::Comms,
            Field::LargeCommunities => Ty::Larges,
            Field::ExtCommunities => Ty::Exts,
            Field::PeerRole | Field::PeerGroup => Ty::Str,
            Field::Rpki => Ty::Rpki,
        },
        ValueKind::Int(_) => Ty::IntLit,
        ValueKind::Prefix(_) => Ty::Prefix,
        ValueKind::Addr(_) => Ty::Addr,
        ValueKind::Comm(_) | ValueKind::CommDyn(_) => Ty::Comm,
        ValueKind::Large(_) | ValueKind::LargeDyn(_) => Ty::Large,
        ValueKind::Ext(_) => Ty::Ext,
        ValueKind::Str(_) => Ty::Str,
        ValueKind::Family(_) => Ty::Family,
        ValueKind::Origin(_) => Ty::Origin,
        ValueKind::Rpki(_) => Ty::Rpki,
        ValueKind::Name(_) => Ty::Unknown,
    }
}

type CResult<T> = Result<T, Diagnostic>;

fn unknown_name(v: &Value) -> Option<Diagnostic> {
    match &v.kind {
        ValueKind::Name(n) => Some(Diagnostic::new(
            v.span,
            format!("unknown field or value '{n}'"),
            "expected a field such as 'prefix', 'as-path', 'peer-as', or a literal",
        )),
        _ => None,
    }
}

fn int_expr(v: &Value) -> Option<IntExpr> {
    Some(match &v.kind {
        ValueKind::Int(n) => IntExpr::Lit(*n),
        ValueKind::Field(f) => match f {
            Field::PrefixLength => IntExpr::PrefixLength,
            Field::AsPathLength => IntExpr::AsPathLength,
            Field::Med => IntExpr::Med,
            Field::LocalPref => IntExpr::LocalPref,
            Field::CommunityCount => IntExpr::CommunityCount,
            Field::LargeCommunityCount => IntExpr::LargeCount,
            Field::FirstAs => IntExpr::FirstAs,
            Field::OriginAs => IntExpr::OriginAs,
            Field::PeerAs => IntExpr::PeerAs,
            _ => return None,
        },
        _ => return None,
    })
}

fn addr_expr(v: &Value) -> Option<AddrExpr> {
    Some(match &v.kind {
        ValueKind::Addr(a) => AddrExpr::Lit(*a),
        ValueKind::Field(Field::NextHop) => AddrExpr::NextHop,
        ValueKind::Field(Field::PeerAddress) => AddrExpr::PeerAddress,
        _ => return None,
    })
}

impl Compiled {
    /// Declares every named item (first pass), reporting duplicates.
    pub(crate) fn declare(&mut self, items: &[Item], errs: &mut Vec<Diagnostic>) {
        for item in items {
            let (name, kind, idx) = match item {
                Item::PrefixSet(n, entries) => {
                    let mut s = PrefixSet::default();
                    for e in entries {
                        s.insert(&e.prefix, e.min, e.max);
                    }
                    self.prefix_sets.push(s);
                    (n, Kind::PrefixSet, self.prefix_sets.len() - 1)
                }
                Item::External(n, kind) => {
                    self.external.push(n.text.clone());
                    match kind {
                        Kind::AsSet => {
                            self.as_sets.push(AsSet::new(Vec::new()));
                            (n, Kind::AsSet, self.as_sets.len() - 1)
                        }
                        _ => {
                            self.prefix_sets.push(PrefixSet::default());
                            (n, Kind::PrefixSet, self.prefix_sets.len() - 1)
                        }
                    }
                }
                Item::AsSet(n, v) => {
                    self.as_sets
                        .push(AsSet::new(v.iter().map(|x| x.0).collect()));
                    (n, Kind::AsSet, self.as_sets.len() - 1)
                }
                Item::CommunitySet(n, v) => {
                    self.comm_sets.push(CommSet::new(v.iter().map(|x| x.0)));
                    (n, Kind::CommunitySet, self.comm_sets.len() - 1)
                }
                Item::LargeSet(n, v) => {
                    self.large_sets.push(LargeSet::new(v.iter().map(|x| x.0)));
                    (n, Kind::LargeSet, self.large_sets.len() - 1)
                }
                Item::ExtSet(n, v) => {
                    self.ext_sets.push(v.iter().map(|x| x.0).collect());
                    (n, Kind::ExtSet, self.ext_sets.len() - 1)
                }
                Item::Filter(n, _) => {
                    self.filters.push(CFilter {
                        name: n.text.clone(),
                        body: Box::new([]),
                        end_reason: Arc::from(format!("end of filter {}", n.text)),
                    });
                    (n, Kind::Filter, self.filters.len() - 1)
                }
                Item::RejectTag(reason, span, tag) => {
                    self.reject_tag(reason, *span, *tag, errs);
                    continue;
                }
                Item::Include(..) | Item::Test(_) => continue,
            };
            if let Some((_, _, first)) = self.names.get(&name.text) {
                errs.push(
                    Diagnostic::new(
                        name.span,
                        format!("'{}' is declared twice", name.text),
                        "declared again here",
                    )
                    .with_related(*first, "first declared here"),
                );
            } else {
                self.names.insert(name.text.clone(), (kind, idx, name.span));
            }
        }
    }

    /// Records a `reject-tag`, refusing wildcards and a reason tagged twice.
    fn reject_tag(
        &mut self,
        reason: &str,
        span: Span,
        (pat, at): (LargePat, Span),
        errs: &mut Vec<Diagnostic>,
    ) {
        let Some(tag) = pat.exact() else {
            errs.push(Diagnostic::new(
                at,
                "a reject tag cannot have wildcards",
                "expected a large community such as 65000:1101:7",
            ));
            return;
        };
        if let Some((_, first)) = self.reject_tags.get(reason) {
            errs.push(
                Diagnostic::new(
                    span,
                    format!("reject reason \"{reason}\" is tagged twice"),
                    "tagged again here",
                )
                .with_related(*first, "first tagged here"),
            );
            return;
        }
        self.reject_tags.insert(reason.to_owned(), (tag, span));
    }

    pub(crate) fn resolve(&self, n: &Name, want: Kind) -> CResult<usize> {
        match self.names.get(&n.text) {
            Some((k, idx, _)) if *k == want => Ok(*idx),
            Some((k, _, decl)) => Err(Diagnostic::new(
                n.span,
                format!(
                    "expected {}, but '{}' is {}",
                    want.describe(),
                    n.text,
                    k.describe()
                ),
                format!("expected {}", want.describe()),
            )
            .with_related(*decl, "declared here")),
            None => Err(Diagnostic::new(
                n.span,
                format!("unknown name '{}': expected {}", n.text, want.describe()),
                "not declared in any loaded file",
            )),
        }
    }

    /// Compiles every filter body (second pass).
    pub(crate) fn compile_filters(&mut self, items: &[Item], errs: &mut Vec<Diagnostic>) {
        for item in items {
            let Item::Filter(n, body) = item else {
                continue;
            };
            let Some((Kind::Filter, idx, span)) = self.names.get(&n.text).copied() else {
                continue;
            };
            if span != n.span {
                continue; // a duplicate, already reported
            }
            let name = Arc::from(format!("rejected by filter {}", n.text));
            let stmts = self.stmts(body, &name, errs);
            if let Some(f) = self.filters.get_mut(idx) {
                f.body = stmts;
            }
        }
    }

    fn stmts(&self, body: &[Stmt], name: &Arc<str>, errs: &mut Vec<Diagnostic>) -> Box<[CStmt]> {
        let mut out = Vec::new();
        for s in body {
            match s {
                Stmt::Rule(_, inner) => out.extend(self.stmts(inner, name, errs)),
                Stmt::If(c, t, e) => match self.cond(c) {
                    Ok(c) => out.push(CStmt::If(
                        c,
                        self.stmts(t, name, errs),
                        self.stmts(e, name, errs),
                    )),
                    Err(d) => errs.push(d),
                },
                Stmt::Action(a) => match self.action(a, name) {
                    Ok(a) => out.push(a),
                    Err(d) => errs.push(d),
                },
            }
        }
        out.into_boxed_slice()
    }
}

mod cond;
