//! Compiling conditions and actions, with their type checks.

use std::sync::Arc;

use super::{
    CCond, CResult, CStmt, Compiled, Kind, Ty, addr_expr, int_expr, type_of, unknown_name,
};
use crate::aspath_re::AsPathRegex;
use crate::ast::{Action, ActionKind, Atom, CmpOp, CommTarget, Cond, Field, Value, ValueKind};
use crate::diag::{Diagnostic, Span};

fn mismatch(expected: Ty, found: &Value) -> Diagnostic {
    if let Some(d) = unknown_name(found) {
        return d;
    }
    Diagnostic::new(
        found.span,
        format!(
            "type mismatch: expected {}, found {}",
            expected.describe(),
            type_of(found).describe()
        ),
        format!("expected {}", expected.describe()),
    )
}

impl Compiled {
    pub(super) fn cond(&self, c: &Cond) -> CResult<CCond> {
        Ok(match c {
            Cond::And(a, b) => CCond::And(Box::new(self.cond(a)?), Box::new(self.cond(b)?)),
            Cond::Or(a, b) => CCond::Or(Box::new(self.cond(a)?), Box::new(self.cond(b)?)),
            Cond::Not(a) => CCond::Not(Box::new(self.cond(a)?)),
            Cond::Atom(a) => self.atom(a)?,
        })
    }

    fn atom(&self, a: &Atom) -> CResult<CCond> {
        match a {
            Atom::Value(v) => match v.kind {
                ValueKind::Field(Field::HostRoute) => Ok(CCond::HostRoute),
                _ => Err(unknown_name(v).unwrap_or_else(|| {
                    Diagnostic::new(
                        v.span,
                        format!(
                            "expected a condition (a comparison, 'in', 'has' or 'host-route'), found {}",
                            type_of(v).describe()
                        ),
                        "not a condition",
                    )
                })),
            },
            Atom::Cmp(l, op, r) => cmp(l, *op, r),
            Atom::In(v, set) => match type_of(v) {
                Ty::Prefix
                    if matches!(v.kind, ValueKind::Field(Field::Prefix))
                        && set.text == "peer-prefixes"
                        && !self.names.contains_key("peer-prefixes") =>
                {
                    Ok(CCond::PrefixInPeer)
                }
                Ty::Prefix if matches!(v.kind, ValueKind::Field(Field::Prefix)) => {
                    Ok(CCond::PrefixIn(self.resolve(set, Kind::PrefixSet)?))
                }
                Ty::Asn | Ty::IntLit => match int_expr(v) {
                    Some(e) => Ok(CCond::AsIn(e, self.resolve(set, Kind::AsSet)?)),
                    None => Err(mismatch(Ty::Asn, v)),
                },
                _ => Err(unknown_name(v).unwrap_or_else(|| {
                    Diagnostic::new(
                        v.span,
                        format!(
                            "'in' needs 'prefix' or an AS number on its left, found {}",
                            type_of(v).describe()
                        ),
                        "expected 'prefix', 'first-as', 'origin-as' or 'peer-as'",
                    )
                })),
            },
            Atom::Has(l, r) => match (type_of(l), &r.kind) {
                (Ty::AsPath, _) => match (Ty::unify(Ty::Asn, type_of(r)), int_expr(r)) {
                    (Some(_), Some(e)) => Ok(CCond::PathHas(e)),
                    _ => Err(mismatch(Ty::Asn, r)),
                },
                (Ty::Comms, ValueKind::Comm(p)) => Ok(CCond::CommHas(*p)),
                (Ty::Comms, ValueKind::CommDyn(p)) => Ok(CCond::CommHasDyn(*p)),
                (Ty::Larges, ValueKind::LargeDyn(p)) => Ok(CCond::LargeHasDyn(*p)),
                (Ty::Comms, _) => Err(mismatch(Ty::Comm, r)),
                (Ty::Larges, ValueKind::Large(p)) => Ok(CCond::LargeHas(*p)),
                (Ty::Larges, _) => Err(mismatch(Ty::Large, r)),
                (Ty::Exts, ValueKind::Ext(p)) => Ok(CCond::ExtHas(*p)),
                (Ty::Exts, _) => Err(mismatch(Ty::Ext, r)),
                _ => Err(has_left(l)),
            },
            Atom::Matches(l, pat, span) => {
                if type_of(l) != Ty::AsPath {
                    return Err(unknown_name(l).unwrap_or_else(|| {
                        Diagnostic::new(
                            l.span,
                            format!("'matches' needs 'as-path' on its left, found {}", type_of(l).describe()),
                            "expected 'as-path'",
                        )
                    }));
                }
                match AsPathRegex::new(pat) {
                    Ok(re) => Ok(CCond::PathMatches(Box::new(re))),
                    Err(e) => {
                        let at = span.start.saturating_add(1).saturating_add(u32::try_from(e.offset).unwrap_or(0));
                        let at = Span { file: span.file, start: at.min(span.end), end: at.saturating_add(1).min(span.end) };
                        Err(Diagnostic::new(at, format!("bad AS-path pattern: {}", e.message), e.message))
                    }
                }
            }
            Atom::HasAny(l, set) => match type_of(l) {
                Ty::AsPath => Ok(CCond::PathHasAny(self.resolve(set, Kind::AsSet)?)),
                Ty::Comms => Ok(CCond::CommHasAny(self.resolve(set, Kind::CommunitySet)?)),
                Ty::Larges => Ok(CCond::LargeHasAny(self.resolve(set, Kind::LargeSet)?)),
                Ty::Exts => Ok(CCond::ExtHasAny(self.resolve(set, Kind::ExtSet)?)),
                _ => Err(has_left(l)),
            },
        }
    }

    pub(super) fn action(&self, a: &Action, default_reason: &Arc<str>) -> CResult<CStmt> {
        Ok(match &a.kind {
            ActionKind::Accept => CStmt::Accept,
            ActionKind::Reject(r) => CStmt::Reject(
                r.as_deref()
                    .map_or_else(|| Arc::clone(default_reason), Arc::from),
            ),
            ActionKind::SetLocalPref(n) => CStmt::SetLocalPref(*n),
            ActionKind::SetMed(n) => CStmt::SetMed(*n),
            ActionKind::SetOrigin(o) => CStmt::SetOrigin(*o),
            ActionKind::SetNextHop(a) => CStmt::SetNextHop(*a),
            ActionKind::AddComm(CommTarget::Lit(p)) => CStmt::AddComm(*p),
            ActionKind::AddComm(CommTarget::Set(n)) => {
                CStmt::AddCommSet(self.resolve(n, Kind::CommunitySet)?)
            }
            ActionKind::RemoveComm(CommTarget::Lit(p)) => CStmt::RemoveComm(*p),
            ActionKind::RemoveComm(CommTarget::Set(n)) => {
                CStmt::RemoveCommSet(self.resolve(n, Kind::CommunitySet)?)
            }
            ActionKind::AddLarge(CommTarget::Lit(p)) => CStmt::AddLarge(*p),
            ActionKind::AddLarge(CommTarget::Set(n)) => {
                CStmt::AddLargeSet(self.resolve(n, Kind::LargeSet)?)
            }
            ActionKind::RemoveLarge(CommTarget::Lit(p)) => CStmt::RemoveLarge(*p),
            ActionKind::RemoveLarge(CommTarget::Set(n)) => {
                CStmt::RemoveLargeSet(self.resolve(n, Kind::LargeSet)?)
            }
            ActionKind::AddCommDyn(p) => CStmt::AddCommDyn(*p),
            ActionKind::RemoveCommDyn(p) => CStmt::RemoveCommDyn(*p),
            ActionKind::AddLargeDyn(p) => CStmt::AddLargeDyn(*p),
            ActionKind::RemoveLargeDyn(p) => CStmt::RemoveLargeDyn(*p),
            ActionKind::AddExt(CommTarget::Lit(p)) => CStmt::AddExt(*p),
            ActionKind::AddExt(CommTarget::Set(n)) => {
                CStmt::AddExtSet(self.resolve(n, Kind::ExtSet)?)
            }
            ActionKind::RemoveExt(CommTarget::Lit(p)) => CStmt::RemoveExt(*p),
            ActionKind::RemoveExt(CommTarget::Set(n)) => {
                CStmt::RemoveExtSet(self.resolve(n, Kind::ExtSet)?)
            }
            ActionKind::Prepend(v, times) => match (Ty::unify(Ty::Asn, type_of(v)), int_expr(v)) {
                (Some(Ty::Asn), Some(e)) => CStmt::Prepend(e, *times),
                _ => return Err(mismatch(Ty::Asn, v)),
            },
            ActionKind::Call(n) => CStmt::Call(self.resolve(n, Kind::Filter)?),
        })
    }
}

fn has_left(l: &Value) -> Diagnostic {
    unknown_name(l).unwrap_or_else(|| {
        Diagnostic::new(
            l.span,
            format!(
                "'has' needs 'as-path', 'communities', 'large-communities' or 'ext-communities' on its left, found {}",
                type_of(l).describe()
            ),
            "expected a list field",
        )
    })
}

fn cmp(l: &Value, op: CmpOp, r: &Value) -> CResult<CCond> {
    let (tl, tr) = (type_of(l), type_of(r));
    if let Some(d) = unknown_name(l).or_else(|| unknown_name(r)) {
        return Err(d);
    }
    let Some(ty) = Ty::unify(tl, tr) else {
        return Err(mismatch(tl, r).with_related(l.span, format!("this is {}", tl.describe())));
    };
    let eq = match op {
        CmpOp::Eq => Some(true),
        CmpOp::Ne => Some(false),
        _ => None,
    };
    let order_err = || {
        Diagnostic::new(
            l.span.to(r.span),
            format!("only '==' and '!=' compare {}", ty.describe()),
            "ordering needs integers or AS numbers",
        )
    };
    let lit_err = || {
        Diagnostic::new(
            l.span.to(r.span),
            format!(
                "compare a field with a literal when comparing {}",
                ty.describe()
            ),
            "expected a field on one side and a literal on the other",
        )
    };
    // One field and one literal, in either order.
    let (field, lit) = match (&l.kind, &r.kind) {
        (ValueKind::Field(_), ValueKind::Field(_)) => (l, None),
        (ValueKind::Field(_), _) => (l, Some(r)),
        (_, ValueKind::Field(_)) => (r, Some(l)),
        _ => (l, None),
    };
    Ok(match ty {
        Ty::Int | Ty::Asn | Ty::IntLit => match (int_expr(l), int_expr(r)) {
            (Some(a), Some(b)) => CCond::IntCmp(a, op, b),
            _ => return Err(mismatch(tl, r)),
        },
        Ty::Addr => match (addr_expr(l), addr_expr(r), eq) {
            (Some(a), Some(b), Some(eq)) => CCond::AddrCmp(a, eq, b),
            (_, _, None) => return Err(order_err()),
            _ => return Err(mismatch(tl, r)),
        },
        _ => {
            let eq = eq.ok_or_else(order_err)?;
            let (Some(lit), ValueKind::Field(_)) = (lit, &field.kind) else {
                return Err(lit_err());
            };
            match &lit.kind {
                ValueKind::Prefix(p) => CCond::PrefixIs(*p, eq),
                ValueKind::Family(f) => CCond::FamilyIs(*f, eq),
                ValueKind::Origin(o) => CCond::OriginIs(*o, eq),
                ValueKind::Str(s) if matches!(field.kind, ValueKind::Field(Field::PeerGroup)) => {
                    CCond::GroupIs(s.as_str().into(), eq)
                }
                ValueKind::Str(s) => CCond::RoleIs(s.as_str().into(), eq),
                ValueKind::Rpki(r) => CCond::RpkiIs(*r, eq),
                _ => return Err(lit_err()),
            }
        }
    })
}
