//! Criterion bench: codec (filled in by the codec work).
fn main() {}
