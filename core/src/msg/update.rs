//! UPDATE message ([RFC 4271 §4.3]; MP extensions [RFC 4760 §3]–4; revised
//! error handling [RFC 7606]).
//!
//! [RFC 4271 §4.3]: https://www.rfc-editor.org/rfc/rfc4271#section-4.3
//! [RFC 4760 §3]: https://www.rfc-editor.org/rfc/rfc4760#section-3
//! [RFC 7606]: https://www.rfc-editor.org/rfc/rfc7606
//!
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! |   Withdrawn Routes (variable)                       |
//! |   Total Path Attribute Length (2 octets)            |
//! |   Path Attributes (variable)                        |
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Two representations: [`UpdateView`] validates the framing of a received
//! body once and iterates prefixes and attributes without allocating (the
//! hot path); [`Update`] is the owned form, built on the view. Outbound,
//! [`UpdateBuilder`] packs many prefixes per attribute set into PDUs of at
//! most the negotiated size.

mod builder;
pub(crate) mod error;
pub(crate) mod nlri_field;
#[cfg(test)]
mod tests;
mod view;

use bytes::{BufMut, BytesMut};

use crate::attr::{self, MpReachForm, NextHop, PathAttributes};
use crate::ctx::{DecodeCtx, EncodeCtx};
use crate::iana::MsgType;
use crate::nlri::{AfiSafi, Nlri};

pub use crate::attr::section::{AttrIter, AttrView};
pub use builder::{PduIter, UpdateBuilder};
pub use error::{NotificationData, UpdateError};
pub use nlri_field::NlriIter;
pub use view::{MpReachView, MpUnreachView, UpdateView};

/// Length of the BGP message header (RFC 4271 §4.1), bytes.
pub const HEADER_LEN: usize = 19;

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
    /// announced NLRI have been moved to the withdrawn lists (IPv4 NLRI to
    /// `withdrawn`, MP_REACH_NLRI to `mp_unreach`) and `attrs` is emptied;
    /// under attribute-discard the bad attributes are gone; under AFI/SAFI
    /// disable the MP attribute of the failing family (named by the
    /// error, [`UpdateError::family`]) is gone and the rest stands.
    pub update: Update,
    /// The most severe treatment any error called for.
    pub treatment: Treatment,
    /// Every error found, for logging (empty when `treatment` is Normal).
    pub errors: Vec<UpdateError>,
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
    /// An attribute value exceeds 65535 octets.
    #[error("attribute type {type_code} of {len} bytes exceeds 65535")]
    AttributeTooLong {
        /// Type code.
        type_code: u8,
        /// Value length (bytes).
        len: usize,
    },
    /// The route needs a next hop (MP_REACH_NLRI) and has none.
    #[error("no next hop for {0}")]
    MissingNextHop(AfiSafi),
    /// The next hop cannot be used for the family (an IPv4 next hop for
    /// IPv6 NLRI), or the family is not one this codec writes.
    #[error("next hop not usable for {0}")]
    NextHopFamily(AfiSafi),
}

impl Update {
    /// Decodes an UPDATE body (the bytes after the 19-byte header).
    ///
    /// Built on [`UpdateView`]: framing first, then the attribute section,
    /// then the missing well-known attribute check (RFC 7606 §3 d), then the
    /// treatment is applied as [`Decoded`] describes.
    ///
    /// # Errors
    /// `Err` only when RFC 7606 calls for a session reset; every other
    /// malformation is reported in [`Decoded::treatment`].
    pub fn decode(body: &[u8], ctx: &DecodeCtx) -> Result<Decoded, UpdateError> {
        let (mut d, nlri) = Self::decode_split(body, ctx)?;
        d.update.nlri = nlri.collect();
        Ok(d)
    }

    /// [`Update::decode`] with the NLRI field (IPv4 unicast
    /// announcements) left undecoded: the update's `nlri` is empty and the
    /// returned iterator, over `body`'s validated field, yields them. A
    /// receiver that hands each prefix on at once saves a list of them (a
    /// copy of every prefix, and an allocation per UPDATE). Under
    /// treat-as-withdraw the prefixes are already in `withdrawn` and the
    /// iterator is empty.
    ///
    /// # Errors
    /// As [`Update::decode`].
    pub fn decode_split<'a>(
        body: &'a [u8],
        ctx: &DecodeCtx,
    ) -> Result<(Decoded, NlriIter<'a>), UpdateError> {
        let view = UpdateView::parse(body, ctx)?;
        let mut report = error::Report::default();
        let section = attr::section::decode_section(
            view.attr_bytes(),
            view.attr_offset(),
            ctx,
            MpReachForm::Full,
            &mut report,
        );
        let mut withdrawn = Vec::with_capacity(view.withdrawn_count());
        withdrawn.extend(view.withdrawn());
        let mut update = Self {
            withdrawn,
            attrs: section.attrs,
            nlri: Vec::new(),
            mp_reach: section.mp_reach,
            mp_unreach: section.mp_unreach,
        };
        let mut nlri = view.nlri();
        let mp_nlri = update.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
        if let Some(e) = attr::missing_well_known(
            &update.attrs,
            section.as_path_seen,
            !nlri.is_empty(),
            mp_nlri,
        ) {
            report.push(Treatment::TreatAsWithdraw, e);
        }
        if let Some(e) = report.fatal {
            return Err(e);
        }
        if report.withdraw {
            update.withdrawn.extend(std::mem::take(&mut nlri));
            update.apply_withdraw();
        }
        Ok((
            Decoded {
                update,
                treatment: report.treatment,
                errors: report.errors,
            },
            nlri,
        ))
    }

    /// Treat-as-withdraw (RFC 7606 §2): "the UPDATE message [...] MUST be
    /// handled as though all contained routes had been withdrawn".
    ///
    /// MP_REACH_NLRI prefixes join `mp_unreach`; if that already holds
    /// another family (which RFC 7606 §5.1 says an UPDATE must not do) they
    /// are dropped rather than mixed.
    fn apply_withdraw(&mut self) {
        self.withdrawn.append(&mut self.nlri);
        if let Some(r) = self.mp_reach.take() {
            match &mut self.mp_unreach {
                Some(u) if u.family == r.family => u.withdrawn.extend(r.nlri),
                Some(_) => {}
                None => {
                    self.mp_unreach = Some(MpUnreach {
                        family: r.family,
                        withdrawn: r.nlri,
                    });
                }
            }
        }
        self.attrs = PathAttributes::default();
    }

    /// Encodes this update as one complete message (header included).
    ///
    /// IPv4 NLRI and withdrawals go in the NLRI / Withdrawn Routes fields,
    /// with path identifiers when `ctx.add_path(IPv4 unicast)`; MP
    /// attributes first, then the others in type code order
    /// ([`attr::encode_path_attributes`]). The update is written as given:
    /// "An UPDATE message MUST NOT contain more than one of the following:
    /// non-empty Withdrawn Routes field, non-empty Network Layer
    /// Reachability Information field, MP_REACH_NLRI attribute, and
    /// MP_UNREACH_NLRI attribute." (RFC 7606 §5.1) is the sender's to
    /// honour; [`UpdateBuilder`] does.
    ///
    /// # Errors
    /// [`EncodeError::TooLong`] when it exceeds `ctx.max_message_len()`
    /// (nothing is left in `out` then), [`EncodeError::AttributeTooLong`].
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        let start = out.len();
        let r = self.encode_inner(ctx, out, start);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn encode_inner(
        &self,
        ctx: &EncodeCtx,
        out: &mut BytesMut,
        start: usize,
    ) -> Result<(), EncodeError> {
        let add_path = ctx.add_path(AfiSafi::IPV4_UNICAST);
        put_header_placeholder(out);
        let withdrawn_at = out.len();
        out.put_u16(0);
        attr::mp::put_nlri(&self.withdrawn, add_path, out);
        patch_len(out, withdrawn_at)?;
        let attrs_at = out.len();
        out.put_u16(0);
        attr::encode_path_attributes(
            &self.attrs,
            self.mp_reach.as_ref(),
            self.mp_unreach.as_ref(),
            ctx,
            MpReachForm::Full,
            out,
        )?;
        patch_len(out, attrs_at)?;
        attr::mp::put_nlri(&self.nlri, add_path, out);
        finish_message(out, start, ctx.max_message_len())
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE
    /// for IPv4 unicast, an UPDATE holding only an empty MP_UNREACH_NLRI
    /// for any other family.
    #[must_use]
    pub fn end_of_rib(family: AfiSafi) -> Self {
        let mp_unreach = (family != AfiSafi::IPV4_UNICAST).then(|| MpUnreach {
            family,
            withdrawn: Vec::new(),
        });
        Self {
            mp_unreach,
            ..Self::default()
        }
    }

    /// The family this update marks the End-of-RIB of (RFC 4724 §2), if it
    /// is such a marker.
    #[must_use]
    pub fn end_of_rib_family(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.mp_reach.is_some()
            || self.attrs != PathAttributes::default()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some(AfiSafi::IPV4_UNICAST),
            Some(u) if u.withdrawn.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// True when this update is an End-of-RIB marker (RFC 4724 §2).
    #[must_use]
    pub fn is_end_of_rib(&self) -> bool {
        self.end_of_rib_family().is_some()
    }
}

/// Writes the 16-octet marker, a zero length and the UPDATE type.
pub(crate) fn put_header_placeholder(out: &mut BytesMut) {
    out.put_slice(&[0xFF; 16]);
    out.put_u16(0);
    out.put_u8(MsgType::Update.into());
}

/// Fills the 2-octet length at `at` with the bytes written after it.
pub(crate) fn patch_len(out: &mut BytesMut, at: usize) -> Result<(), EncodeError> {
    let len = out.len() - at - 2;
    let l = u16::try_from(len).map_err(|_| EncodeError::TooLong {
        len,
        max: usize::from(u16::MAX),
    })?;
    if let Some(s) = out.get_mut(at..at + 2) {
        s.copy_from_slice(&l.to_be_bytes());
    }
    Ok(())
}

/// Fills the message length of the message started at `start` and checks
/// it against `max`.
pub(crate) fn finish_message(
    out: &mut BytesMut,
    start: usize,
    max: usize,
) -> Result<(), EncodeError> {
    let len = out.len() - start;
    if len > max {
        return Err(EncodeError::TooLong { len, max });
    }
    let l = u16::try_from(len).map_err(|_| EncodeError::TooLong { len, max })?;
    if let Some(s) = out.get_mut(start + 16..start + 18) {
        s.copy_from_slice(&l.to_be_bytes());
    }
    Ok(())
}
