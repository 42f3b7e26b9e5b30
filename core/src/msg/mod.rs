//! BGP messages (RFC 4271 §4): header framing, OPEN, UPDATE, NOTIFICATION,
//! KEEPALIVE and ROUTE-REFRESH (RFC 2918, RFC 7313).

pub mod update;

pub use update::Update;
