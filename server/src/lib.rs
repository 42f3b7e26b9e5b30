//! The pieces of `rampartd` and `rampartctl` that are not the binaries'
//! argument handling.

pub mod auth;
pub mod config;
pub mod control;
pub mod daemon;
pub mod io;
pub mod mrt_summary;
pub mod neighbors;
pub mod policy_tool;
pub mod rpki;
