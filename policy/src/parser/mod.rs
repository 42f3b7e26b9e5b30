//! Recursive-descent parser over the logos tokens (docs/POLICY.md "Grammar").

use std::net::IpAddr;

use logos::Logos;
use rampart_core::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};

use crate::ast::{CommPat, Item, LargePat, Name, PrefixEntry, Stmt, ValueKind};
use crate::compile::Kind;
use crate::diag::{Diagnostic, Span};
use crate::extcomm::ExtPat;
use crate::lexer::Token;

type PResult<T> = Result<T, Box<Diagnostic>>;

/// Parses one file's text into items. Stops at the first syntax error.
pub(crate) fn parse(file: u32, src: &str) -> PResult<Vec<Item>> {
    let mut toks = Vec::new();
    let mut lex = Token::lexer(src);
    while let Some(t) = lex.next() {
        let span = Span::new(file, lex.span());
        match t {
            Ok(t) => toks.push((t, span)),
            Err(()) => {
                return Err(Box::new(Diagnostic::new(
                    span,
                    format!("unexpected character {:?}", lex.slice()),
                    "not part of the policy language",
                )));
            }
        }
    }
    let end = Span::new(file, src.len()..src.len());
    let mut p = Parser {
        toks,
        pos: 0,
        end,
        depth: 0,
    };
    let mut items = Vec::new();
    while p.peek().is_some() {
        items.push(p.item()?);
    }
    Ok(items)
}

struct Parser<'s> {
    toks: Vec<(Token<'s>, Span)>,
    pos: usize,
    end: Span,
    /// Nesting of blocks and parenthesised conditions, bounded by [`MAX_DEPTH`].
    depth: u32,
}

/// Deepest nesting of blocks, `not` and parentheses accepted.
const MAX_DEPTH: u32 = 64;

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<Token<'s>> {
        self.toks.get(self.pos).map(|t| t.0)
    }

    fn span(&self) -> Span {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }

    fn prev_span(&self) -> Span {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(self.end, |t| t.1)
    }

    /// Takes the next token if it is a [`Token::Word`].
    fn word(&mut self) -> Option<(&'s str, Span)> {
        match self.toks.get(self.pos).copied() {
            Some((Token::Word(w), sp)) => {
                self.pos += 1;
                Some((w, sp))
            }
            _ => None,
        }
    }

    fn error<T>(&self, expected: &str) -> PResult<T> {
        let found = self
            .peek()
            .map_or_else(|| "end of file".to_owned(), |t| t.describe());
        Err(Box::new(Diagnostic::new(
            self.span(),
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        )))
    }

    fn eat(&mut self, t: Token<'_>) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Token<'_>, expected: &str) -> PResult<Span> {
        if self.eat(t) {
            Ok(self.prev_span())
        } else {
            self.error(expected)
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        self.eat(Token::Ident(kw))
    }

    fn name(&mut self, what: &str) -> PResult<Name> {
        match self.peek() {
            Some(Token::Ident(s)) => {
                self.pos += 1;
                Ok(Name {
                    text: s.to_owned(),
                    span: self.prev_span(),
                })
            }
            _ => self.error(what),
        }
    }

    fn string(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok((s.to_owned(), self.prev_span()))
            }
            _ => self.error(what),
        }
    }

    fn int<T: TryFrom<u64>>(&mut self, what: &str) -> PResult<(T, Span)> {
        match self.peek() {
            Some(Token::Int(s)) => {
                let span = self.span();
                let v = s.parse::<u64>().ok().and_then(|v| T::try_from(v).ok());
                match v {
                    Some(v) => {
                        self.pos += 1;
                        Ok((v, span))
                    }
                    None => Err(Box::new(Diagnostic::new(
                        span,
                        format!("{s} is out of range for {what}"),
                        "out of range",
                    ))),
                }
            }
            _ => self.error(what),
        }
    }

    fn item(&mut self) -> PResult<Item> {
        let start = self.span();
        match self.peek() {
            Some(Token::Ident("include")) => {
                self.pos += 1;
                let (path, span) = self.string("a file name in double quotes")?;
                self.expect(Token::Semi, "';' after include")?;
                Ok(Item::Include(path, span))
            }
            Some(Token::Ident("prefix-set")) => {
                self.pos += 1;
                let name = self.name("a prefix-set name")?;
                if self.eat_kw("external") {
                    self.expect(Token::Semi, "';' after 'external'")?;
                    return Ok(Item::External(name, Kind::PrefixSet));
                }
                self.expect(Token::LBrace, "'{' or 'external'")?;
                let mut entries = Vec::new();
                while !self.eat(Token::RBrace) {
                    entries.push(self.prefix_entry()?);
                    self.expect(Token::Semi, "';' after a prefix entry")?;
                }
                Ok(Item::PrefixSet(name, entries))
            }
            Some(Token::Ident("as-set")) => {
                self.pos += 1;
                let name = self.name("an as-set name")?;
                if self.eat_kw("external") {
                    self.expect(Token::Semi, "';' after 'external'")?;
                    return Ok(Item::External(name, Kind::AsSet));
                }
                self.expect(Token::LBrace, "'{' or 'external'")?;
                let mut v = Vec::new();
                while !self.eat(Token::RBrace) {
                    v.push(self.int::<u32>("an AS number or '}'")?);
                    self.eat(Token::Comma);
                }
                Ok(Item::AsSet(name, v))
            }
            Some(Token::Ident("reject-tag")) => {
                self.pos += 1;
                let (reason, span) = self.string("a reject reason in double quotes")?;
                let tag = self.large_lit()?;
                self.expect(Token::Semi, "';' after the tag")?;
                Ok(Item::RejectTag(reason, span, tag))
            }
            Some(Token::Ident("community-set")) => {
                self.pos += 1;
                let name = self.name("a community-set name")?;
                self.expect(Token::LBrace, "'{'")?;
                let mut v = Vec::new();
                while !self.eat(Token::RBrace) {
                    v.push(self.comm_lit()?);
                    self.eat(Token::Comma);
                }
                Ok(Item::CommunitySet(name, v))
            }
            Some(Token::Ident("large-community-set")) => {
                self.pos += 1;
                let name = self.name("a large-community-set name")?;
                self.expect(Token::LBrace, "'{'")?;
                let mut v = Vec::new();
                while !self.eat(Token::RBrace) {
                    v.push(self.large_lit()?);
                    self.eat(Token::Comma);
                }
                Ok(Item::LargeSet(name, v))
            }
            Some(Token::Ident("ext-community-set")) => {
                self.pos += 1;
                let name = self.name("an ext-community-set name")?;
                self.expect(Token::LBrace, "'{'")?;
                let mut v = Vec::new();
                while !self.eat(Token::RBrace) {
                    match self.word() {
                        Some((w, sp)) => match classify(w, sp)? {
                            ValueKind::Ext(p) => v.push((p, sp)),
                            _ => return Err(not_a(sp, "an extended community such as rt:65000:100")),
                        },
                        None => return self.error("an extended community such as rt:65000:100 or '}'"),
                    }
                    self.eat(Token::Comma);
                }
                Ok(Item::ExtSet(name, v))
            }
            Some(Token::Ident("filter")) => {
                self.pos += 1;
                let name = self.name("a filter name")?;
                Ok(Item::Filter(name, self.block()?))
            }
            Some(Token::Ident("test")) => {
                self.pos += 1;
                self.test(start)
            }
            _ => self.error(
                "'include', 'prefix-set', 'as-set', 'community-set', 'large-community-set', 'ext-community-set', 'filter' or 'test'",
            ),
        }
    }

    fn prefix_entry(&mut self) -> PResult<PrefixEntry> {
        let span = self.span();
        let prefix = match self.word() {
            Some((w, sp)) => parse_prefix(w, sp)?,
            None => {
                return self.error("a prefix such as 192.0.2.0/24 or '}'");
            }
        };
        let len = prefix.len();
        let maxlen = if matches!(prefix, Prefix::V4(_)) {
            32
        } else {
            128
        };
        let (min, max) = if self.eat_kw("exact") {
            (len, len)
        } else if self.eat_kw("or-longer") {
            (len, maxlen)
        } else if self.eat_kw("longer") {
            (len.saturating_add(1), maxlen)
        } else if self.eat(Token::LBrace) {
            let (a, _) = self.int::<u8>("a minimum length")?;
            self.expect(Token::Comma, "','")?;
            let (b, _) = self.int::<u8>("a maximum length")?;
            self.expect(Token::RBrace, "'}'")?;
            (a, b)
        } else if self.eat_kw("ge") {
            let (a, _) = self.int::<u8>("a minimum length")?;
            let b = if self.eat_kw("le") {
                self.int::<u8>("a maximum length")?.0
            } else {
                maxlen
            };
            (a, b)
        } else if self.eat_kw("le") {
            (len, self.int::<u8>("a maximum length")?.0)
        } else {
            (len, len)
        };
        let span = span.to(self.prev_span());
        if min < len || max > maxlen || min > max {
            return Err(Box::new(Diagnostic::new(
                span,
                format!("length range {min}..{max} is not within {len}..{maxlen} for /{len}"),
                format!("expected {len} <= min <= max <= {maxlen}"),
            )));
        }
        Ok(PrefixEntry {
            prefix,
            min,
            max,
            span,
        })
    }

    fn comm_lit(&mut self) -> PResult<(CommPat, Span)> {
        match self.word() {
            Some((w, sp)) => match classify(w, sp)? {
                ValueKind::Comm(c) => Ok((c, sp)),
                _ => Err(not_a(sp, "a community such as 65535:666")),
            },
            None => self.error("a community such as 65535:666 or '}'"),
        }
    }

    fn large_lit(&mut self) -> PResult<(LargePat, Span)> {
        match self.word() {
            Some((w, sp)) => match classify(w, sp)? {
                ValueKind::Large(c) => Ok((c, sp)),
                _ => Err(not_a(sp, "a large community such as 65000:1:64501")),
            },
            None => self.error("a large community such as 65000:1:64501 or '}'"),
        }
    }

    /// Enters one nesting level; errors past [`MAX_DEPTH`].
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Box::new(Diagnostic::new(
                self.span(),
                format!("nesting deeper than {MAX_DEPTH} levels"),
                "split this into rules or filters",
            )));
        }
        Ok(())
    }

    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.enter()?;
        let r = self.block_inner();
        self.depth -= 1;
        r
    }

    fn block_inner(&mut self) -> PResult<Vec<Stmt>> {
        self.expect(Token::LBrace, "'{'")?;
        let mut v = Vec::new();
        while !self.eat(Token::RBrace) {
            if self.peek().is_none() {
                return self.error("a statement or '}'");
            }
            v.push(self.stmt()?);
        }
        Ok(v)
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        if self.eat_kw("rule") {
            let (text, span) = self.string("a rule name in double quotes")?;
            return Ok(Stmt::Rule(Name { text, span }, self.block()?));
        }
        if self.eat_kw("if") {
            let cond = self.cond()?;
            if self.eat_kw("then") {
                let mut acts = vec![Stmt::Action(self.action()?)];
                while self.eat(Token::Comma) {
                    acts.push(Stmt::Action(self.action()?));
                }
                self.expect(Token::Semi, "';' or ',' after an action")?;
                return Ok(Stmt::If(cond, acts, Vec::new()));
            }
            if self.peek() != Some(Token::LBrace) {
                return self.error("'then' or '{' after the condition");
            }
            let then = self.block()?;
            let els = if self.eat_kw("else") {
                self.block()?
            } else {
                Vec::new()
            };
            return Ok(Stmt::If(cond, then, els));
        }
        let a = self.action()?;
        self.expect(Token::Semi, "';' after an action")?;
        Ok(Stmt::Action(a))
    }
}

pub(crate) fn not_a(span: Span, what: &str) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(
        span,
        format!("expected {what}"),
        format!("expected {what}"),
    ))
}

/// Classifies a [`Token::Word`]: prefix, address, community or large community.
pub(crate) fn classify(w: &str, span: Span) -> PResult<ValueKind> {
    if w.starts_with("rt:") || w.starts_with("soo:") {
        return ExtPat::parse(w).map(ValueKind::Ext).ok_or_else(|| {
            not_a(
                span,
                "an extended community such as rt:65000:100 or soo:192.0.2.1:7",
            )
        });
    }
    if w.contains('/') {
        return parse_prefix(w, span).map(ValueKind::Prefix);
    }
    if let Ok(a) = w.parse::<IpAddr>() {
        return Ok(ValueKind::Addr(a));
    }
    let parts: Vec<&str> = w.split(':').collect();
    let bad = || {
        not_a(
            span,
            "an address, prefix, community (A:B) or large community (A:B:C)",
        )
    };
    match parts.as_slice() {
        [a, b] => Ok(ValueKind::Comm(CommPat(
            wild::<u16>(a).ok_or_else(bad)?,
            wild::<u16>(b).ok_or_else(bad)?,
        ))),
        [a, b, c] => Ok(ValueKind::Large(LargePat(
            wild::<u32>(a).ok_or_else(bad)?,
            wild::<u32>(b).ok_or_else(bad)?,
            wild::<u32>(c).ok_or_else(bad)?,
        ))),
        _ => Err(bad()),
    }
}

fn wild<T: std::str::FromStr>(s: &str) -> Option<Option<T>> {
    if s == "*" {
        Some(None)
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok().map(Some)
    } else {
        None
    }
}

fn parse_prefix(w: &str, span: Span) -> PResult<Prefix> {
    let bad = || not_a(span, "a prefix such as 192.0.2.0/24 or 2001:db8::/32");
    let (a, l) = w.split_once('/').ok_or_else(bad)?;
    let len: u8 = l.parse().map_err(|_| bad())?;
    let addr: IpAddr = a.parse().map_err(|_| bad())?;
    let p = match addr {
        IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(Prefix::V4),
        IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(Prefix::V6),
    }
    .ok_or_else(|| not_a(span, "a prefix length of at most 32 (IPv4) or 128 (IPv6)"))?;
    if p.addr() != addr {
        return Err(Box::new(Diagnostic::new(
            span,
            format!("{w} has host bits set; did you mean {}/{len}?", p.addr()),
            "host bits set",
        )));
    }
    Ok(p)
}

mod rest;
