//! Criterion bench: rib (filled in by the rib work).
fn main() {}
