//! Loading files (with `include`), checking and compiling them into a [`Policy`].

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_core::attr::PathAttributes;

use crate::ast::{Item, TestDecl};
use crate::compile::{Compiled, Kind};
use crate::diag::{Diagnostic, Diagnostics, Sources, Span};
use crate::eval::{RouteContext, Verdict};
use crate::parser;
use crate::sets::{AsSet, PrefixSet};
use crate::testblock::{self, CTest};

/// Index of a filter in a [`Policy`], from [`Policy::filter_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilterId(usize);

/// A loaded, type-checked and compiled policy.
#[derive(Debug)]
pub struct Policy {
    compiled: Compiled,
    tests: Vec<CTest>,
    sources: Arc<Sources>,
}

impl Policy {
    /// The filter called `name`, if declared.
    #[must_use]
    pub fn filter_id(&self, name: &str) -> Option<FilterId> {
        match self.compiled.names.get(name) {
            Some((Kind::Filter, idx, _)) => Some(FilterId(*idx)),
            _ => None,
        }
    }

    /// Names of every filter, in declaration order.
    pub fn filter_names(&self) -> impl Iterator<Item = &str> {
        self.compiled.filters.iter().map(|f| f.name.as_str())
    }

    /// Runs `filter` on one route. Actions modify `attrs` in place (also when
    /// the verdict is reject: callers that keep the original must clone it).
    /// Allocates nothing unless an action grows an attribute list.
    pub fn evaluate(
        &self,
        filter: FilterId,
        ctx: &RouteContext<'_>,
        attrs: &mut PathAttributes,
    ) -> Verdict {
        self.compiled.evaluate(filter.0, ctx, attrs)
    }

    /// True when the outcome of `filter` (verdict or attribute changes) can
    /// differ between two peers for the same route: the filter, or a filter
    /// it calls at any depth, reads `peer-address`, `peer-as` (also as a part
    /// of a community pattern such as `0:peer-as`), `peer-group`,
    /// `peer-role` or `peer-prefixes`, or sets the next hop to `self` or
    /// `peer-address`. The test is syntactic: a read in a branch that never
    /// runs still counts. When false, the daemon may evaluate a route once
    /// and share the result between peers.
    #[must_use]
    pub fn reads_peer(&self, filter: FilterId) -> bool {
        self.compiled.reads_peer(filter.0)
    }

    /// True when some action of `filter`, or of a filter it calls at any
    /// depth, changes attributes (`set`, `add`, `remove`, `prepend`). The
    /// test is syntactic, like [`Policy::reads_peer`]: an action counts even
    /// when it would change nothing (adding a community already present).
    /// When false, [`Policy::evaluate`] never touches `attrs` and the daemon
    /// need not clone them.
    #[must_use]
    pub fn modifies(&self, filter: FilterId) -> bool {
        self.compiled.modifies(filter.0)
    }

    /// True when `filter`, or a filter it calls at any depth, tests the
    /// route's RPKI state (`rpki == ...`, RFC 6811): the daemon validates
    /// routes for it, and runs it again over the stored routes when the
    /// validated payloads change.
    #[must_use]
    pub fn reads_rpki(&self, filter: FilterId) -> bool {
        self.compiled.reads_rpki(filter.0)
    }

    /// The large community declared with `reject-tag "reason" G:L1:L2;`
    /// for a reject `reason` (a [`Verdict::Reject`] string), if any. The
    /// evaluator never adds it: a daemon that keeps rejected routes (for a
    /// looking glass) adds it to the kept route, so tagging costs nothing
    /// when rejected routes are dropped.
    #[must_use]
    pub fn reject_tag(&self, reason: &str) -> Option<rampart_core::attr::LargeCommunity> {
        self.compiled.reject_tags.get(reason).map(|(t, _)| *t)
    }

    /// Replaces the contents of the `external` prefix set `name`.
    ///
    /// # Errors
    /// [`ExternalSetError`] when no external prefix set has that name.
    pub fn replace_prefix_set(
        &mut self,
        name: &str,
        set: PrefixSet,
    ) -> Result<(), ExternalSetError> {
        let idx = self.external_index(name, Kind::PrefixSet)?;
        let slot = self
            .compiled
            .prefix_sets
            .get_mut(idx)
            .ok_or_else(|| ExternalSetError(name.to_owned()))?;
        *slot = set;
        Ok(())
    }

    /// Replaces the contents of the `external` AS set `name`.
    ///
    /// # Errors
    /// [`ExternalSetError`] when no external AS set has that name.
    pub fn replace_as_set(&mut self, name: &str, asns: Vec<u32>) -> Result<(), ExternalSetError> {
        let idx = self.external_index(name, Kind::AsSet)?;
        let slot = self
            .compiled
            .as_sets
            .get_mut(idx)
            .ok_or_else(|| ExternalSetError(name.to_owned()))?;
        *slot = AsSet::new(asns);
        Ok(())
    }

    fn external_index(&self, name: &str, kind: Kind) -> Result<usize, ExternalSetError> {
        match self.compiled.names.get(name) {
            Some((k, idx, _)) if *k == kind && self.compiled.external.iter().any(|n| n == name) => {
                Ok(*idx)
            }
            _ => Err(ExternalSetError(name.to_owned())),
        }
    }

    /// Number of `test` blocks loaded.
    #[must_use]
    pub fn test_count(&self) -> usize {
        self.tests.len()
    }

    /// Runs every `test` block; failures point at the test.
    #[must_use]
    pub fn run_tests(&self) -> Report {
        let mut failures = Vec::new();
        for t in &self.tests {
            if let Err(d) = testblock::run(t, &self.compiled) {
                failures.push(d);
            }
        }
        let failed = failures.len();
        Report {
            tests: self.tests.len(),
            failures: if failures.is_empty() {
                None
            } else {
                Some(Diagnostics::new(failures, Arc::clone(&self.sources)))
            },
            passed: self.tests.len() - failed,
        }
    }

    /// The loaded files.
    #[must_use]
    pub fn sources(&self) -> &Sources {
        &self.sources
    }
}

/// No `external` set of that name and kind is declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no external set named '{0}' of that kind is declared")]
pub struct ExternalSetError(pub String);

/// Result of running the `test` blocks.
#[derive(Debug)]
pub struct Report {
    /// Tests run.
    pub tests: usize,
    /// Tests that passed.
    pub passed: usize,
    /// One diagnostic per failed test, pointing at it; `None` when all passed.
    pub failures: Option<Diagnostics>,
}

impl Report {
    /// True when every test passed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.failures.is_none()
    }
}

/// Loads, type-checks and compiles policy files from disk (with includes).
///
/// # Errors
/// Every syntax, name and type error found, with file, line and column.
pub fn load_files<P: AsRef<Path>>(files: &[P]) -> Result<Policy, Diagnostics> {
    let roots: Vec<PathBuf> = files.iter().map(|p| p.as_ref().to_path_buf()).collect();
    load_with(&roots, &mut |p| std::fs::read_to_string(p))
}

/// Loads policy text held in memory: `files` are (name, text) pairs; the
/// first is the root and `include "name"` resolves among the others.
///
/// # Errors
/// As [`load_files`].
pub fn load_str(files: &[(&str, &str)]) -> Result<Policy, Diagnostics> {
    let roots: Vec<PathBuf> = files
        .first()
        .map(|f| PathBuf::from(f.0))
        .into_iter()
        .collect();
    load_with(&roots, &mut |p| {
        files
            .iter()
            .find(|(n, _)| Path::new(n) == p)
            .map(|(_, t)| (*t).to_owned())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    })
}

/// Loads files, type-checks them and runs their `test` blocks.
///
/// # Errors
/// Load or type errors. Test failures are in the [`Report`].
pub fn check<P: AsRef<Path>>(files: &[P]) -> Result<Report, Diagnostics> {
    Ok(load_files(files)?.run_tests())
}

type Reader<'a> = dyn FnMut(&Path) -> io::Result<String> + 'a;

fn load_with(roots: &[PathBuf], read: &mut Reader<'_>) -> Result<Policy, Diagnostics> {
    let mut sources = Sources::default();
    let mut items = Vec::new();
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    let mut queue: Vec<(PathBuf, Option<Span>)> =
        roots.iter().rev().map(|p| (p.clone(), None)).collect();
    let mut budget = 10_000usize; // bound on files loaded
    while let Some((path, from)) = queue.pop() {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            continue;
        }
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let text = match read(&path) {
            Ok(t) => t,
            Err(e) => {
                let span = from.unwrap_or_else(|| {
                    Span::new(sources.add(path.display().to_string(), String::new()), 0..0)
                });
                errs.push(Diagnostic::new(
                    span,
                    format!("cannot read {}: {e}", path.display()),
                    "this file",
                ));
                continue;
            }
        };
        let file = sources.add(path.display().to_string(), text);
        let parsed = match sources.file(file) {
            Some((_, t)) => parser::parse(file, t),
            None => Ok(Vec::new()),
        };
        match parsed {
            Ok(mut its) => {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                for it in its.iter().rev() {
                    if let Item::Include(p, span) = it {
                        queue.push((dir.join(p), Some(*span)));
                    }
                }
                items.append(&mut its);
            }
            Err(d) => errs.push(*d),
        }
    }
    let sources = Arc::new(sources);
    if !errs.is_empty() {
        return Err(Diagnostics::new(errs, sources));
    }
    let mut compiled = Compiled::default();
    compiled.declare(&items, &mut errs);
    compiled.compile_filters(&items, &mut errs);
    if errs.is_empty()
        && let Some(f) = compiled.find_call_cycle()
    {
        let name = compiled
            .filters
            .get(f)
            .map(|f| f.name.clone())
            .unwrap_or_default();
        if let Some((_, _, span)) = compiled.names.get(&name) {
            errs.push(Diagnostic::new(
                *span,
                format!("filter '{name}' takes part in a cycle of 'call's"),
                "a filter may not call itself, directly or through others",
            ));
        }
    }
    let tests: Vec<&TestDecl> = items
        .iter()
        .filter_map(|i| match i {
            Item::Test(t) => Some(t),
            _ => None,
        })
        .collect();
    let mut ctests = Vec::new();
    for t in tests {
        match testblock::compile(t, &compiled) {
            Ok(c) => ctests.push(c),
            Err(d) => errs.push(d),
        }
    }
    if !errs.is_empty() {
        return Err(Diagnostics::new(errs, sources));
    }
    Ok(Policy {
        compiled,
        tests: ctests,
        sources,
    })
}
