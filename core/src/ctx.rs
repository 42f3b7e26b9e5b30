//! Negotiated per-session codec settings.
//!
//! Built once when a session reaches Established from the local and remote
//! capabilities, then passed to every decode and encode call.

use smallvec::SmallVec;

use crate::nlri::AfiSafi;

/// Maximum BGP message size without the Extended Message capability
/// (RFC 4271 §4.1), bytes.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum BGP message size with the Extended Message capability
/// (RFC 8654 §4), bytes.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// How to read messages from one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeCtx {
    /// Both sides advertised 4-octet AS support (RFC 6793 §3): AS_PATH and
    /// AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families for which the peer sends path identifiers (RFC 7911: we
    /// advertised Receive and the peer advertised Send).
    pub add_path: SmallVec<[AfiSafi; 2]>,
    /// Extended Message negotiated (RFC 8654): messages up to 65535 bytes.
    pub extended_message: bool,
}

/// How to write messages to one peer (same fields, the send direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeCtx {
    /// 4-octet AS numbers in AS_PATH/AGGREGATOR; when false, AS_TRANS plus
    /// AS4_PATH/AS4_AGGREGATOR are written (RFC 6793 §4.2.2).
    pub four_octet_as: bool,
    /// Families for which we send path identifiers (RFC 7911).
    pub add_path: SmallVec<[AfiSafi; 2]>,
    /// Extended Message negotiated (RFC 8654).
    pub extended_message: bool,
}

macro_rules! ctx_common {
    ($t:ty) => {
        impl $t {
            /// The context of a modern session: 4-octet AS, no ADD-PATH,
            /// 4096-byte messages.
            #[must_use]
            pub fn modern() -> Self {
                Self {
                    four_octet_as: true,
                    add_path: SmallVec::new(),
                    extended_message: false,
                }
            }

            /// The context of a session with no capabilities at all
            /// (2-octet AS, plain RFC 4271).
            #[must_use]
            pub fn legacy() -> Self {
                Self {
                    four_octet_as: false,
                    add_path: SmallVec::new(),
                    extended_message: false,
                }
            }

            /// True when path identifiers are present for `family`.
            #[must_use]
            pub fn add_path(&self, family: AfiSafi) -> bool {
                self.add_path.contains(&family)
            }

            /// Largest message allowed, bytes: 4096 or 65535.
            #[must_use]
            pub const fn max_message_len(&self) -> usize {
                if self.extended_message {
                    MAX_EXTENDED_MESSAGE_LEN
                } else {
                    MAX_MESSAGE_LEN
                }
            }
        }

        impl Default for $t {
            fn default() -> Self {
                Self::modern()
            }
        }
    };
}

ctx_common!(DecodeCtx);
ctx_common!(EncodeCtx);
