//! `rampartctl policy diff`: routes whose outcome differs between two
//! versions of a policy.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use rampart_core::attr::PathAttributes;
use rampart_core::mrt::Route;
use rampart_policy::{FilterId, Policy, Verdict};
use serde::Serialize;

use super::{
    ReadCounts, RouteRef, TableOptions, changed_kinds, context, for_each_route, kind_names,
};

/// One route that changed outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiffExample {
    /// The route as received.
    #[serde(flatten)]
    pub route: RouteRef,
    /// Attribute kinds whose values differ between the two accepted
    /// results (empty unless both versions accept).
    pub differing: Vec<&'static str>,
}

/// Routes that went from one outcome to another.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Transition {
    /// Outcome under the old policy: `accept`, `accept, changes KIND, ...`
    /// or `reject: REASON`.
    pub from: String,
    /// Outcome under the new policy, in the same form; when both accept
    /// with the same kinds changed but different values, the new outcome
    /// ends in `(other values)`.
    pub to: String,
    /// Routes.
    pub count: u64,
    /// The first few routes, in table order.
    pub examples: Vec<DiffExample>,
}

/// Result of `policy diff`, as printed or serialized with `--json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffSummary {
    /// The MRT file.
    pub file: String,
    /// The filter compared.
    pub filter: String,
    /// Routes judged.
    pub routes: u64,
    /// Routes whose outcome differs.
    pub changed: u64,
    /// Accepted by the old policy.
    pub old_accepted: u64,
    /// Accepted by the new policy.
    pub new_accepted: u64,
    /// Per transition, most frequent first (then by labels).
    pub transitions: Vec<Transition>,
    /// What reading met besides routes.
    pub read: ReadCounts,
    /// Wall time (seconds).
    pub elapsed_s: f64,
}

/// The outcome label of one evaluation.
fn label(v: &Verdict, received: &PathAttributes, after: &PathAttributes) -> String {
    match v {
        Verdict::Reject(r) => format!("reject: {r}"),
        Verdict::Accept => {
            let kinds: Vec<&str> = kind_names(changed_kinds(received, after)).collect();
            if kinds.is_empty() {
                "accept".to_owned()
            } else {
                format!("accept, changes {}", kinds.join(", "))
            }
        }
    }
}

/// One side of the comparison: a policy and the filter in it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The loaded policy.
    pub policy: &'a Policy,
    /// The filter run.
    pub filter: FilterId,
}

struct Acc {
    examples: usize,
    routes: u64,
    old_accepted: u64,
    new_accepted: u64,
    by: HashMap<(String, String), Transition>,
}

impl Acc {
    fn route(&mut self, old: Side<'_>, new: Side<'_>, r: &Route, opts: &TableOptions) {
        self.routes += 1;
        let ctx = context(r, opts);
        let mut a_old = PathAttributes::clone(&r.attrs);
        let v_old = old.policy.evaluate(old.filter, &ctx, &mut a_old);
        let mut a_new = PathAttributes::clone(&r.attrs);
        let v_new = new.policy.evaluate(new.filter, &ctx, &mut a_new);
        self.old_accepted += u64::from(v_old == Verdict::Accept);
        self.new_accepted += u64::from(v_new == Verdict::Accept);
        let both_accept = v_old == Verdict::Accept && v_new == Verdict::Accept;
        let values_differ = both_accept && a_old != a_new;
        if v_old != v_new || values_differ {
            let from = label(&v_old, &r.attrs, &a_old);
            let mut to = label(&v_new, &r.attrs, &a_new);
            if from == to {
                to.push_str(" (other values)");
            }
            let t = self
                .by
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| Transition {
                    from,
                    to,
                    count: 0,
                    examples: Vec::new(),
                });
            t.count += 1;
            if t.examples.len() < self.examples {
                let differing = if both_accept {
                    kind_names(changed_kinds(&a_old, &a_new)).collect()
                } else {
                    Vec::new()
                };
                t.examples.push(DiffExample {
                    route: RouteRef::of(r),
                    differing,
                });
            }
        }
    }
}

/// Runs `old` and `new` over every route of `mrt` and counts the routes
/// whose outcome differs (verdict, reason, or resulting attributes),
/// keeping up to `examples` routes per transition.
///
/// # Errors
/// When the table cannot be opened.
pub fn diff(
    old: Side<'_>,
    new: Side<'_>,
    filter_name: &str,
    mrt: &Path,
    opts: &TableOptions,
    examples: usize,
) -> anyhow::Result<DiffSummary> {
    let start = Instant::now();
    let mut acc = Acc {
        examples,
        routes: 0,
        old_accepted: 0,
        new_accepted: 0,
        by: HashMap::new(),
    };
    let read = for_each_route(mrt, opts, |r| {
        acc.route(old, new, r, opts);
        let changed: u64 = acc.by.values().map(|t| t.count).sum();
        Some(format!("{} routes, {changed} changed", acc.routes))
    })?;
    let mut transitions: Vec<Transition> = acc.by.into_values().collect();
    transitions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    Ok(DiffSummary {
        file: mrt.display().to_string(),
        filter: filter_name.to_owned(),
        routes: acc.routes,
        changed: transitions.iter().map(|t| t.count).sum(),
        old_accepted: acc.old_accepted,
        new_accepted: acc.new_accepted,
        transitions,
        read,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

/// The human-readable `policy diff` report.
#[must_use]
pub fn render_diff(s: &DiffSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "filter {} over {}", s.filter, s.file);
    let _ = writeln!(
        o,
        "routes {}: {} change outcome; accepted {} -> {}",
        s.routes, s.changed, s.old_accepted, s.new_accepted
    );
    for t in &s.transitions {
        let _ = writeln!(o, "\n{:>10}  {}  ->  {}", t.count, t.from, t.to);
        for e in &t.examples {
            let r = &e.route;
            let _ = write!(
                o,
                "            {} from {} AS{} path [{}] next-hop {}",
                r.prefix,
                r.peer,
                r.peer_as,
                r.as_path,
                r.next_hop.as_deref().unwrap_or("-")
            );
            if !e.differing.is_empty() {
                let _ = write!(o, " (differ: {})", e.differing.join(", "));
            }
            o.push('\n');
        }
    }
    let r = &s.read;
    let _ = writeln!(
        o,
        "\nread {} records; skipped {} withdrawals, {} routes of other peers; {} decode errors; {:.2} s",
        r.records, r.withdrawals, r.other_peers, r.decode_errors, s.elapsed_s
    );
    o
}
