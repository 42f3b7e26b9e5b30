//! AS-path patterns: a small regular-expression language over AS numbers,
//! compiled to a Thompson NFA of at most 128 states and run with bit sets,
//! so matching allocates nothing.
//!
//! Pattern syntax: `64501` (that AS), `64512-65534` (a range), `.` (any AS),
//! `[174 3356 64512-65534]` (any of), `[^ ...]` (none of), `( ... )`,
//! `a | b`, postfix `*` `+` `?`, `^` at the start and `$` at the end anchor
//! the pattern to the first and last AS; without them it matches anywhere.

use std::fmt;

/// Why a pattern does not compile: a message and a byte offset in the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Class(usize),
    Seq(Vec<Self>),
    Alt(Vec<Self>),
    Star(Box<Self>),
    Plus(Box<Self>),
    Opt(Box<Self>),
}

#[derive(Debug, Clone, Copy)]
enum St {
    Accept,
    Class(usize, u8),
    Split(u8, u8),
}

/// A compiled AS-path pattern.
#[derive(Debug, Clone)]
pub(crate) struct AsPathRegex {
    /// Per class: negated, and inclusive ranges.
    classes: Vec<(bool, Vec<(u32, u32)>)>,
    states: Vec<St>,
    closure: Vec<u128>,
    start: u8,
    anchored_start: bool,
    anchored_end: bool,
    /// Fast path for the common shapes `CLASS` and `^. ... .* CLASS`: some
    /// AS after the first `skip` is in the class.
    fast: Option<(usize, usize)>,
}

/// Recognises `[c]` (unanchored) and `^. .* [c]` / `^.* [c]` (`k` leading
/// `.`), both without `$`, which mean "some AS after the first k is in c".
fn fast_shape(
    node: &Node,
    classes: &[(bool, Vec<(u32, u32)>)],
    anchored_start: bool,
    anchored_end: bool,
) -> Option<(usize, usize)> {
    if anchored_end {
        return None;
    }
    let is_any = |n: &Node| matches!(n, Node::Class(c) if classes.get(*c).is_some_and(|(neg, r)| *neg && r.is_empty()));
    let items: &[Node] = match node {
        Node::Seq(items) => items,
        other => std::slice::from_ref(other),
    };
    let (last, init) = items.split_last()?;
    let Node::Class(c) = last else { return None };
    if !anchored_start {
        return init.is_empty().then_some((*c, 0));
    }
    let (star, dots) = init.split_last()?;
    let star_any = matches!(star, Node::Star(inner) if is_any(inner));
    (star_any && dots.iter().all(is_any)).then_some((*c, dots.len()))
}

const MAX_STATES: usize = 128;

struct P<'a> {
    s: &'a [u8],
    pos: usize,
    classes: Vec<(bool, Vec<(u32, u32)>)>,
    depth: u32,
}

impl P<'_> {
    fn err<T>(&self, m: &str) -> Result<T, PatternError> {
        Err(PatternError {
            offset: self.pos,
            message: m.to_owned(),
        })
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn number(&mut self) -> Result<u32, PatternError> {
        self.skip_ws();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let text =
            std::str::from_utf8(self.s.get(start..self.pos).unwrap_or_default()).unwrap_or("");
        match text.parse::<u32>() {
            Ok(n) => Ok(n),
            Err(_) => {
                self.pos = start;
                self.err("expected an AS number")
            }
        }
    }

    fn range(&mut self) -> Result<(u32, u32), PatternError> {
        let a = self.number()?;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            let b = self.number()?;
            if b < a {
                return self.err("range end is below its start");
            }
            return Ok((a, b));
        }
        Ok((a, a))
    }

    fn alt(&mut self) -> Result<Node, PatternError> {
        self.depth += 1;
        if self.depth > 32 {
            return self.err("pattern nested too deeply");
        }
        let mut alts = vec![self.seq()?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            alts.push(self.seq()?);
        }
        self.depth -= 1;
        Ok(if alts.len() == 1 {
            alts.swap_remove(0)
        } else {
            Node::Alt(alts)
        })
    }

    fn seq(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            let atom = match c {
                b'|' | b')' | b'$' => break,
                b'.' => {
                    self.pos += 1;
                    self.classes.push((true, Vec::new()));
                    Node::Class(self.classes.len() - 1)
                }
                b'[' => {
                    self.pos += 1;
                    let neg = self.peek() == Some(b'^');
                    if neg {
                        self.pos += 1;
                    }
                    let mut v = Vec::new();
                    while self.peek() != Some(b']') {
                        if self.peek().is_none() {
                            return self.err("expected ']'");
                        }
                        v.push(self.range()?);
                    }
                    self.pos += 1;
                    self.classes.push((neg, v));
                    Node::Class(self.classes.len() - 1)
                }
                b'(' => {
                    self.pos += 1;
                    let inner = self.alt()?;
                    if self.peek() != Some(b')') {
                        return self.err("expected ')'");
                    }
                    self.pos += 1;
                    inner
                }
                b'0'..=b'9' => {
                    let r = self.range()?;
                    self.classes.push((false, vec![r]));
                    Node::Class(self.classes.len() - 1)
                }
                _ => return self.err("expected an AS number, '.', '[', '(' , '|' or ')'"),
            };
            let node = match self.peek() {
                Some(b'*') => Node::Star(Box::new(atom)),
                Some(b'+') => Node::Plus(Box::new(atom)),
                Some(b'?') => Node::Opt(Box::new(atom)),
                _ => {
                    items.push(atom);
                    continue;
                }
            };
            self.pos += 1;
            items.push(node);
        }
        Ok(Node::Seq(items))
    }
}

struct Builder {
    states: Vec<St>,
}

impl Builder {
    fn push(&mut self, s: St) -> Result<u8, PatternError> {
        if self.states.len() >= MAX_STATES {
            return Err(PatternError {
                offset: 0,
                message: format!("pattern needs more than {MAX_STATES} states"),
            });
        }
        self.states.push(s);
        Ok(u8::try_from(self.states.len() - 1).unwrap_or(u8::MAX))
    }

    /// Builds `n` so that it continues at `next`; returns its start state.
    fn build(&mut self, n: &Node, next: u8) -> Result<u8, PatternError> {
        match n {
            Node::Class(c) => self.push(St::Class(*c, next)),
            Node::Seq(items) => {
                let mut s = next;
                for it in items.iter().rev() {
                    s = self.build(it, s)?;
                }
                Ok(s)
            }
            Node::Alt(alts) => {
                let mut s = None;
                for a in alts.iter().rev() {
                    let b = self.build(a, next)?;
                    s = Some(match s {
                        None => b,
                        Some(rest) => self.push(St::Split(b, rest))?,
                    });
                }
                Ok(s.unwrap_or(next))
            }
            Node::Star(x) => {
                let l = self.push(St::Split(next, next))?;
                let body = self.build(x, l)?;
                if let Some(st) = self.states.get_mut(usize::from(l)) {
                    *st = St::Split(body, next);
                }
                Ok(l)
            }
            Node::Plus(x) => {
                let l = self.push(St::Split(next, next))?;
                let body = self.build(x, l)?;
                if let Some(st) = self.states.get_mut(usize::from(l)) {
                    *st = St::Split(body, next);
                }
                Ok(body)
            }
            Node::Opt(x) => {
                let body = self.build(x, next)?;
                self.push(St::Split(body, next))
            }
        }
    }
}

fn closure_of(states: &[St], s: u8) -> u128 {
    let mut set = 0u128;
    let mut stack = [0u8; MAX_STATES];
    let mut top = 0usize;
    if let Some(slot) = stack.get_mut(0) {
        *slot = s;
        top = 1;
    }
    while top > 0 {
        top -= 1;
        let Some(&cur) = stack.get(top) else { break };
        let bit = 1u128 << cur;
        if set & bit != 0 {
            continue;
        }
        set |= bit;
        if let Some(St::Split(a, b)) = states.get(usize::from(cur)) {
            for n in [*a, *b] {
                if set & (1u128 << n) == 0
                    && let Some(slot) = stack.get_mut(top)
                {
                    *slot = n;
                    top += 1;
                }
            }
        }
    }
    set
}

impl AsPathRegex {
    /// Compiles a pattern.
    pub(crate) fn new(pattern: &str) -> Result<Self, PatternError> {
        let mut p = P {
            s: pattern.as_bytes(),
            pos: 0,
            classes: Vec::new(),
            depth: 0,
        };
        let anchored_start = p.peek() == Some(b'^');
        if anchored_start {
            p.pos += 1;
        }
        let node = p.alt()?;
        let anchored_end = p.peek() == Some(b'$');
        if anchored_end {
            p.pos += 1;
        }
        if p.peek().is_some() {
            return p.err("unexpected character");
        }
        let mut b = Builder { states: Vec::new() };
        let accept = b.push(St::Accept)?;
        let start = b.build(&node, accept)?;
        let closure = (0..b.states.len())
            .map(|s| closure_of(&b.states, u8::try_from(s).unwrap_or(0)))
            .collect();
        let classes: Vec<(bool, Vec<(u32, u32)>)> = p
            .classes
            .into_iter()
            .map(|(neg, mut r)| {
                r.sort_unstable();
                let mut merged: Vec<(u32, u32)> = Vec::with_capacity(r.len());
                for (a, b) in r {
                    match merged.last_mut() {
                        Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                        _ => merged.push((a, b)),
                    }
                }
                (neg, merged)
            })
            .collect();
        let fast = fast_shape(&node, &classes, anchored_start, anchored_end);
        Ok(Self {
            fast,
            classes,
            states: b.states,
            closure,
            start,
            anchored_start,
            anchored_end,
        })
    }

    /// Ranges are sorted and merged at compile time: a binary search.
    fn class_matches(&self, c: usize, asn: u32) -> bool {
        self.classes.get(c).is_some_and(|(neg, ranges)| {
            let i = ranges.partition_point(|&(a, _)| a <= asn);
            let hit = i
                .checked_sub(1)
                .and_then(|j| ranges.get(j))
                .is_some_and(|&(_, b)| asn <= b);
            hit != *neg
        })
    }

    fn closure(&self, s: u8) -> u128 {
        self.closure.get(usize::from(s)).copied().unwrap_or(0)
    }

    /// True when the AS sequence `path` (nearest AS first) matches.
    pub(crate) fn matches(&self, mut path: impl Iterator<Item = u32>) -> bool {
        match self.fast {
            Some((c, skip)) => {
                for _ in 0..skip {
                    if path.next().is_none() {
                        return false;
                    }
                }
                path.any(|asn| self.class_matches(c, asn))
            }
            None => self.matches_nfa(path),
        }
    }

    /// The general automaton (also the oracle for the fast path in tests).
    fn matches_nfa(&self, path: impl Iterator<Item = u32>) -> bool {
        const ACCEPT: u128 = 1; // state 0 is Accept
        let start = self.closure(self.start);
        let mut cur = start;
        if !self.anchored_end && cur & ACCEPT != 0 {
            return true;
        }
        for asn in path {
            let mut next = 0u128;
            let mut m = cur;
            while m != 0 {
                let s = m.trailing_zeros();
                m &= m - 1;
                if let Some(St::Class(c, n)) = self.states.get(s as usize)
                    && self.class_matches(*c, asn)
                {
                    next |= self.closure(*n);
                }
            }
            if !self.anchored_start {
                next |= start;
            }
            cur = next;
            if !self.anchored_end && cur & ACCEPT != 0 {
                return true;
            }
            if cur == 0 {
                return false;
            }
        }
        cur & ACCEPT != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &[u32]) -> bool {
        AsPathRegex::new(p).unwrap().matches(path.iter().copied())
    }

    #[test]
    fn anchors_and_literals() {
        assert!(m("^64501", &[64501, 2]));
        assert!(!m("^64501", &[2, 64501]));
        assert!(m("64501$", &[2, 64501]));
        assert!(!m("64501$", &[64501, 2]));
        assert!(m("3356", &[1, 3356, 2]));
        assert!(m("^$", &[]));
        assert!(!m("^$", &[1]));
        assert!(m("^64501 .* 15169$", &[64501, 1, 2, 15169]));
        assert!(m("^64501 .* 15169$", &[64501, 15169]));
        assert!(!m("^64501 .+ 15169$", &[64501, 15169]));
        assert!(m("^64501+ 7$", &[64501, 64501, 64501, 7]));
        assert!(m("^1 2? 3$", &[1, 3]));
        assert!(m("^1 2? 3$", &[1, 2, 3]));
        assert!(!m("^1 2? 3$", &[1, 2, 2, 3]));
    }

    #[test]
    fn classes_and_alternation() {
        assert!(m("[64512-65534]", &[1, 64600]));
        assert!(!m("[64512-65534]", &[1, 2]));
        assert!(m("^[^174 3356]+$", &[1, 2]));
        assert!(!m("^[^174 3356]+$", &[1, 174]));
        assert!(m("^(1 2 | 3)* 4$", &[1, 2, 3, 1, 2, 4]));
        // Unsorted, overlapping and adjacent ranges are merged.
        for asn in [5, 10, 11, 15, 20, 30, 100] {
            assert!(m("[20-30 100 10-15 5 12-20]", &[asn]), "{asn}");
        }
        for asn in [0, 4, 6, 9, 31, 99, 101] {
            assert!(!m("[20-30 100 10-15 5 12-20]", &[asn]), "{asn}");
        }
        assert!(!m("^(1 2 | 3)* 4$", &[1, 3, 4]));
    }

    #[test]
    fn fast_path_agrees_with_the_automaton() {
        let pats = [
            "[64512-65534]",
            "^. .* [174 3356]",
            "^.* 7",
            "^. . .* [1-3]",
            "7",
            "^7",
            "7$",
            "^. 7",
        ];
        let fast: Vec<bool> = pats
            .iter()
            .map(|p| AsPathRegex::new(p).unwrap().fast.is_some())
            .collect();
        assert_eq!(fast, [true, true, true, true, true, false, false, false]);
        let paths: [&[u32]; 7] = [
            &[],
            &[7],
            &[1, 7],
            &[7, 1],
            &[174],
            &[1, 174, 2],
            &[2, 3, 64600],
        ];
        for p in pats {
            let re = AsPathRegex::new(p).unwrap();
            for path in paths {
                assert_eq!(
                    re.matches(path.iter().copied()),
                    re.matches_nfa(path.iter().copied()),
                    "{p} on {path:?}"
                );
            }
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            AsPathRegex::new("^1 [2").unwrap_err().message,
            "expected ']'"
        );
        assert_eq!(AsPathRegex::new("(1").unwrap_err().message, "expected ')'");
        assert_eq!(AsPathRegex::new("1 x").unwrap_err().offset, 2);
        assert!(AsPathRegex::new(&"(1 ".repeat(40)).is_err());
        assert!(
            AsPathRegex::new(&"1* ".repeat(100))
                .unwrap_err()
                .message
                .contains("states")
        );
    }
}
