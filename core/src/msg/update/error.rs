//! UPDATE errors ([RFC 4271 §6.3]) and the [RFC 7606] bookkeeping around
//! them.
//!
//! [RFC 4271 §6.3]: https://www.rfc-editor.org/rfc/rfc4271#section-6.3
//! [RFC 7606]: https://www.rfc-editor.org/rfc/rfc7606
//!
//! Every [`UpdateError`] maps to the three parts of a NOTIFICATION through
//! [`NotificationData`]. Whether an error resets the session or only leads to
//! treat-as-withdraw or attribute-discard is decided where it is found, and
//! recorded as a [`Treatment`] next to it.

use crate::iana::{ErrorCode, update_error};
use crate::nlri::AfiSafi;

use super::Treatment;

/// A malformation found in an UPDATE, with what the NOTIFICATION needs.
///
/// `offset` is counted from the start of the buffer given to the decoder
/// that found the error: the UPDATE body (after the 19-byte header) for
/// [`Update::decode`](super::Update::decode) and
/// [`UpdateView::parse`](super::UpdateView::parse), the attribute section for
/// [`decode_path_attributes`](crate::attr::decode_path_attributes).
/// `data` fields hold the whole erroneous attribute (flags, type, length and
/// value), as RFC 4271 §6.3 asks for the NOTIFICATION Data field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The body is shorter than its fixed fields, or Withdrawn Routes Length
    /// overruns the message (RFC 4271 §6.3, RFC 7606 §4: session reset).
    #[error("withdrawn routes length {len} at offset {offset} overruns the message")]
    WithdrawnLength {
        /// Offset of the length field (bytes).
        offset: usize,
        /// The length read (bytes).
        len: usize,
    },
    /// Total Path Attribute Length overruns the message (RFC 7606 §4:
    /// session reset).
    #[error("total path attribute length {len} at offset {offset} overruns the message")]
    AttributesLength {
        /// Offset of the length field (bytes).
        offset: usize,
        /// The length read (bytes).
        len: usize,
    },
    /// An attribute header or value runs past the attribute section
    /// (RFC 7606 §4: treat-as-withdraw).
    #[error("attribute at offset {offset} overruns the attribute section")]
    AttributeOverrun {
        /// Offset of the attribute's flags octet (bytes).
        offset: usize,
    },
    /// An attribute appeared more than once (RFC 7606 §3 g): session reset
    /// for MP_REACH_NLRI / MP_UNREACH_NLRI, otherwise the later copies are
    /// discarded.
    #[error("duplicate attribute type {type_code} at offset {offset}")]
    DuplicateAttribute {
        /// Offset of the duplicate's flags octet (bytes).
        offset: usize,
        /// Its type code.
        type_code: u8,
    },
    /// An attribute not recognized with the Optional bit clear
    /// (RFC 4271 §6.3: Unrecognized Well-known Attribute, session reset).
    #[error("unrecognized well-known attribute type {type_code} at offset {offset}")]
    UnrecognizedWellKnown {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// Its type code.
        type_code: u8,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// A well-known mandatory attribute is missing (RFC 7606 §3 d:
    /// treat-as-withdraw).
    #[error("missing well-known attribute type {type_code}")]
    MissingWellKnown {
        /// The missing attribute's type code.
        type_code: u8,
    },
    /// Optional/Transitive bits conflict with the type (RFC 7606 §3 c).
    #[error("attribute flags 0x{flags:02x} invalid for type {type_code} at offset {offset}")]
    AttributeFlags {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// Its type code.
        type_code: u8,
        /// The flags octet received.
        flags: u8,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// The attribute's length is wrong for its type.
    #[error("attribute type {type_code} at offset {offset} has invalid length")]
    AttributeLength {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// Its type code.
        type_code: u8,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// ORIGIN carries an undefined value (RFC 7606 §7.1).
    #[error("invalid ORIGIN at offset {offset}")]
    InvalidOrigin {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// NEXT_HOP is semantically invalid (RFC 7606 §7.3).
    #[error("invalid NEXT_HOP at offset {offset}")]
    InvalidNextHop {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// AS_PATH (or AS4_PATH) is malformed (RFC 7606 §7.2, RFC 6793 §6).
    #[error("malformed AS path (type {type_code}) at offset {offset}")]
    MalformedAsPath {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// AS_PATH (2) or AS4_PATH (17).
        type_code: u8,
    },
    /// An optional attribute's value is malformed (RFC 4271 §6.3:
    /// Optional Attribute Error), e.g. an MP_REACH_NLRI next hop length
    /// inconsistent with its family (RFC 7606 §7.11).
    #[error("malformed optional attribute type {type_code} at offset {offset}")]
    OptionalAttribute {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// Its type code.
        type_code: u8,
        /// Family concerned, when the attribute names one.
        family: Option<AfiSafi>,
        /// The whole attribute.
        data: Vec<u8>,
    },
    /// MP_REACH_NLRI / MP_UNREACH_NLRI for a family this codec cannot
    /// parse (RFC 4760 §7: handled as AFI/SAFI disable).
    #[error("unsupported family afi {afi} safi {safi} at offset {offset}")]
    UnsupportedFamily {
        /// Offset of the attribute (bytes).
        offset: usize,
        /// AFI received.
        afi: u16,
        /// SAFI received.
        safi: u8,
    },
    /// A prefix in the Withdrawn Routes field, the NLRI field or an MP
    /// attribute is malformed (RFC 7606 §5.3).
    #[error("invalid network field for {family} at offset {offset}")]
    InvalidNetworkField {
        /// Offset of the bad prefix (bytes).
        offset: usize,
        /// Family of the field.
        family: AfiSafi,
    },
}

impl UpdateError {
    /// The address family an AFI/SAFI-disable error concerns, if any.
    #[must_use]
    pub fn family(&self) -> Option<AfiSafi> {
        match self {
            Self::OptionalAttribute { family, .. } => *family,
            Self::InvalidNetworkField { family, .. } => Some(*family),
            Self::UnsupportedFamily { afi, safi, .. } => {
                Some(AfiSafi::new((*afi).into(), (*safi).into()))
            }
            _ => None,
        }
    }

    /// The NOTIFICATION code, subcode and data for this error
    /// (RFC 4271 §6.3).
    #[must_use]
    pub fn notification(&self) -> NotificationData {
        use update_error as s;
        let (subcode, data) = match self {
            Self::WithdrawnLength { .. }
            | Self::AttributesLength { .. }
            | Self::AttributeOverrun { .. }
            | Self::DuplicateAttribute { .. } => (s::MALFORMED_ATTRIBUTE_LIST, Vec::new()),
            Self::UnrecognizedWellKnown { data, .. } => {
                (s::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, data.clone())
            }
            Self::MissingWellKnown { type_code } => {
                (s::MISSING_WELL_KNOWN_ATTRIBUTE, vec![*type_code])
            }
            Self::AttributeFlags { data, .. } => (s::ATTRIBUTE_FLAGS_ERROR, data.clone()),
            Self::AttributeLength { data, .. } => (s::ATTRIBUTE_LENGTH_ERROR, data.clone()),
            Self::InvalidOrigin { data, .. } => (s::INVALID_ORIGIN_ATTRIBUTE, data.clone()),
            Self::InvalidNextHop { data, .. } => (s::INVALID_NEXT_HOP_ATTRIBUTE, data.clone()),
            Self::MalformedAsPath { .. } => (s::MALFORMED_AS_PATH, Vec::new()),
            Self::OptionalAttribute { data, .. } => (s::OPTIONAL_ATTRIBUTE_ERROR, data.clone()),
            Self::UnsupportedFamily { .. } => (s::OPTIONAL_ATTRIBUTE_ERROR, Vec::new()),
            Self::InvalidNetworkField { .. } => (s::INVALID_NETWORK_FIELD, Vec::new()),
        };
        NotificationData {
            code: ErrorCode::Update,
            subcode,
            data,
        }
    }
}

/// The three parts of a NOTIFICATION (RFC 4271 §4.5) for an UPDATE error;
/// the message type wraps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationData {
    /// Error code (always UPDATE Message Error here).
    pub code: ErrorCode,
    /// Error subcode (RFC 4271 §6.3, [`crate::iana::update_error`]).
    pub subcode: u8,
    /// Data field.
    pub data: Vec<u8>,
}

impl From<&UpdateError> for NotificationData {
    fn from(e: &UpdateError) -> Self {
        e.notification()
    }
}

impl From<&UpdateError> for (ErrorCode, u8, Vec<u8>) {
    fn from(e: &UpdateError) -> Self {
        let n = e.notification();
        (n.code, n.subcode, n.data)
    }
}

/// Errors collected while decoding, with the strongest treatment so far
/// (RFC 7606 §3 j: the approach with the strongest action wins).
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Most severe treatment so far.
    pub(crate) treatment: Treatment,
    /// Every error, in the order found.
    pub(crate) errors: Vec<UpdateError>,
    /// The first error that demands a session reset.
    pub(crate) fatal: Option<UpdateError>,
    /// True when some error calls for treat-as-withdraw (kept apart from
    /// `treatment` because AFI/SAFI disable ranks above it but concerns one
    /// family only).
    pub(crate) withdraw: bool,
}

impl Report {
    /// Records `e` handled with `t`.
    pub(crate) fn push(&mut self, t: Treatment, e: UpdateError) {
        self.treatment = self.treatment.max(t);
        if t == Treatment::TreatAsWithdraw {
            self.withdraw = true;
        }
        if t == Treatment::SessionReset && self.fatal.is_none() {
            self.fatal = Some(e.clone());
        }
        self.errors.push(e);
    }
}
