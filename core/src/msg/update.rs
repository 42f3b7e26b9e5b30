//! UPDATE message (RFC 4271 §4.3; MP extensions RFC 4760 §3–4; revised error
//! handling RFC 7606).
//!
//! INTERFACE STUB: the owned form and the decode/encode signatures are fixed
//! here so the MRT, FSM and RIB work can build on them; the codec bodies are
//! filled in by the UPDATE work.

use bytes::BytesMut;

use crate::attr::{NextHop, PathAttributes};
use crate::ctx::{DecodeCtx, EncodeCtx};
use crate::nlri::{AfiSafi, Nlri};

/// RFC 7606 outcome of decoding one UPDATE, ordered by severity: when
/// several errors occur, the most severe one decides (RFC 7606 §3 j).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Treatment {
    /// No error.
    #[default]
    Normal,
    /// A malformed attribute was dropped; routes stand (RFC 7606 §2).
    AttributeDiscard,
    /// Every NLRI of the UPDATE is handled as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// The address family must be disabled (RFC 7606 §2, RFC 4760 §7).
    AfiSafiDisable,
    /// The session must be reset with a NOTIFICATION (RFC 4271 §6.3).
    SessionReset,
}

/// MP_REACH_NLRI content (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// Family of the NLRI.
    pub family: AfiSafi,
    /// Next hop of every NLRI in this attribute.
    pub next_hop: NextHop,
    /// Announced NLRI.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI content (RFC 4760 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// Family of the withdrawn NLRI.
    pub family: AfiSafi,
    /// Withdrawn NLRI.
    pub withdrawn: Vec<Nlri>,
}

/// An UPDATE message, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn Routes (IPv4 unicast).
    pub withdrawn: Vec<Nlri>,
    /// Path attributes other than MP_REACH/MP_UNREACH; `next_hop` is the
    /// NEXT_HOP attribute (for the IPv4 NLRI below).
    pub attrs: PathAttributes,
    /// Network Layer Reachability Information (IPv4 unicast).
    pub nlri: Vec<Nlri>,
    /// MP_REACH_NLRI, if present.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, if present.
    pub mp_unreach: Option<MpUnreach>,
}

/// The result of decoding an UPDATE that did not require a session reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The update with its treatment applied: under treat-as-withdraw its
    /// announced NLRI have been moved to the withdrawn lists; under
    /// attribute-discard the bad attributes are gone.
    pub update: Update,
    /// The most severe treatment any error called for.
    pub treatment: Treatment,
    /// Every error found, for logging (empty when `treatment` is Normal).
    pub errors: Vec<UpdateError>,
}

/// A malformation found in an UPDATE, with what the NOTIFICATION needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// Placeholder until the codec lands.
    #[error("UPDATE decoding not implemented")]
    Unimplemented,
}

/// Why an UPDATE could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not fit the negotiated maximum size.
    #[error("UPDATE of {len} bytes exceeds the {max}-byte maximum")]
    TooLong {
        /// Encoded length (bytes).
        len: usize,
        /// Negotiated maximum (bytes).
        max: usize,
    },
}

impl Update {
    /// Decodes an UPDATE body (the bytes after the 19-byte header).
    ///
    /// # Errors
    /// `Err` only when RFC 7606 calls for a session reset; every other
    /// malformation is reported in [`Decoded::treatment`].
    pub fn decode(body: &[u8], ctx: &DecodeCtx) -> Result<Decoded, UpdateError> {
        let _ = (body, ctx);
        Err(UpdateError::Unimplemented)
    }

    /// Encodes this update as one complete message (header included).
    ///
    /// # Errors
    /// [`EncodeError::TooLong`] when it exceeds `ctx.max_message_len()`.
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        let _ = (ctx, out);
        Ok(())
    }
}
