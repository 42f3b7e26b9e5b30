//! Conditions, actions and test blocks.

use super::{PResult, Parser, classify, not_a};
use crate::ast::{
    Action, ActionKind, Atom, CmpOp, CommTarget, Cond, Expect, Family, Field, Name, NextHopTarget,
    Part, RouteField, TestDecl, Value, ValueKind,
};
use crate::diag::{Diagnostic, Span};
use crate::eval::RpkiState;
use crate::lexer::Token;
use rampart_core::attr::Origin;

impl Parser<'_> {
    pub(super) fn cond(&mut self) -> PResult<Cond> {
        let mut left = self.and()?;
        let mut n = 0u32;
        while self.eat_kw("or") {
            n += 1;
            self.chain_limit(n)?;
            let right = self.and()?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> PResult<Cond> {
        let mut left = self.unary()?;
        let mut n = 0u32;
        while self.eat_kw("and") {
            n += 1;
            self.chain_limit(n)?;
            let right = self.unary()?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// Bounds `and`/`or` chains, which nest in the tree (and in the
    /// compiler's and evaluator's recursion).
    fn chain_limit(&self, n: u32) -> PResult<()> {
        if n > 256 {
            return Err(Box::new(Diagnostic::new(
                self.prev_span(),
                "more than 256 conditions joined by 'and'/'or'",
                "use a set, or split this into rules",
            )));
        }
        Ok(())
    }

    fn unary(&mut self) -> PResult<Cond> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> PResult<Cond> {
        if self.eat_kw("not") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.eat(Token::LParen) {
            let c = self.cond()?;
            self.expect(Token::RParen, "')' or an 'and'/'or'")?;
            return Ok(c);
        }
        let left = self.value("a condition")?;
        let op = match self.peek() {
            Some(Token::Eq) => Some(CmpOp::Eq),
            Some(Token::Ne) => Some(CmpOp::Ne),
            Some(Token::Lt) => Some(CmpOp::Lt),
            Some(Token::Le) => Some(CmpOp::Le),
            Some(Token::Gt) => Some(CmpOp::Gt),
            Some(Token::Ge) => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.value("a value to compare with")?;
            return Ok(Cond::Atom(Atom::Cmp(left, op, right)));
        }
        if self.eat_kw("in") {
            let set = self.name("a set name after 'in'")?;
            return Ok(Cond::Atom(Atom::In(left, set)));
        }
        if self.eat_kw("matches") {
            let (pat, span) = self.string("an AS-path pattern in double quotes")?;
            return Ok(Cond::Atom(Atom::Matches(left, pat, span)));
        }
        if self.eat_kw("has") {
            if self.eat_kw("any") {
                let set = self.name("a set name after 'has any'")?;
                return Ok(Cond::Atom(Atom::HasAny(left, set)));
            }
            let right = self.value("a value or 'any' after 'has'")?;
            return Ok(Cond::Atom(Atom::Has(left, right)));
        }
        Ok(Cond::Atom(Atom::Value(left)))
    }

    pub(super) fn value(&mut self, what: &str) -> PResult<Value> {
        let span = self.span();
        let kind = match self.peek() {
            Some(Token::Int(_)) => ValueKind::Int(self.int::<u32>("an integer")?.0),
            Some(Token::Str(s)) => {
                self.pos += 1;
                ValueKind::Str(s.to_owned())
            }
            Some(Token::Word(_) | Token::Ident(_)) => {
                let (text, glued_span, n) = self.glue();
                if n > 1 {
                    return Ok(Value {
                        kind: classify_glued(&text, glued_span)?,
                        span: glued_span,
                    });
                }
                match self.bump_text() {
                    Some((Token::Word(w), _)) => classify(w, span)?,
                    Some((Token::Ident(s), _)) => ident_value(s),
                    _ => return self.error(what),
                }
            }
            _ => return self.error(what),
        };
        Ok(Value { kind, span })
    }

    /// The text of the run of words, integers and names that touch each
    /// other from the current token (`0:peer-as` lexes as `0:` + `peer-as`),
    /// its span and its token count. Does not advance when the run is one token.
    fn glue(&mut self) -> (String, Span, usize) {
        let start = self.span();
        let mut text = String::new();
        let mut end = start;
        let mut n = 0usize;
        let mut i = self.pos;
        while let Some((t, sp)) = self.toks.get(i).copied() {
            let s = match t {
                Token::Word(s) | Token::Int(s) | Token::Ident(s) => s,
                _ => break,
            };
            if n > 0 && sp.start != end.end {
                break;
            }
            text.push_str(s);
            end = sp;
            n += 1;
            i += 1;
        }
        if n > 1 {
            self.pos = i;
        }
        (text, start.to(end), n)
    }

    fn bump_text(&mut self) -> Option<(Token<'_>, Span)> {
        let t = self.toks.get(self.pos).copied();
        self.pos += usize::from(t.is_some());
        t
    }

    pub(super) fn action(&mut self) -> PResult<Action> {
        let start = self.span();
        let kind = match self.peek() {
            Some(Token::Ident("accept")) => {
                self.pos += 1;
                ActionKind::Accept
            }
            Some(Token::Ident("reject")) => {
                self.pos += 1;
                match self.peek() {
                    Some(Token::Str(s)) => {
                        self.pos += 1;
                        ActionKind::Reject(Some(s.to_owned()))
                    }
                    _ => ActionKind::Reject(None),
                }
            }
            Some(Token::Ident("set")) => {
                self.pos += 1;
                self.set_action()?
            }
            Some(Token::Ident(kw @ ("add" | "remove"))) => {
                self.pos += 1;
                self.comm_action(kw == "add")?
            }
            Some(Token::Ident("prepend")) => {
                self.pos += 1;
                let v = self.value("an AS number or 'peer-as' after 'prepend'")?;
                let times = if self.eat_kw("times") {
                    let (n, sp) = self.int::<u32>("a repeat count")?;
                    if !(1..=32).contains(&n) {
                        return Err(Box::new(Diagnostic::new(
                            sp,
                            format!("prepend count {n} is not between 1 and 32"),
                            "expected 1..=32",
                        )));
                    }
                    n
                } else {
                    1
                };
                ActionKind::Prepend(v, times)
            }
            Some(Token::Ident("call")) => {
                self.pos += 1;
                ActionKind::Call(self.name("a filter name after 'call'")?)
            }
            _ => {
                return self.error(
                    "an action ('accept', 'reject', 'set', 'add', 'remove', 'prepend', 'call'), 'if' or 'rule'",
                );
            }
        };
        Ok(Action {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    fn set_action(&mut self) -> PResult<ActionKind> {
        if self.eat_kw("local-pref") {
            return Ok(ActionKind::SetLocalPref(
                self.int::<u32>("a local-pref value")?.0,
            ));
        }
        if self.eat_kw("med") {
            return Ok(ActionKind::SetMed(self.int::<u32>("a MED value")?.0));
        }
        if self.eat_kw("origin") {
            let v = self.value("'igp', 'egp' or 'incomplete'")?;
            return match v.kind {
                ValueKind::Origin(o) => Ok(ActionKind::SetOrigin(o)),
                _ => Err(not_a(v.span, "'igp', 'egp' or 'incomplete'")),
            };
        }
        if self.eat_kw("next-hop") {
            let v = self.value("an address, 'peer-address' or 'self'")?;
            return match v.kind {
                ValueKind::Addr(a) => Ok(ActionKind::SetNextHop(NextHopTarget::Addr(a))),
                ValueKind::Field(Field::PeerAddress) => {
                    Ok(ActionKind::SetNextHop(NextHopTarget::PeerAddress))
                }
                ValueKind::Name(n) if n == "self" => {
                    Ok(ActionKind::SetNextHop(NextHopTarget::Local))
                }
                _ => Err(not_a(v.span, "an address, 'peer-address' or 'self'")),
            };
        }
        self.error("'local-pref', 'med', 'origin' or 'next-hop' after 'set'")
    }

    fn comm_action(&mut self, add: bool) -> PResult<ActionKind> {
        let large = if self.eat_kw("community") {
            false
        } else if self.eat_kw("large-community") {
            true
        } else if self.eat_kw("ext-community") {
            return self.ext_action(add);
        } else {
            return self.error("'community', 'large-community' or 'ext-community'");
        };
        let v = self.value("a community or a set name")?;
        let wild = |s: Span| {
            Err(Box::new(Diagnostic::new(
                s,
                "cannot add a wildcard community",
                "'*' is only allowed in matches and 'remove'",
            )))
        };
        Ok(match (large, v.kind) {
            (false, ValueKind::Comm(c)) => {
                if add && (c.0.is_none() || c.1.is_none()) {
                    return wild(v.span);
                }
                let t = CommTarget::Lit(c);
                if add {
                    ActionKind::AddComm(t)
                } else {
                    ActionKind::RemoveComm(t)
                }
            }
            (true, ValueKind::Large(c)) => {
                if add && (c.0.is_none() || c.1.is_none() || c.2.is_none()) {
                    return wild(v.span);
                }
                let t = CommTarget::Lit(c);
                if add {
                    ActionKind::AddLarge(t)
                } else {
                    ActionKind::RemoveLarge(t)
                }
            }
            (false, ValueKind::CommDyn(p)) => {
                if add && p.contains(&Part::Any) {
                    return wild(v.span);
                }
                if add {
                    ActionKind::AddCommDyn(p)
                } else {
                    ActionKind::RemoveCommDyn(p)
                }
            }
            (true, ValueKind::LargeDyn(p)) => {
                if add && p.contains(&Part::Any) {
                    return wild(v.span);
                }
                if add {
                    ActionKind::AddLargeDyn(p)
                } else {
                    ActionKind::RemoveLargeDyn(p)
                }
            }
            (_, ValueKind::Name(text)) => {
                let n = Name { text, span: v.span };
                match (large, add) {
                    (false, true) => ActionKind::AddComm(CommTarget::Set(n)),
                    (false, false) => ActionKind::RemoveComm(CommTarget::Set(n)),
                    (true, true) => ActionKind::AddLarge(CommTarget::Set(n)),
                    (true, false) => ActionKind::RemoveLarge(CommTarget::Set(n)),
                }
            }
            (false, _) => return Err(not_a(v.span, "a community such as 65535:0 or a set name")),
            (true, _) => {
                return Err(not_a(
                    v.span,
                    "a large community such as 65000:1:2 or a set name",
                ));
            }
        })
    }

    fn ext_action(&mut self, add: bool) -> PResult<ActionKind> {
        let v = self.value("an extended community or a set name")?;
        let t = match v.kind {
            ValueKind::Ext(p) => {
                if add && p.encode().is_none() {
                    return Err(Box::new(Diagnostic::new(
                        v.span,
                        "cannot add this extended community",
                        "wildcards cannot be added, and a 4-octet AS or IPv4 global needs a local part below 65536",
                    )));
                }
                CommTarget::Lit(p)
            }
            ValueKind::Name(text) => CommTarget::Set(Name { text, span: v.span }),
            _ => {
                return Err(not_a(
                    v.span,
                    "an extended community such as rt:65000:100 or a set name",
                ));
            }
        };
        Ok(if add {
            ActionKind::AddExt(t)
        } else {
            ActionKind::RemoveExt(t)
        })
    }

    pub(super) fn test(&mut self, start: Span) -> PResult<crate::ast::Item> {
        let (name, _) = self.string("a test name in double quotes")?;
        let mut t = TestDecl {
            name,
            span: start.to(self.prev_span()),
            filter: None,
            route: None,
            expect: None,
        };
        self.expect(Token::LBrace, "'{'")?;
        while !self.eat(Token::RBrace) {
            let at = self.span();
            if self.eat_kw("filter") {
                t.filter = Some(self.name("a filter name")?);
                self.expect(Token::Semi, "';'")?;
            } else if self.eat_kw("route") {
                let fields = self.route_fields()?;
                t.route = Some((fields, at.to(self.prev_span())));
            } else if self.eat_kw("expect") {
                let e = if self.eat_kw("reject") {
                    let reason = match self.peek() {
                        Some(Token::Str(s)) => {
                            self.pos += 1;
                            Some(s.to_owned())
                        }
                        _ => None,
                    };
                    if self.peek() == Some(Token::LBrace) {
                        Expect::Reject(reason, self.route_fields()?)
                    } else {
                        self.expect(Token::Semi, "';', '{' or a reason string")?;
                        Expect::Reject(reason, Vec::new())
                    }
                } else if self.eat_kw("accept") {
                    if self.eat(Token::Semi) {
                        Expect::Accept(Vec::new())
                    } else if self.peek() == Some(Token::LBrace) {
                        Expect::Accept(self.route_fields()?)
                    } else {
                        return self.error("';' or '{' after 'expect accept'");
                    }
                } else {
                    return self.error("'accept' or 'reject' after 'expect'");
                };
                t.expect = Some((e, at.to(self.prev_span())));
            } else {
                return self.error("'filter', 'route', 'expect' or '}' in a test");
            }
        }
        Ok(crate::ast::Item::Test(t))
    }

    fn route_fields(&mut self) -> PResult<Vec<RouteField>> {
        self.expect(Token::LBrace, "'{'")?;
        let mut v = Vec::new();
        while !self.eat(Token::RBrace) {
            let name = self.name("a route field such as 'prefix' or '}'")?;
            let mut values = Vec::new();
            let mut peer_as = None;
            let mut role = None;
            loop {
                if self.eat(Token::Semi) {
                    break;
                }
                if self.eat_kw("as") {
                    peer_as = Some(self.int::<u32>("the peer's AS number")?);
                    if self.eat_kw("role") {
                        role = Some(self.string("a role in double quotes")?.0);
                    }
                    self.expect(Token::Semi, "';'")?;
                    break;
                }
                values.push(self.value("a value or ';'")?);
            }
            let span = name.span.to(self.prev_span());
            v.push(RouteField {
                name,
                values,
                peer_as,
                role,
                span,
            });
        }
        Ok(v)
    }
}

/// A glued run such as `0:peer-as` or `65000:101:peer-as`.
fn classify_glued(text: &str, span: Span) -> PResult<ValueKind> {
    if !text.split(':').any(|p| p == "peer-as") {
        return classify(text, span);
    }
    let bad = || {
        not_a(
            span,
            "a community whose parts are numbers, '*' or 'peer-as'",
        )
    };
    let mut parts = Vec::new();
    for p in text.split(':') {
        parts.push(match p {
            "peer-as" => Part::PeerAs,
            "*" => Part::Any,
            _ => Part::Lit(p.parse().map_err(|_| bad())?),
        });
    }
    match parts.as_slice() {
        [a, b] => {
            if [a, b]
                .iter()
                .any(|p| matches!(p, Part::Lit(n) if *n > 0xFFFF))
            {
                return Err(bad());
            }
            Ok(ValueKind::CommDyn([*a, *b]))
        }
        [a, b, c] => Ok(ValueKind::LargeDyn([*a, *b, *c])),
        _ => Err(bad()),
    }
}

fn ident_value(s: &str) -> ValueKind {
    if let Some(f) = Field::from_name(s) {
        return ValueKind::Field(f);
    }
    match s {
        "ipv4" => ValueKind::Family(Family::V4),
        "ipv6" => ValueKind::Family(Family::V6),
        "igp" => ValueKind::Origin(Origin::Igp),
        "egp" => ValueKind::Origin(Origin::Egp),
        "incomplete" => ValueKind::Origin(Origin::Incomplete),
        "valid" => ValueKind::Rpki(RpkiState::Valid),
        "invalid" => ValueKind::Rpki(RpkiState::Invalid),
        "not-found" => ValueKind::Rpki(RpkiState::NotFound),
        _ => ValueKind::Name(s.to_owned()),
    }
}
