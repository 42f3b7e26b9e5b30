//! Unit tests for the MRT codec.
