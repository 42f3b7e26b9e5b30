//! Parser and checker diagnostics: message, line and column.

use rampart_policy::{Diagnostics, load_str};

fn err(src: &str) -> Diagnostics {
    match load_str(&[("p.policy", src)]) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(d) => d,
    }
}

/// The first diagnostic's (line, column, message).
fn first(src: &str) -> (u32, u32, String) {
    let d = err(src);
    let f = &d.items[0];
    (f.line, f.column, f.message.clone())
}

#[test]
fn missing_semicolon_after_action() {
    let (l, c, m) =
        first("filter f {\n    if prefix-length > 24 then reject \"x\"\n    accept;\n}\n");
    assert_eq!((l, c), (3, 5));
    assert_eq!(m, "expected ';' or ',' after an action, found 'accept'");
}

#[test]
fn unknown_top_level_word() {
    let (l, c, m) = first("\n  fliter f { accept; }\n");
    assert_eq!((l, c), (2, 3));
    assert!(m.starts_with("expected 'include', 'prefix-set'"), "{m}");
    assert!(m.ends_with("found 'fliter'"), "{m}");
}

#[test]
fn unterminated_filter_at_eof() {
    let (l, c, m) = first("filter f {\n  accept;\n");
    assert_eq!((l, c), (3, 1));
    assert_eq!(m, "expected a statement or '}', found end of file");
}

#[test]
fn bad_characters_and_literals() {
    let (l, c, m) = first("filter f { if med == 1 then accept; @ }");
    assert_eq!((l, c), (1, 37));
    assert!(m.contains("unexpected character"), "{m}");
    let (_, _, m) = first("prefix-set s { 10.0.0.1/8; }");
    assert!(m.contains("host bits set"), "{m}");
    let (_, _, m) = first("prefix-set s { 10.0.0.0/8{4,32}; }");
    assert!(m.contains("not within 8..32"), "{m}");
    let (_, _, m) = first("as-set a { 4294967296 }");
    assert!(m.contains("out of range"), "{m}");
    let (_, _, m) = first("filter f { add community 65535:*; }");
    assert!(m.contains("wildcard"), "{m}");
    let (_, _, m) = first("filter f { prepend peer-as times 40; }");
    assert!(m.contains("between 1 and 32"), "{m}");
}

#[test]
fn prefix_compared_with_as_number_is_a_type_error() {
    let (l, c, m) = first("filter f {\n  if prefix == 64501 then reject;\n  accept;\n}\n");
    assert_eq!((l, c), (2, 16));
    assert_eq!(m, "type mismatch: expected a prefix, found an integer");
    let (l, c, m) = first("filter f {\n  if med == peer-as then reject;\n  accept;\n}\n");
    assert_eq!((l, c), (2, 13));
    assert_eq!(m, "type mismatch: expected an integer, found an AS number");
    let (_, _, m) = first("filter f { if next-hop > 192.0.2.1 then reject; accept; }");
    assert!(m.contains("only '==' and '!='"), "{m}");
    let (_, _, m) = first("filter f { if communities has 64501 then reject; accept; }");
    assert_eq!(m, "type mismatch: expected a community, found an integer");
    let (_, _, m) = first("filter f { if med then reject; accept; }");
    assert!(m.starts_with("expected a condition"), "{m}");
}

#[test]
fn unknown_and_misused_names() {
    let (l, c, m) = first("filter f {\n  if prefix in bogns then reject;\n}\n");
    assert_eq!((l, c), (2, 16));
    assert_eq!(m, "unknown name 'bogns': expected a prefix-set");
    let d = err("as-set a { 1 }\nfilter f { if prefix in a then reject; accept; }");
    assert_eq!(
        d.items[0].message,
        "expected a prefix-set, but 'a' is an as-set"
    );
    assert_eq!(d.items[0].related.len(), 1);
    let (_, _, m) = first("filter f { if prefx == 10.0.0.0/8 then reject; accept; }");
    assert_eq!(m, "unknown field or value 'prefx'");
    let (_, _, m) = first("filter f { call g; }");
    assert_eq!(m, "unknown name 'g': expected a filter");
}

#[test]
fn several_checker_errors_are_all_reported() {
    let d = err("filter f {\n if prefix in x then reject;\n if med == 1.2.3.4 then accept;\n}\n");
    let lines: Vec<u32> = d.items.iter().map(|i| i.line).collect();
    assert_eq!(lines, vec![2, 3]);
}

#[test]
fn duplicate_names_and_call_cycles() {
    let d = err("as-set a { 1 }\nprefix-set a { 10.0.0.0/8; }\n");
    assert_eq!(d.items[0].message, "'a' is declared twice");
    assert_eq!((d.items[0].line, d.items[0].column), (2, 12));
    let (_, _, m) = first("filter f { call g; accept; }\nfilter g { call f; accept; }");
    assert!(m.contains("cycle"), "{m}");
    let (_, _, m) = first("filter f { call f; }");
    assert!(m.contains("cycle"), "{m}");
}

#[test]
fn test_block_errors() {
    let (_, _, m) = first(
        "filter f { accept; }\ntest \"t\" { filter f; route { prefix 10.0.0.0/8; } expect accept; }",
    );
    assert_eq!(m, "the route has no 'from-peer'");
    let (_, _, m) = first("test \"t\" { filter nope; }");
    assert_eq!(m, "unknown name 'nope': expected a filter");
    let (_, _, m) = first(
        "filter f { accept; }\ntest \"t\" { filter f; route { prefix 10.0.0.0/8; colour blue; } }",
    );
    assert_eq!(m, "unknown route field 'colour'");
}

#[test]
fn includes_resolve_and_errors_name_the_included_file() {
    let files = [
        (
            "dir/main.policy",
            "include \"sets.policy\";\nfilter f { if prefix in s then accept; }",
        ),
        ("dir/sets.policy", "# sets\nprefix-set s { 10.0.0.0/8 }\n"),
    ];
    let d = load_str(&files).expect_err("syntax error in the include");
    let f = &d.items[0];
    assert_eq!(f.file, "dir/sets.policy");
    assert_eq!((f.line, f.column), (2, 27));
    assert_eq!(f.message, "expected ';' after a prefix entry, found '}'");
    let missing =
        load_str(&[("m.policy", "include \"nope.policy\";")]).expect_err("missing include");
    assert!(
        missing.items[0]
            .message
            .starts_with("cannot read nope.policy")
    );
    assert_eq!((missing.items[0].line, missing.items[0].column), (1, 9));
    let ok = [
        (
            "dir/main.policy",
            "include \"sets.policy\";\ninclude \"sets.policy\";\nfilter f { if prefix in s then accept; }",
        ),
        ("dir/sets.policy", "prefix-set s { 10.0.0.0/8; }\n"),
    ];
    let p = load_str(&ok).expect("included twice is loaded once");
    assert!(p.filter_id("f").is_some());
}

#[test]
fn render_shows_file_line_and_source() {
    let d = err("filter f {\n  if prefix == 64501 then reject;\n}\n");
    let r = d.render();
    assert!(r.contains("p.policy:2:16"), "{r}");
    assert!(r.contains("if prefix == 64501 then reject;"), "{r}");
    assert!(r.contains("expected a prefix"), "{r}");
}

#[test]
#[ignore = "prints a rendered diagnostic for eyeballing"]
fn show() {
    println!(
        "{}",
        err("filter f {\n  if prefix == 64501 then reject;\n}\n").render()
    );
    println!(
        "{}",
        err("filter f {\n    if prefix-length > 24 then reject \"x\"\n    accept;\n}\n").render()
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!(
        "filter f {{ if {}med == 1{} then accept; }}",
        "(".repeat(500),
        ")".repeat(500)
    );
    let (_, _, m) = first(&src);
    assert_eq!(m, "nesting deeper than 64 levels");
    let src = format!(
        "filter f {{ if {} med == 1 then accept; }}",
        "not ".repeat(500)
    );
    assert_eq!(first(&src).2, "nesting deeper than 64 levels");
    let ok = format!(
        "filter f {{ if {}med == 1{} then accept; }}",
        "(".repeat(30),
        ")".repeat(30)
    );
    assert!(load_str(&[("p.policy", &ok)]).is_ok());
}

#[test]
fn long_and_chains_are_bounded() {
    let src = format!(
        "filter f {{ if med == 1{} then accept; }}",
        " and med == 1".repeat(300)
    );
    assert!(first(&src).2.starts_with("more than 256 conditions"));
    let src = format!(
        "filter f {{ if med == 1{} then accept; accept; }}",
        " or med == 1".repeat(200)
    );
    assert!(load_str(&[("p.policy", &src)]).is_ok());
}

#[test]
fn bad_as_path_pattern_points_into_the_string() {
    let (l, c, m) = first("filter f {\n  if as-path matches \"^1 [2\" then accept;\n}\n");
    assert_eq!(m, "bad AS-path pattern: expected ']'");
    assert_eq!(
        (l, c),
        (2, 28),
        "just past \"[2\", where the ']' is missing"
    );
    let (_, _, m) = first("filter f { if med matches \"1\" then accept; }");
    assert_eq!(m, "'matches' needs 'as-path' on its left, found an integer");
}

#[test]
fn errors_at_end_of_file_point_at_the_end() {
    let (l, c, m) = first("prefix-set s {\n  10.0.0.0/8;\n  ");
    assert_eq!(
        m,
        "expected a prefix such as 192.0.2.0/24 or '}', found end of file"
    );
    assert_eq!((l, c), (3, 3));
    let (_, _, m) = first("community-set c { 1:2 ; }");
    assert_eq!(
        m,
        "expected a community such as 65535:666 or '}', found ';'"
    );
}

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<rampart_policy::Policy>();
}

#[test]
fn ext_community_errors() {
    let (_, _, m) = first("filter f { add ext-community rt:65000:*; }");
    assert_eq!(m, "cannot add this extended community");
    let (_, _, m) = first("filter f { if ext-communities has 1:2 then accept; }");
    assert_eq!(
        m,
        "type mismatch: expected an extended community, found a community"
    );
    let (_, _, m) = first("ext-community-set x { rt:1.2.3:4 }");
    assert!(m.starts_with("expected an extended community"), "{m}");
}

#[test]
fn peer_as_community_errors() {
    let (_, _, m) = first("filter f { if communities has 0:peer-az then accept; }");
    assert!(
        m.starts_with("expected an address, prefix, community"),
        "{m}"
    );
    let (_, _, m) = first("filter f { if communities has 70000:peer-as then accept; }");
    assert_eq!(
        m,
        "expected a community whose parts are numbers, '*' or 'peer-as'"
    );
    let (_, _, m) = first("filter f { add community *:peer-as; }");
    assert_eq!(m, "cannot add a wildcard community");
    let (_, _, m) = first("filter f { if large-communities has 0:peer-as then accept; }");
    assert_eq!(
        m,
        "type mismatch: expected a large community, found a community"
    );
}
