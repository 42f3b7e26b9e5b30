//! `rampart-core`: the pure heart of Rampart.
//!
//! Wire codec for BGP-4 messages ([RFC 4271 §4]) and the extensions a route
//! server needs, capabilities, path attributes, NLRI, the session FSM
//! ([RFC 4271 §8], sans-IO), RIB building blocks with the decision process
//! ([RFC 4271 §9.1.2], [RFC 4456 §9]) and MRT ([RFC 6396]).
//!
//! This crate does no I/O of its own: no sockets, no threads, no clock. Time
//! comes in as arguments, bytes come in as slices.
//!
//! [RFC 4271 §4]: https://www.rfc-editor.org/rfc/rfc4271#section-4
//! [RFC 4271 §8]: https://www.rfc-editor.org/rfc/rfc4271#section-8
//! [RFC 4271 §9.1.2]: https://www.rfc-editor.org/rfc/rfc4271#section-9.1.2
//! [RFC 4456 §9]: https://www.rfc-editor.org/rfc/rfc4456#section-9
//! [RFC 6396]: https://www.rfc-editor.org/rfc/rfc6396
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod attr;
pub mod cap;
pub mod ctx;
pub mod fsm;
pub mod iana;
pub mod mrt;
pub mod msg;
pub mod nlri;
pub mod rib;
pub mod wire;

pub use ctx::{DecodeCtx, EncodeCtx};
