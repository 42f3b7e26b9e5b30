//! Zero-copy UPDATE view: framing validated once, then prefixes and
//! attributes iterated straight from the receive buffer.

use smallvec::SmallVec;

use super::UpdateError;
use super::nlri_field::{self, NlriIter};
use crate::attr::NextHop;
use crate::attr::mp;
use crate::attr::section::{self, AttrIter, AttrView, AttrsDecoded, MpReachForm};
use crate::ctx::DecodeCtx;
use crate::iana::{Afi, AttrType};
use crate::msg::update::error::Report;
use crate::nlri::AfiSafi;

/// A received UPDATE body, validated for framing and borrowed, not copied.
///
/// [`parse`](Self::parse) checks the Withdrawn Routes Length, the Total Path
/// Attribute Length, every prefix of the Withdrawn Routes and NLRI fields,
/// and the bounds of every attribute. After that the iterators do not fail
/// and do not allocate.
#[derive(Debug, Clone)]
pub struct UpdateView<'a> {
    withdrawn: &'a [u8],
    attrs: &'a [u8],
    nlri: &'a [u8],
    withdrawn_count: usize,
    nlri_count: usize,
    add_path_v4: bool,
    add_path: SmallVec<[AfiSafi; 2]>,
    overrun: Option<usize>,
    mp_reach: Option<AttrView<'a>>,
    mp_unreach: Option<AttrView<'a>>,
}

impl<'a> UpdateView<'a> {
    /// Validates the framing of an UPDATE body (the bytes after the
    /// 19-byte header).
    ///
    /// An attribute overrunning the section does not fail the parse (RFC
    /// 7606 §4 handles it by treat-as-withdraw): the attributes before it
    /// stay readable and [`overrun`](Self::overrun) reports it.
    ///
    /// # Errors
    /// The session-reset errors of the framing: [`UpdateError::WithdrawnLength`],
    /// [`UpdateError::AttributesLength`] (RFC 4271 §6.3, RFC 7606 §4) and
    /// [`UpdateError::InvalidNetworkField`] for a malformed prefix in the
    /// Withdrawn Routes or NLRI field (RFC 7606 §5.3).
    pub fn parse(body: &'a [u8], ctx: &DecodeCtx) -> Result<Self, UpdateError> {
        let (withdrawn, rest) = split_len(body).ok_or(UpdateError::WithdrawnLength {
            offset: 0,
            len: len_at(body),
        })?;
        let attrs_offset = 2 + withdrawn.len();
        let (attrs, nlri) = split_len(rest).ok_or(UpdateError::AttributesLength {
            offset: attrs_offset,
            len: len_at(rest),
        })?;
        let add_path_v4 = ctx.add_path(AfiSafi::IPV4_UNICAST);
        let bad = |offset| UpdateError::InvalidNetworkField {
            offset,
            family: AfiSafi::IPV4_UNICAST,
        };
        let withdrawn_count =
            nlri_field::validate(withdrawn, Afi::Ipv4, add_path_v4).map_err(|at| bad(2 + at))?;
        let nlri_offset = attrs_offset + 2 + attrs.len();
        let nlri_count = nlri_field::validate(nlri, Afi::Ipv4, add_path_v4)
            .map_err(|at| bad(nlri_offset + at))?;
        let mut view = Self {
            withdrawn,
            attrs,
            nlri,
            withdrawn_count,
            nlri_count,
            add_path_v4,
            add_path: ctx.add_path.clone(),
            overrun: None,
            mp_reach: None,
            mp_unreach: None,
        };
        for a in AttrIter::new(attrs, attrs_offset + 2) {
            match a {
                Ok(a) if a.type_code == u8::from(AttrType::MpReachNlri) => {
                    view.mp_reach.get_or_insert(a);
                }
                Ok(a) if a.type_code == u8::from(AttrType::MpUnreachNlri) => {
                    view.mp_unreach.get_or_insert(a);
                }
                Ok(_) => {}
                Err(UpdateError::AttributeOverrun { offset }) => view.overrun = Some(offset),
                Err(_) => {}
            }
        }
        Ok(view)
    }

    /// Withdrawn Routes (IPv4 unicast).
    #[must_use]
    pub fn withdrawn(&self) -> NlriIter<'a> {
        NlriIter::new(self.withdrawn, Afi::Ipv4, self.add_path_v4)
    }

    /// Number of prefixes in Withdrawn Routes.
    #[must_use]
    pub const fn withdrawn_count(&self) -> usize {
        self.withdrawn_count
    }

    /// NLRI field (IPv4 unicast).
    #[must_use]
    pub fn nlri(&self) -> NlriIter<'a> {
        NlriIter::new(self.nlri, Afi::Ipv4, self.add_path_v4)
    }

    /// Number of prefixes in the NLRI field.
    #[must_use]
    pub const fn nlri_count(&self) -> usize {
        self.nlri_count
    }

    /// The attributes as framed (flags, type, value), up to an overrun.
    pub fn attributes(&self) -> impl Iterator<Item = AttrView<'a>> + use<'a> {
        AttrIter::new(self.attrs, self.attr_offset()).map_while(Result::ok)
    }

    /// The whole path attribute section, for interning by raw bytes.
    #[must_use]
    pub const fn attr_bytes(&self) -> &'a [u8] {
        self.attrs
    }

    /// Offset of the attribute section in the body (bytes).
    #[must_use]
    pub const fn attr_offset(&self) -> usize {
        2 + self.withdrawn.len() + 2
    }

    /// The attribute overrunning the section, if one does (RFC 7606 §4:
    /// treat-as-withdraw).
    #[must_use]
    pub const fn overrun(&self) -> Option<UpdateError> {
        match self.overrun {
            Some(offset) => Some(UpdateError::AttributeOverrun { offset }),
            None => None,
        }
    }

    /// Decodes the attribute section into the owned form (RFC 7606
    /// handling as [`crate::attr::decode_path_attributes`]; offsets are
    /// relative to the body).
    ///
    /// # Errors
    /// Errors that require a session reset.
    pub fn decode_attributes(&self, ctx: &DecodeCtx) -> Result<AttrsDecoded, UpdateError> {
        let mut report = Report::default();
        let d = section::decode_section(
            self.attrs,
            self.attr_offset(),
            ctx,
            MpReachForm::Full,
            &mut report,
        );
        if let Some(e) = report.fatal {
            return Err(e);
        }
        Ok(AttrsDecoded {
            attrs: d.attrs,
            mp_reach: d.mp_reach,
            mp_unreach: d.mp_unreach,
            treatment: report.treatment,
            errors: report.errors,
            withdraw: report.withdraw,
        })
    }

    fn mp_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            add_path: self.add_path.clone(),
            ..DecodeCtx::modern()
        }
    }

    /// The first MP_REACH_NLRI, validated: family, next hop and an NLRI
    /// iterator.
    ///
    /// # Errors
    /// The attribute is malformed ([`UpdateError::family`] names the
    /// family to disable, RFC 7606 §7.11), or too short to name a family.
    pub fn mp_reach(&self) -> Result<Option<MpReachView<'a>>, UpdateError> {
        let Some(a) = self.mp_reach else {
            return Ok(None);
        };
        match mp::parse_reach(a.value, &self.mp_ctx()) {
            Ok(p) => Ok(Some(MpReachView {
                family: p.family,
                next_hop: p.next_hop,
                nlri: p.nlri,
                count: p.count,
            })),
            Err(f) => Err(f.into_error(&a).1),
        }
    }

    /// The first MP_UNREACH_NLRI, validated: family and an iterator over
    /// the withdrawn prefixes.
    ///
    /// # Errors
    /// As [`mp_reach`](Self::mp_reach).
    pub fn mp_unreach(&self) -> Result<Option<MpUnreachView<'a>>, UpdateError> {
        let Some(a) = self.mp_unreach else {
            return Ok(None);
        };
        match mp::parse_unreach(a.value, &self.mp_ctx()) {
            Ok((family, withdrawn, count)) => Ok(Some(MpUnreachView {
                family,
                withdrawn,
                count,
            })),
            Err(f) => Err(f.into_error(&a).1),
        }
    }

    /// The family this UPDATE marks the End-of-RIB of (RFC 4724 §2): an
    /// empty UPDATE for IPv4 unicast, or one whose only attribute is an
    /// MP_UNREACH_NLRI without prefixes.
    #[must_use]
    pub fn end_of_rib(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        if self.attrs.is_empty() {
            return Some(AfiSafi::IPV4_UNICAST);
        }
        let only = self.attributes().count() == 1;
        match self.mp_unreach() {
            Ok(Some(u)) if only && u.count == 0 => Some(u.family),
            _ => None,
        }
    }
}

/// Splits a 2-octet length and that many bytes off `buf`.
fn split_len(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = buf.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))
}

/// The 2-octet length at the start of `buf`, or its size when shorter.
fn len_at(buf: &[u8]) -> usize {
    buf.first_chunk::<2>()
        .map_or(buf.len(), |l| usize::from(u16::from_be_bytes(*l)))
}

/// A validated MP_REACH_NLRI (RFC 4760 §3), borrowed.
#[derive(Debug, Clone)]
pub struct MpReachView<'a> {
    /// Family of the NLRI.
    pub family: AfiSafi,
    /// Next hop for every NLRI.
    pub next_hop: NextHop,
    nlri: NlriIter<'a>,
    count: usize,
}

impl<'a> MpReachView<'a> {
    /// The announced NLRI.
    #[must_use]
    pub fn nlri(&self) -> NlriIter<'a> {
        self.nlri.clone()
    }

    /// Number of announced NLRI.
    #[must_use]
    pub const fn nlri_count(&self) -> usize {
        self.count
    }
}

/// A validated MP_UNREACH_NLRI (RFC 4760 §4), borrowed.
#[derive(Debug, Clone)]
pub struct MpUnreachView<'a> {
    /// Family of the withdrawn NLRI.
    pub family: AfiSafi,
    withdrawn: NlriIter<'a>,
    count: usize,
}

impl<'a> MpUnreachView<'a> {
    /// The withdrawn NLRI.
    #[must_use]
    pub fn withdrawn(&self) -> NlriIter<'a> {
        self.withdrawn.clone()
    }

    /// Number of withdrawn NLRI.
    #[must_use]
    pub const fn withdrawn_count(&self) -> usize {
        self.count
    }
}
