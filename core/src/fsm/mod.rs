//! The BGP session finite state machine (RFC 4271 §8), sans-IO.
