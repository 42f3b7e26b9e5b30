//! Static questions about compiled filters, for the daemon: does a filter's
//! outcome depend on the peer ([`Compiled::reads_peer`]), and can it change
//! a route's attributes ([`Compiled::modifies`])? Both follow `call`s.

use crate::ast::NextHopTarget;
use crate::ast::Part;
use crate::compile::{AddrExpr, CCond, CStmt, Compiled, IntExpr};

fn int_reads_peer(e: IntExpr) -> bool {
    matches!(e, IntExpr::PeerAs)
}

fn addr_reads_peer(e: AddrExpr) -> bool {
    matches!(e, AddrExpr::PeerAddress)
}

fn parts_read_peer(p: &[Part]) -> bool {
    p.iter().any(|x| matches!(x, Part::PeerAs))
}

fn cond_reads_peer(c: &CCond) -> bool {
    match c {
        CCond::And(x, y) | CCond::Or(x, y) => cond_reads_peer(x) || cond_reads_peer(y),
        CCond::Not(x) => cond_reads_peer(x),
        CCond::IntCmp(l, _, r) => int_reads_peer(*l) || int_reads_peer(*r),
        CCond::AddrCmp(l, _, r) => addr_reads_peer(*l) || addr_reads_peer(*r),
        CCond::AsIn(e, _) | CCond::PathHas(e) => int_reads_peer(*e),
        CCond::PrefixInPeer | CCond::RoleIs(..) | CCond::GroupIs(..) => true,
        CCond::CommHasDyn(p) => parts_read_peer(p),
        CCond::LargeHasDyn(p) => parts_read_peer(p),
        CCond::HostRoute
        | CCond::PrefixIs(..)
        | CCond::PrefixIn(_)
        | CCond::FamilyIs(..)
        | CCond::OriginIs(..)
        | CCond::RpkiIs(..)
        | CCond::PathHasAny(_)
        | CCond::PathMatches(_)
        | CCond::CommHas(_)
        | CCond::CommHasAny(_)
        | CCond::LargeHas(_)
        | CCond::LargeHasAny(_)
        | CCond::ExtHas(_)
        | CCond::ExtHasAny(_) => false,
    }
}

/// Whether one statement (not following calls) reads the peer.
fn stmt_reads_peer(s: &CStmt) -> bool {
    match s {
        CStmt::If(c, ..) => cond_reads_peer(c),
        CStmt::SetNextHop(t) => matches!(t, NextHopTarget::PeerAddress | NextHopTarget::Local),
        CStmt::AddCommDyn(p) | CStmt::RemoveCommDyn(p) => parts_read_peer(p),
        CStmt::AddLargeDyn(p) | CStmt::RemoveLargeDyn(p) => parts_read_peer(p),
        CStmt::Prepend(e, _) => int_reads_peer(*e),
        _ => false,
    }
}

fn cond_reads_rpki(c: &CCond) -> bool {
    match c {
        CCond::And(x, y) | CCond::Or(x, y) => cond_reads_rpki(x) || cond_reads_rpki(y),
        CCond::Not(x) => cond_reads_rpki(x),
        CCond::RpkiIs(..) => true,
        _ => false,
    }
}

/// Whether one statement (not following calls) reads the RPKI state.
fn stmt_reads_rpki(s: &CStmt) -> bool {
    matches!(s, CStmt::If(c, ..) if cond_reads_rpki(c))
}

/// Whether one statement (not following calls) changes attributes.
const fn stmt_modifies(s: &CStmt) -> bool {
    !matches!(
        s,
        CStmt::If(..) | CStmt::Accept | CStmt::Reject(_) | CStmt::Call(_)
    )
}

impl Compiled {
    /// True when `pred` holds for some statement of filter `f` or of a filter
    /// it calls, at any depth. Call cycles are refused at load; `seen` also
    /// bounds the walk.
    fn any_reachable(&self, f: usize, pred: &dyn Fn(&CStmt) -> bool) -> bool {
        fn walk(
            c: &Compiled,
            body: &[CStmt],
            pred: &dyn Fn(&CStmt) -> bool,
            seen: &mut [bool],
        ) -> bool {
            body.iter().any(|s| {
                pred(s)
                    || match s {
                        CStmt::If(_, t, e) => walk(c, t, pred, seen) || walk(c, e, pred, seen),
                        CStmt::Call(g) => visit(c, *g, pred, seen),
                        _ => false,
                    }
            })
        }
        fn visit(c: &Compiled, f: usize, pred: &dyn Fn(&CStmt) -> bool, seen: &mut [bool]) -> bool {
            match seen.get_mut(f) {
                Some(s) if !*s => *s = true,
                _ => return false,
            }
            c.filters
                .get(f)
                .is_some_and(|filter| walk(c, &filter.body, pred, seen))
        }
        let mut seen = vec![false; self.filters.len()];
        visit(self, f, pred, &mut seen)
    }

    pub(crate) fn reads_peer(&self, f: usize) -> bool {
        self.any_reachable(f, &stmt_reads_peer)
    }

    pub(crate) fn modifies(&self, f: usize) -> bool {
        self.any_reachable(f, &stmt_modifies)
    }

    pub(crate) fn reads_rpki(&self, f: usize) -> bool {
        self.any_reachable(f, &stmt_reads_rpki)
    }
}

#[cfg(test)]
mod tests {
    use crate::load_str;

    fn both(src: &str, filter: &str) -> (bool, bool) {
        let p = load_str(&[("t.policy", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
        let f = p
            .filter_id(filter)
            .unwrap_or_else(|| panic!("no filter {filter}"));
        (p.reads_peer(f), p.modifies(f))
    }

    #[test]
    fn route_only_filter_reads_no_peer_and_modifies_nothing() {
        let src = r#"
            prefix-set bogons { 10.0.0.0/8 or-longer; }
            filter f {
                if prefix in bogons or as-path matches "^64501" then reject "x";
                if communities has 65535:666 and first-as == 64501 then reject "y";
                accept;
            }"#;
        assert_eq!(both(src, "f"), (false, false));
    }

    #[test]
    fn each_peer_field_is_seen() {
        let cases = [
            "if first-as == peer-as then accept;",
            "if next-hop == peer-address then accept;",
            "if peer-group == \"g\" then accept;",
            "if peer-role == \"rs-client\" then accept;",
            "if prefix in peer-prefixes then accept;",
            "if communities has 0:peer-as then reject;",
            "if large-communities has 65000:1:peer-as then reject;",
            "if not (as-path has peer-as) then reject;",
        ];
        for body in cases {
            let src = format!("filter f {{ {body} accept; }}");
            assert_eq!(both(&src, "f"), (true, false), "{body}");
        }
    }

    #[test]
    fn peer_dependent_actions_read_the_peer_and_modify() {
        let cases = [
            "set next-hop self;",
            "set next-hop peer-address;",
            "add community 65000:peer-as;",
            "remove large-community 65000:0:peer-as;",
            "prepend peer-as times 2;",
        ];
        for body in cases {
            let src = format!("filter f {{ {body} accept; }}");
            assert_eq!(both(&src, "f"), (true, true), "{body}");
        }
    }

    #[test]
    fn peer_independent_actions_modify_only() {
        let cases = [
            "set local-pref 0;",
            "set med 5;",
            "set origin igp;",
            "set next-hop 192.0.2.1;",
            "add community 65535:0;",
            "remove community 0:*;",
            "add large-community 65000:1:2;",
            "add ext-community rt:65000:1;",
            "prepend 64500;",
        ];
        for body in cases {
            let src = format!("filter f {{ {body} accept; }}");
            assert_eq!(both(&src, "f"), (false, true), "{body}");
        }
    }

    #[test]
    fn calls_and_branches_are_followed() {
        let src = r#"
            filter leaf-peer { if first-as == peer-as then accept; reject; }
            filter leaf-set { set local-pref 10; accept; }
            filter mid { if prefix-length > 8 { call leaf-peer; } else { call leaf-set; } accept; }
            filter top { if family == ipv4 then accept; call mid; accept; }
            filter other { reject "never"; }
        "#;
        assert_eq!(both(src, "top"), (true, true));
        assert_eq!(both(src, "mid"), (true, true));
        assert_eq!(both(src, "leaf-peer"), (true, false));
        assert_eq!(both(src, "leaf-set"), (false, true));
        assert_eq!(both(src, "other"), (false, false));
    }

    #[test]
    fn stdlib_ixp_filters() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/stdlib/ixp-route-server.policy"
        );
        let p = crate::load_files(&[file]).unwrap_or_else(|d| panic!("{}", d.render()));
        let import = p
            .filter_id("ixp-rs-import")
            .unwrap_or_else(|| unreachable!());
        let export = p
            .filter_id("ixp-rs-export")
            .unwrap_or_else(|| unreachable!());
        assert!(p.reads_peer(import) && p.modifies(import));
        assert!(p.reads_peer(export) && p.modifies(export));
        // Its RPKI invalid rule is in a filter the import calls.
        assert!(p.reads_rpki(import));
        assert!(!p.reads_rpki(export));
    }

    #[test]
    fn reads_rpki_follows_calls_and_nested_conditions() {
        let src = r#"
            filter rov { if not (prefix-length > 24 or rpki == invalid) then accept; reject "x"; }
            filter top { if family == ipv6 { call rov; } accept; }
            filter plain { if prefix-length > 24 then reject "long"; accept; }
        "#;
        let p = load_str(&[("t.policy", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
        let id = |n: &str| p.filter_id(n).unwrap_or_else(|| panic!("no filter {n}"));
        assert!(p.reads_rpki(id("rov")));
        assert!(p.reads_rpki(id("top")));
        assert!(!p.reads_rpki(id("plain")));
    }
}
