//! `rampart-policy`: the policy language network teams write for Rampart.
//!
//! docs/POLICY.md describes the language. [`load_files`] / [`load_str`] parse,
//! resolve and type-check policy files into a [`Policy`];
//! [`Policy::evaluate`] runs a filter on one route without allocating;
//! [`check`] also runs the `test` blocks.
#![warn(missing_docs)]

mod ast;
mod diag;
mod lexer;
mod parser;

pub use diag::{Diagnostic, Diagnostics, Sources, Span};
mod compile;
mod eval;
mod load;
mod sets;
mod testblock;

pub use eval::{RouteContext, RpkiState, Verdict};
pub use load::{ExternalSetError, FilterId, Policy, Report, check, load_files, load_str};
pub use sets::{LengthRangeError, PrefixSet};
mod aspath_re;
mod extcomm;
