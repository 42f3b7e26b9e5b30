//! `rampart-loadgen`.
fn main() {}
