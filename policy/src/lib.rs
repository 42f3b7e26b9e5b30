//! `rampart-policy`: the policy language network teams write for Rampart.
//!
//! docs/POLICY.md describes the language. [`load_files`] / [`load_str`] parse,
//! resolve and type-check policy files into a [`Policy`];
//! [`Policy::evaluate`] runs a filter on one route without allocating;
//! [`check`] also runs the `test` blocks.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use rampart_core::attr::{AsPath, PathAttributes};
//! use rampart_core::nlri::{Ipv4Prefix, Prefix};
//! use rampart_policy::{RouteContext, Verdict, load_str};
//!
//! let src = r#"
//!     prefix-set bogons { 10.0.0.0/8 or-longer; }
//!     filter import {
//!         if prefix in bogons then reject "bogon prefix";
//!         if communities has 65535:0 then set local-pref 0;
//!         accept;
//!     }
//! "#;
//! let policy = load_str(&[("example.policy", src)]).map_err(|d| d.render()).unwrap();
//! let import = policy.filter_id("import").unwrap();
//!
//! let prefix = Prefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 1, 0, 0), 16).unwrap());
//! let ctx = RouteContext::new(prefix, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 64501);
//! let mut attrs = PathAttributes { as_path: AsPath::from_sequence([64501]), ..Default::default() };
//! assert_eq!(policy.evaluate(import, &ctx, &mut attrs), Verdict::Reject("bogon prefix".into()));
//!
//! // Errors carry file, line and column.
//! let err = load_str(&[("bad.policy", "filter f { if prefix == 1 then accept; }")]).unwrap_err();
//! assert_eq!((err.items[0].line, err.items[0].column), (1, 25));
//! ```
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
mod analysis;
mod aspath_re;
mod extcomm;
