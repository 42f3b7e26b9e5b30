//! `test` blocks: a sample route and the expected verdict.

use std::net::IpAddr;

use rampart_core::attr::{AsPath, Community, LargeCommunity, NextHop, Origin, PathAttributes};
use rampart_core::nlri::Prefix;

use crate::ast::{Expect, RouteField, TestDecl, ValueKind};
use crate::compile::{Compiled, Kind};
use crate::diag::{Diagnostic, Span};
use crate::eval::{RouteContext, RpkiState, Verdict};
use crate::sets::PrefixSet;

/// A test ready to run.
#[derive(Debug)]
pub(crate) struct CTest {
    name: String,
    span: Span,
    filter: usize,
    prefix: Prefix,
    peer_address: IpAddr,
    peer_as: u32,
    role: String,
    rpki: RpkiState,
    attrs: PathAttributes,
    /// `peer-prefixes P [or-longer] ...;` in the route: the speaker's
    /// allowed prefixes, as the daemon passes them per route.
    peer_prefixes: Option<PrefixSet>,
    expect: CExpect,
}

#[derive(Debug)]
enum CExpect {
    /// The reason, when given, and attributes checked after the reject.
    Reject(Option<String>, Option<Box<PathAttributes>>, Checked),
    /// Expected attributes; `None` fields are not checked.
    Accept(Option<Box<PathAttributes>>, Checked),
}

/// Which attributes an `expect accept { }` block names.
#[derive(Debug, Default)]
struct Checked {
    local_pref: bool,
    med: bool,
    origin: bool,
    next_hop: bool,
    as_path: bool,
    communities: bool,
    large: bool,
    ext: bool,
}

fn field_err(f: &RouteField, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::new(f.span, msg, "in this route field")
}

fn one_int(f: &RouteField) -> Result<u32, Diagnostic> {
    match f.values.as_slice() {
        [v] => match v.kind {
            ValueKind::Int(n) => Ok(n),
            _ => Err(field_err(
                f,
                format!("expected one integer after '{}'", f.name.text),
            )),
        },
        _ => Err(field_err(
            f,
            format!("expected one integer after '{}'", f.name.text),
        )),
    }
}

fn one_addr(f: &RouteField) -> Result<IpAddr, Diagnostic> {
    match f.values.as_slice() {
        [v] => match v.kind {
            ValueKind::Addr(a) => Ok(a),
            _ => Err(field_err(
                f,
                format!("expected one address after '{}'", f.name.text),
            )),
        },
        _ => Err(field_err(
            f,
            format!("expected one address after '{}'", f.name.text),
        )),
    }
}

/// Fills attributes from `route { }` / `expect accept { }` fields; returns
/// the prefix and peer when given.
#[allow(clippy::type_complexity)]
fn fill(
    fields: &[RouteField],
    a: &mut PathAttributes,
    seen: &mut Checked,
) -> Result<(Option<Prefix>, Option<(IpAddr, u32, String)>), Diagnostic> {
    let mut prefix = None;
    let mut peer = None;
    for f in fields {
        match f.name.text.as_str() {
            "prefix" => match f.values.as_slice() {
                [v] => match v.kind {
                    ValueKind::Prefix(p) => prefix = Some(p),
                    _ => return Err(field_err(f, "expected one prefix after 'prefix'")),
                },
                _ => return Err(field_err(f, "expected one prefix after 'prefix'")),
            },
            "as-path" => {
                let mut asns = Vec::new();
                for v in &f.values {
                    match v.kind {
                        ValueKind::Int(n) => asns.push(n),
                        _ => return Err(field_err(f, "expected AS numbers after 'as-path'")),
                    }
                }
                a.as_path = AsPath::from_sequence(asns);
                seen.as_path = true;
            }
            "next-hop" => {
                a.next_hop = Some(match one_addr(f)? {
                    IpAddr::V4(v) => NextHop::V4(v),
                    IpAddr::V6(v) => NextHop::V6 {
                        global: v,
                        link_local: None,
                    },
                });
                seen.next_hop = true;
            }
            "communities" | "large-communities" | "ext-communities" => {
                fill_communities(f, a, seen)?
            }
            "med" => {
                a.med = Some(one_int(f)?);
                seen.med = true;
            }
            "local-pref" => {
                a.local_pref = Some(one_int(f)?);
                seen.local_pref = true;
            }
            "origin" => {
                a.origin = Some(match f.values.as_slice() {
                    [v] => match v.kind {
                        ValueKind::Origin(o) => o,
                        _ => return Err(field_err(f, "expected 'igp', 'egp' or 'incomplete'")),
                    },
                    _ => return Err(field_err(f, "expected 'igp', 'egp' or 'incomplete'")),
                });
                seen.origin = true;
            }
            "from-peer" => {
                let addr = one_addr(f)?;
                let Some((asn, _)) = f.peer_as else {
                    return Err(field_err(f, "expected 'as ASN' after the peer address"));
                };
                peer = Some((addr, asn, f.role.clone().unwrap_or_default()));
            }
            "peer-prefixes" => {} // read by `peer_prefixes`
            "rpki" => match f.values.as_slice() {
                [v] => match v.kind {
                    ValueKind::Rpki(_) => {}
                    _ => return Err(field_err(f, "expected 'valid', 'invalid' or 'not-found'")),
                },
                _ => return Err(field_err(f, "expected 'valid', 'invalid' or 'not-found'")),
            },
            other => {
                return Err(Diagnostic::new(
                    f.name.span,
                    format!("unknown route field '{other}'"),
                    "expected prefix, as-path, next-hop, communities, large-communities, ext-communities, med, local-pref, origin, rpki, peer-prefixes or from-peer",
                ));
            }
        }
    }
    Ok((prefix, peer))
}

/// `communities ...;` and `large-communities ...;` (exact values only).
fn fill_communities(
    f: &RouteField,
    a: &mut PathAttributes,
    seen: &mut Checked,
) -> Result<(), Diagnostic> {
    match f.name.text.as_str() {
        "communities" => {
            a.communities.clear();
            for v in &f.values {
                match &v.kind {
                    ValueKind::Comm(p) => match p.exact() {
                        Some(c) => a.communities.push(c),
                        None => return Err(field_err(f, "wildcards are not allowed here")),
                    },
                    _ => return Err(field_err(f, "expected communities such as 65535:666")),
                }
            }
            seen.communities = true;
        }
        "large-communities" => {
            a.large_communities.clear();
            for v in &f.values {
                match &v.kind {
                    ValueKind::Large(p) => match p.exact() {
                        Some(c) => a.large_communities.push(c),
                        None => return Err(field_err(f, "wildcards are not allowed here")),
                    },
                    _ => {
                        return Err(field_err(f, "expected large communities such as 65000:1:2"));
                    }
                }
            }
            seen.large = true;
        }
        "ext-communities" => {
            a.rare.ext_communities.clear();
            for v in &f.values {
                match v.kind {
                    ValueKind::Ext(p) => match p.encode() {
                        Some(c) => a.rare.ext_communities.push(c),
                        None => return Err(field_err(f, "wildcards are not allowed here")),
                    },
                    _ => {
                        return Err(field_err(
                            f,
                            "expected extended communities such as rt:65000:1",
                        ));
                    }
                }
            }
            seen.ext = true;
        }
        _ => {}
    }
    Ok(())
}

/// `peer-prefixes P [or-longer] ...;`: each prefix exactly, or with its
/// more-specifics when followed by `or-longer`.
fn peer_prefixes(fields: &[RouteField]) -> Result<Option<PrefixSet>, Diagnostic> {
    let Some(f) = fields.iter().find(|f| f.name.text == "peer-prefixes") else {
        return Ok(None);
    };
    let mut set = PrefixSet::default();
    let mut values = f.values.iter().peekable();
    while let Some(v) = values.next() {
        let ValueKind::Prefix(p) = v.kind else {
            return Err(field_err(
                f,
                "expected prefixes, each optionally followed by 'or-longer'",
            ));
        };
        let longer = values
            .next_if(|n| matches!(&n.kind, ValueKind::Name(n) if n == "or-longer"))
            .is_some();
        let full = match p {
            Prefix::V4(_) => 32,
            Prefix::V6(_) => 128,
        };
        let max = if longer { full } else { p.len() };
        set.insert(&p, p.len(), max);
    }
    Ok(Some(set))
}

fn expected_attrs(
    fields: &[RouteField],
) -> Result<(Option<Box<PathAttributes>>, Checked), Diagnostic> {
    if fields.is_empty() {
        return Ok((None, Checked::default()));
    }
    let mut want = PathAttributes::default();
    let mut seen = Checked::default();
    fill(fields, &mut want, &mut seen)?;
    Ok((Some(Box::new(want)), seen))
}

/// Checks a test block's fields and resolves its filter.
pub(crate) fn compile(t: &TestDecl, c: &Compiled) -> Result<CTest, Diagnostic> {
    let missing = |what: &str| {
        Diagnostic::new(
            t.span,
            format!("test \"{}\" has no {what}", t.name),
            format!("expected {what}"),
        )
    };
    let fname = t.filter.as_ref().ok_or_else(|| missing("'filter NAME;'"))?;
    let filter = c.resolve(fname, Kind::Filter)?;
    let (fields, rspan) = t.route.as_ref().ok_or_else(|| missing("'route { ... }'"))?;
    let mut attrs = PathAttributes {
        origin: Some(Origin::Igp),
        ..PathAttributes::default()
    };
    let (prefix, peer) = fill(fields, &mut attrs, &mut Checked::default())?;
    let prefix = prefix.ok_or_else(|| {
        Diagnostic::new(*rspan, "the route has no 'prefix'", "expected 'prefix P;'")
    })?;
    let (peer_address, peer_as, role) = peer.ok_or_else(|| {
        Diagnostic::new(
            *rspan,
            "the route has no 'from-peer'",
            "expected 'from-peer ADDRESS as ASN;'",
        )
    })?;
    let (e, _) = t
        .expect
        .as_ref()
        .ok_or_else(|| missing("'expect accept' or 'expect reject'"))?;
    let expect = match e {
        Expect::Reject(r, fields) => {
            let (want, seen) = expected_attrs(fields)?;
            CExpect::Reject(r.clone(), want, seen)
        }
        Expect::Accept(fields) => {
            let (want, seen) = expected_attrs(fields)?;
            CExpect::Accept(want, seen)
        }
    };
    let rpki = fields
        .iter()
        .flat_map(|f| f.values.iter())
        .find_map(|v| match v.kind {
            ValueKind::Rpki(r) => Some(r),
            _ => None,
        })
        .unwrap_or_default();
    Ok(CTest {
        name: t.name.clone(),
        span: t.span,
        filter,
        prefix,
        peer_address,
        peer_as,
        role,
        rpki,
        attrs,
        peer_prefixes: peer_prefixes(fields)?,
        expect,
    })
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

/// Runs one test: `Err` describes the failure.
pub(crate) fn run(t: &CTest, c: &Compiled) -> Result<(), Diagnostic> {
    let mut ctx = RouteContext::new(t.prefix, t.peer_address, t.peer_as);
    ctx.peer_role = &t.role;
    ctx.rpki = t.rpki;
    ctx.peer_prefixes = t.peer_prefixes.as_ref();
    let mut attrs = t.attrs.clone();
    let verdict = c.evaluate(t.filter, &ctx, &mut attrs);
    let fail = |msg: String| {
        Err(Diagnostic::new(
            t.span,
            format!("test \"{}\" failed: {msg}", t.name),
            "this test",
        ))
    };
    match (&t.expect, verdict) {
        (CExpect::Reject(Some(want), ..), Verdict::Reject(got)) if **want != *got => {
            fail(format!("expected reject \"{want}\", got reject \"{got}\""))
        }
        (CExpect::Reject(_, None, _), Verdict::Reject(_)) => Ok(()),
        (CExpect::Reject(_, Some(w), s), Verdict::Reject(r)) => {
            // The route as a daemon keeping rejected routes stores it.
            if let Some((tag, _)) = c.reject_tags.get(&*r)
                && !attrs.large_communities.contains(tag)
            {
                attrs.large_communities.push(*tag);
            }
            let diffs = diff_attrs(w, s, &attrs);
            if diffs.is_empty() {
                Ok(())
            } else {
                fail(format!("rejected as expected, but {}", diffs.join("; ")))
            }
        }
        (CExpect::Reject(..), Verdict::Accept) => fail("expected reject, got accept".into()),
        (CExpect::Accept(..), Verdict::Reject(r)) => {
            fail(format!("expected accept, got reject \"{r}\""))
        }
        (CExpect::Accept(None, _), Verdict::Accept) => Ok(()),
        (CExpect::Accept(Some(w), s), Verdict::Accept) => {
            let diffs = diff_attrs(w, s, &attrs);
            if diffs.is_empty() {
                Ok(())
            } else {
                fail(diffs.join("; "))
            }
        }
    }
}

/// Differences between the expected and the resulting attributes, for the
/// fields an `expect accept { }` block names.
fn diff_attrs(w: &PathAttributes, s: &Checked, attrs: &PathAttributes) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |on: bool, name: &str, eq: bool, want: String, got: String| {
        if on && !eq {
            diffs.push(format!("{name}: expected {want}, got {got}"));
        }
    };
    check(
        s.local_pref,
        "local-pref",
        w.local_pref == attrs.local_pref,
        format!("{:?}", w.local_pref),
        format!("{:?}", attrs.local_pref),
    );
    check(
        s.med,
        "med",
        w.med == attrs.med,
        format!("{:?}", w.med),
        format!("{:?}", attrs.med),
    );
    check(
        s.origin,
        "origin",
        w.origin == attrs.origin,
        format!("{:?}", w.origin),
        format!("{:?}", attrs.origin),
    );
    check(
        s.next_hop,
        "next-hop",
        w.next_hop == attrs.next_hop,
        format!("{:?}", w.next_hop),
        format!("{:?}", attrs.next_hop),
    );
    check(
        s.as_path,
        "as-path",
        w.as_path.iter().eq(attrs.as_path.iter()),
        fmt_path(&w.as_path),
        fmt_path(&attrs.as_path),
    );
    check(
        s.communities,
        "communities",
        sorted(&w.communities) == sorted(&attrs.communities),
        fmt_comms(&w.communities),
        fmt_comms(&attrs.communities),
    );
    check(
        s.large,
        "large-communities",
        sorted(&w.large_communities) == sorted(&attrs.large_communities),
        fmt_large(&w.large_communities),
        fmt_large(&attrs.large_communities),
    );
    check(
        s.ext,
        "ext-communities",
        sorted(&w.rare.ext_communities) == sorted(&attrs.rare.ext_communities),
        format!("{:?}", sorted(&w.rare.ext_communities)),
        format!("{:?}", sorted(&attrs.rare.ext_communities)),
    );
    diffs
}

fn fmt_path(p: &AsPath) -> String {
    let v: Vec<String> = p.iter().map(|a| a.to_string()).collect();
    format!("[{}]", v.join(" "))
}

fn fmt_comms(v: &[Community]) -> String {
    let v: Vec<String> = v
        .iter()
        .map(|c| format!("{}:{}", c.asn(), c.value()))
        .collect();
    format!("[{}]", v.join(" "))
}

fn fmt_large(v: &[LargeCommunity]) -> String {
    let v: Vec<String> = v
        .iter()
        .map(|c| format!("{}:{}:{}", c.global, c.local1, c.local2))
        .collect();
    format!("[{}]", v.join(" "))
}
