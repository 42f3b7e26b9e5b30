//! `rampart-loadgen`: synthetic and MRT-driven BGP tables and, later, a
//! many-session load generator and convergence meter.
//!
//! - [`synth`]: realistic synthetic tables (real prefix-length, origin, path
//!   and community distributions), seeded and deterministic.
//! - [`dump`]: writes a synthetic table as an MRT TABLE_DUMP_V2 RIB file.

pub mod dump;
pub mod synth;
