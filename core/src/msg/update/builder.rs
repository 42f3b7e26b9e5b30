//! Outbound packing: many prefixes per attribute set, split into UPDATE
//! PDUs of at most the negotiated message size ([RFC 4271 §4.1], [RFC 8654]).
//!
//! [RFC 4271 §4.1]: https://www.rfc-editor.org/rfc/rfc4271#section-4.1
//! [RFC 8654]: https://www.rfc-editor.org/rfc/rfc8654
//!
//! IPv4 unicast prefixes with an IPv4 next hop go in the NLRI field; IPv6
//! prefixes, and IPv4 prefixes with an IPv6 next hop (RFC 8950), go in
//! MP_REACH_NLRI, written as the first attribute (RFC 7606 §5.1). Each PDU
//! carries one kind of change only: withdrawals or announcements
//! (RFC 7606 §5.1: "An UPDATE message MUST NOT contain more than one of
//! the following: non-empty Withdrawn Routes field, non-empty Network Layer
//! Reachability Information field, MP_REACH_NLRI attribute, and
//! MP_UNREACH_NLRI attribute.")

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::{EncodeError, HEADER_LEN, Update, finish_message, patch_len, put_header_placeholder};
use crate::attr::{self, MpReachForm, NextHop, PathAttributes, mp};
use crate::ctx::EncodeCtx;
use crate::iana::{Afi, AttrType, attr_flags};
use crate::nlri::{AfiSafi, Nlri};

/// Largest single NLRI on the wire: path id, length octet, 16 octets.
const MAX_NLRI_LEN: usize = 4 + 1 + 16;

#[derive(Debug, Clone)]
enum Job {
    Withdraw {
        family: AfiSafi,
        nlri: Vec<Nlri>,
    },
    Announce {
        /// Encoded attributes other than MP_REACH_NLRI: a range of the
        /// builder's attribute bytes.
        attrs: Range<usize>,
        family: AfiSafi,
        /// Next hop for MP_REACH_NLRI; `None` when the NLRI field is used.
        mp_next_hop: Option<NextHop>,
        /// A range of the builder's announced NLRI.
        nlri: Range<usize>,
    },
}

/// What the announcement jobs' ranges point into: every announcement's
/// encoded attributes and NLRI, one buffer each, so that queueing an
/// attribute set allocates nothing once the buffers have grown.
#[derive(Debug, Clone, Default)]
struct Announced {
    attrs: BytesMut,
    nlri: Vec<Nlri>,
}

impl Announced {
    /// The family and NLRI of `job`, and its encoded attributes (empty for
    /// a withdrawal).
    fn parts<'a>(&'a self, job: &'a Job) -> (AfiSafi, &'a [Nlri], &'a [u8]) {
        match job {
            Job::Withdraw { family, nlri } => (*family, nlri, &[]),
            Job::Announce {
                attrs,
                family,
                nlri,
                ..
            } => (
                *family,
                self.nlri.get(nlri.clone()).unwrap_or_default(),
                self.attrs.get(attrs.clone()).unwrap_or_default(),
            ),
        }
    }
}

/// Collects announcements and withdrawals for one peer (or update group)
/// and packs them into UPDATE PDUs.
///
/// ```
/// use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes};
/// use rampart_core::msg::update::UpdateBuilder;
/// use rampart_core::nlri::{AfiSafi, Nlri};
/// use rampart_core::EncodeCtx;
///
/// let attrs = PathAttributes {
///     origin: Some(Origin::Igp),
///     as_path: AsPath::from_sequence([64500]),
///     next_hop: Some(NextHop::V4("192.0.2.1".parse().unwrap())),
///     ..Default::default()
/// };
/// let mut b = UpdateBuilder::new(EncodeCtx::modern());
/// b.announce(&attrs, AfiSafi::IPV4_UNICAST, [Nlri::new("10.0.0.0/8".parse().unwrap())])
///     .unwrap();
/// let pdus: Vec<_> = b.into_pdu_iter().collect();
/// assert_eq!(pdus.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct UpdateBuilder {
    ctx: EncodeCtx,
    withdrawals: Vec<Job>,
    announcements: Vec<Job>,
    announced: Announced,
}

impl UpdateBuilder {
    /// An empty builder writing for a session with `ctx`.
    #[must_use]
    pub fn new(ctx: EncodeCtx) -> Self {
        Self {
            ctx,
            withdrawals: Vec::new(),
            announcements: Vec::new(),
            announced: Announced::default(),
        }
    }

    /// An empty builder with room for about `sets` attribute sets (each
    /// encoded in about 64 bytes) and `prefixes` announced NLRI, so that
    /// queueing a batch of known size does not grow its buffers step by
    /// step (each step a copy of everything queued so far).
    #[must_use]
    pub fn with_capacity(ctx: EncodeCtx, sets: usize, prefixes: usize) -> Self {
        Self {
            ctx,
            withdrawals: Vec::new(),
            announcements: Vec::with_capacity(sets),
            announced: Announced {
                attrs: BytesMut::with_capacity(sets * 64),
                nlri: Vec::with_capacity(prefixes),
            },
        }
    }

    /// Queues withdrawals of `nlri` in `family` (IPv4 unicast in the
    /// Withdrawn Routes field, others in MP_UNREACH_NLRI). Withdrawals of
    /// one family are packed together whatever the number of calls.
    pub fn withdraw(&mut self, family: AfiSafi, nlri: impl IntoIterator<Item = Nlri>) {
        let queued = self.withdrawals.iter_mut().find_map(|j| match j {
            Job::Withdraw { family: f, nlri } if *f == family => Some(nlri),
            _ => None,
        });
        match queued {
            Some(v) => v.extend(nlri),
            None => {
                let nlri: Vec<Nlri> = nlri.into_iter().collect();
                if !nlri.is_empty() {
                    self.withdrawals.push(Job::Withdraw { family, nlri });
                }
            }
        }
    }

    /// Queues `nlri` of `family` announced with `attrs`; the next hop is
    /// `attrs.next_hop`. The attributes are encoded once here.
    ///
    /// # Errors
    /// [`EncodeError::MissingNextHop`], [`EncodeError::NextHopFamily`] (an
    /// IPv4 next hop for IPv6, or a family this codec does not write), and
    /// [`EncodeError::TooLong`] when the attributes leave no room for a
    /// prefix.
    pub fn announce(
        &mut self,
        attrs: &PathAttributes,
        family: AfiSafi,
        nlri: impl IntoIterator<Item = Nlri>,
    ) -> Result<(), EncodeError> {
        let next_hop = attrs.next_hop.ok_or(EncodeError::MissingNextHop(family))?;
        // IPv4 unicast with an IPv4 next hop uses the NLRI field; every
        // other supported family (including IPv4 with an IPv6 next hop,
        // RFC 8950) uses MP_REACH_NLRI. An IPv4 next hop for IPv6 NLRI is
        // refused.
        let mp_next_hop = match (family, next_hop) {
            (f, NextHop::V4(_)) if f == AfiSafi::IPV4_UNICAST => None,
            (f, _) if !mp::family_supported(f) => {
                return Err(EncodeError::NextHopFamily(family));
            }
            (f, NextHop::V4(_)) if f.afi != Afi::Ipv4 => {
                return Err(EncodeError::NextHopFamily(family));
            }
            (_, nh) => Some(nh),
        };
        let Announced {
            attrs: bytes,
            nlri: queued,
        } = &mut self.announced;
        let start = bytes.len();
        // NEXT_HOP is written only for an IPv4 next hop, i.e. exactly when
        // the NLRI field is used.
        let encoded =
            attr::encode_path_attributes(attrs, None, None, &self.ctx, MpReachForm::Full, bytes);
        let len = bytes.len() - start;
        let overhead = HEADER_LEN + 4 + len + mp_overhead(mp_next_hop.as_ref());
        if let Err(e) = encoded {
            bytes.truncate(start);
            return Err(e);
        }
        if overhead + MAX_NLRI_LEN > self.ctx.max_message_len() {
            bytes.truncate(start);
            return Err(EncodeError::TooLong {
                len: overhead + MAX_NLRI_LEN,
                max: self.ctx.max_message_len(),
            });
        }
        let first = queued.len();
        queued.extend(nlri);
        // Consecutive calls with the same attributes and family share PDUs
        // (the last job's NLRI end where the new ones start).
        if let Some(Job::Announce {
            attrs: a,
            family: f,
            mp_next_hop: nh,
            nlri: range,
        }) = self.announcements.last_mut()
            && *f == family
            && *nh == mp_next_hop
            && bytes.get(a.clone()) == bytes.get(start..)
        {
            bytes.truncate(start);
            range.end = queued.len();
            return Ok(());
        }
        if queued.len() == first {
            bytes.truncate(start);
            return Ok(());
        }
        self.announcements.push(Job::Announce {
            attrs: start..bytes.len(),
            family,
            mp_next_hop,
            nlri: first..queued.len(),
        });
        Ok(())
    }

    /// The PDUs, withdrawals first, each a complete message of at most
    /// `ctx.max_message_len()` bytes.
    #[must_use]
    pub fn into_pdu_iter(mut self) -> PduIter {
        self.withdrawals.append(&mut self.announcements);
        PduIter {
            ctx: self.ctx,
            jobs: self.withdrawals.into_iter(),
            announced: self.announced,
            current: None,
        }
    }

    /// The PDUs of [`UpdateBuilder::into_pdu_iter`] back to back in one
    /// buffer: one allocation, and one buffer to share and to write, for
    /// a batch of any size.
    #[must_use]
    pub fn into_stream(self) -> Bytes {
        // Withdrawals first, as in `into_pdu_iter`, without joining the
        // job lists (a copy of every job).
        let jobs = || self.withdrawals.iter().chain(&self.announcements);
        let estimate = stream_estimate(jobs(), &self.announced);
        let mut out = BytesMut::with_capacity(estimate);
        for job in jobs() {
            let len = self.announced.parts(job).1.len();
            let mut pos = 0;
            // Bounded: every step takes at least one NLRI.
            while pos < len {
                let (_, n) = emit(&self.ctx, &self.announced, job, pos, &mut out);
                pos += n.max(1);
            }
        }
        out.freeze()
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2), encoded.
    ///
    /// # Errors
    /// None in practice: the marker is at most 30 bytes.
    pub fn end_of_rib(family: AfiSafi, ctx: &EncodeCtx) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(32);
        Update::end_of_rib(family).encode(ctx, &mut out)?;
        Ok(out.freeze())
    }
}

/// About the bytes [`UpdateBuilder::into_stream`] writes for `jobs`: each
/// NLRI (with room for a path id), and per job one PDU's header,
/// attributes and MP_REACH overhead (more PDUs per job are rare: a full PDU holds about
/// 800 IPv4 NLRI). Sizing the buffer once saves the copies of growing it.
fn stream_estimate<'a>(jobs: impl Iterator<Item = &'a Job>, announced: &Announced) -> usize {
    jobs.map(|job| {
        let (_, nlri, attrs) = announced.parts(job);
        let fixed = if matches!(job, Job::Withdraw { .. }) {
            64
        } else {
            128
        };
        fixed + attrs.len() + nlri.iter().map(|p| p.prefix.wire_len() + 4).sum::<usize>()
    })
    .sum()
}

/// Bytes MP_REACH_NLRI adds besides its NLRI (header with a 2-octet
/// length, AFI, SAFI, next hop length, next hop, reserved).
fn mp_overhead(nh: Option<&NextHop>) -> usize {
    nh.map_or(0, |nh| 4 + 5 + mp::next_hop_len(nh))
}

/// Iterator over packed UPDATE PDUs; see [`UpdateBuilder::into_pdu_iter`].
#[derive(Debug)]
pub struct PduIter {
    ctx: EncodeCtx,
    jobs: std::vec::IntoIter<Job>,
    announced: Announced,
    current: Option<(Job, usize)>,
}

/// How many NLRI from `pos` fit in `room` bytes (at least one), and the
/// bytes they take.
fn fit(nlri: &[Nlri], pos: usize, add_path: bool, room: usize) -> (usize, usize) {
    let extra = if add_path { 4 } else { 0 };
    let mut used = 0;
    let mut n = 0;
    for p in nlri.iter().skip(pos) {
        let l = p.prefix.wire_len() + extra;
        if used + l > room {
            break;
        }
        used += l;
        n += 1;
    }
    (n.max(1), used)
}

/// Appends the next PDU of `job` from NLRI `pos` to `out`; returns the
/// NLRI it took and whether the PDU was written (on an encoding error
/// `out` is left as it was).
fn emit(
    ctx: &EncodeCtx,
    announced: &Announced,
    job: &Job,
    pos: usize,
    out: &mut BytesMut,
) -> (bool, usize) {
    let base = out.len();
    let max = ctx.max_message_len();
    let (family, nlri, attrs) = announced.parts(job);
    let add_path = ctx.add_path(family);
    let fixed = match job {
        Job::Withdraw { .. } if family == AfiSafi::IPV4_UNICAST => HEADER_LEN + 4,
        Job::Withdraw { .. } => HEADER_LEN + 4 + 4 + 3,
        Job::Announce { mp_next_hop, .. } => {
            HEADER_LEN + 4 + attrs.len() + mp_overhead(mp_next_hop.as_ref())
        }
    };
    let (n, used) = fit(nlri, pos, add_path, max.saturating_sub(fixed));
    let chunk = nlri.get(pos..pos + n).unwrap_or_default();
    out.reserve(fixed + used);
    put_header_placeholder(out);
    out.put_u16(0);
    let ok = match job {
        Job::Withdraw { .. } if family == AfiSafi::IPV4_UNICAST => {
            mp::put_nlri(chunk, add_path, out);
            let ok = patch_len(out, base + HEADER_LEN).is_ok();
            out.put_u16(0);
            ok
        }
        Job::Withdraw { .. } => {
            out.put_u16(0);
            let t = AttrType::MpUnreachNlri;
            let ok = put_mp(out, t, family, None, chunk, add_path);
            ok && patch_len(out, base + HEADER_LEN + 2).is_ok()
        }
        Job::Announce { mp_next_hop, .. } => {
            out.put_u16(0);
            let mut ok = true;
            if let Some(nh) = mp_next_hop {
                let t = AttrType::MpReachNlri;
                ok = put_mp(out, t, family, Some(nh), chunk, add_path);
            }
            out.put_slice(attrs);
            ok &= patch_len(out, base + HEADER_LEN + 2).is_ok();
            if mp_next_hop.is_none() {
                mp::put_nlri(chunk, add_path, out);
            }
            ok
        }
    };
    let ok = ok && finish_message(out, base, max).is_ok();
    if !ok {
        out.truncate(base);
    }
    (ok, n)
}

/// Writes an MP_REACH_NLRI (with `nh`) or MP_UNREACH_NLRI attribute.
fn put_mp(
    out: &mut BytesMut,
    t: AttrType,
    family: AfiSafi,
    nh: Option<&NextHop>,
    nlri: &[Nlri],
    add_path: bool,
) -> bool {
    let nh_part = nh.map_or(0, |nh| 2 + mp::next_hop_len(nh));
    let len = 3 + nh_part + mp::nlri_len(nlri, add_path);
    if len > usize::from(u16::MAX) {
        return false;
    }
    if len > 255 {
        out.put_slice(&[attr_flags::OPTIONAL | attr_flags::EXTENDED_LENGTH, t.into()]);
        #[allow(clippy::cast_possible_truncation)] // checked above
        out.put_u16(len as u16);
    } else {
        #[allow(clippy::cast_possible_truncation)] // checked above
        out.put_slice(&[attr_flags::OPTIONAL, t.into(), len as u8]);
    }
    out.put_u16(family.afi.into());
    out.put_u8(family.safi.into());
    if let Some(nh) = nh {
        #[allow(clippy::cast_possible_truncation)] // 4, 16 or 32
        out.put_u8(mp::next_hop_len(nh) as u8);
        mp::put_next_hop(nh, out);
        out.put_u8(0);
    }
    mp::put_nlri(nlri, add_path, out);
    true
}

impl Iterator for PduIter {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        // Bounded: every step consumes at least one NLRI or one job.
        loop {
            let (job, pos) = match self.current.take() {
                Some(c) => c,
                None => (self.jobs.next()?, 0),
            };
            let len = self.announced.parts(&job).1.len();
            if pos >= len {
                continue;
            }
            let mut out = BytesMut::new();
            let (written, n) = emit(&self.ctx, &self.announced, &job, pos, &mut out);
            self.current = Some((job, pos + n));
            if written {
                return Some(out.freeze());
            }
        }
    }
}
