//! `rampart-loadgen`: synthetic and MRT-driven BGP tables and, later, a
//! many-session load generator and convergence meter.
//!
//! - [`synth`]: realistic synthetic tables (real prefix-length, origin, path
//!   and community distributions), seeded and deterministic.

pub mod synth;
