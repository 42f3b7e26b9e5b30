//! `rampart-policy`: the policy language network teams write for Rampart.
//!
//! The language, its compiler and evaluator land with the policy issue; this
//! crate holds the place in the workspace so the dependency graph
//! (`policy` depends on `core` only) is fixed from the first commit.
#![warn(missing_docs)]
