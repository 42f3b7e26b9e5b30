//! `rampartctl`: Rampart's control and offline tool.
fn main() {}
