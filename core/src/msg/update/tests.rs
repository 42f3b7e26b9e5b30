//! UPDATE codec tests.
