//! The loader never panics: random token soup yields a policy or diagnostics.

use proptest::prelude::*;

const WORDS: &[&str] = &[
    "filter",
    "f",
    "g",
    "{",
    "}",
    "(",
    ")",
    ";",
    ",",
    "if",
    "then",
    "else",
    "rule",
    "\"r\"",
    "accept",
    "reject",
    "set",
    "med",
    "local-pref",
    "next-hop",
    "peer-address",
    "self",
    "add",
    "remove",
    "community",
    "large-community",
    "prepend",
    "times",
    "call",
    "prefix",
    "in",
    "has",
    "any",
    "not",
    "and",
    "or",
    "==",
    "!=",
    "<",
    ">=",
    "10.0.0.0/8",
    "192.0.2.1",
    "2001:db8::/32",
    "65535:666",
    "0:*",
    "1:2:3",
    "64501",
    "300",
    "prefix-set",
    "as-set",
    "community-set",
    "s",
    "or-longer",
    "ge",
    "le",
    "external",
    "test",
    "route",
    "expect",
    "from-peer",
    "as",
    "include",
    "\"x.policy\"",
    "#c\n",
    "@",
    "prefix-length",
    "as-path",
    "first-as",
    "rpki",
    "valid",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn loader_never_panics(idx in prop::collection::vec((0..WORDS.len(), any::<bool>()), 0..60)) {
        // Words sometimes touch (no space), which exercises the gluing of
        // adjacent tokens such as `0:` + `peer-as`.
        let mut src = String::new();
        for (i, space) in idx {
            src.push_str(WORDS[i]);
            if space {
                src.push(' ');
            }
        }
        match rampart_policy::load_str(&[("p.policy", &src)]) {
            Ok(p) => { let _ = p.run_tests(); }
            Err(d) => {
                prop_assert!(!d.items.is_empty());
                for i in &d.items {
                    prop_assert!(i.line >= 1 && i.column >= 1, "{i:?}");
                }
                let _ = d.render();
            }
        }
    }
}
