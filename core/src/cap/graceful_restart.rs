//! Graceful Restart capability ([RFC 4724 §3], N bit [RFC 8538 §2]).
//!
//! ```text
//! +--------------------------------------------------+
//! | Restart Flags (4 bits) | Restart Time (12 bits)  |
//! +--------------------------------------------------+
//! | AFI (16 bits)                                    |
//! | SAFI (8 bits)                                    |
//! | Flags for Address Family (8 bits)                |  (repeated)
//! +--------------------------------------------------+
//! ```
//!
//! [RFC 4724 §3]: https://www.rfc-editor.org/rfc/rfc4724#section-3
//! [RFC 8538 §2]: https://www.rfc-editor.org/rfc/rfc8538#section-2

use bytes::{BufMut, BytesMut};

use crate::nlri::AfiSafi;
use crate::wire::Reader;

const RESTART_STATE: u16 = 0x8000;
const NOTIFICATION: u16 = 0x4000;
const TIME_MASK: u16 = 0x0fff;
const FORWARDING: u8 = 0x80;

/// The Graceful Restart capability's content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted (RFC 4724 §3).
    pub restart_state: bool,
    /// N bit: the sender supports Graceful Restart for NOTIFICATION
    /// (RFC 8538 §2).
    pub notification: bool,
    /// Restart Time, seconds (12 bits: 0..=4095).
    pub restart_time: u16,
    /// Families with their F bit (forwarding state preserved).
    pub families: Vec<(AfiSafi, bool)>,
}

impl GracefulRestart {
    /// Decodes the capability value; `None` when malformed (shorter than 2
    /// bytes, or a partial family entry).
    pub(super) fn decode(value: &[u8]) -> Option<Self> {
        let mut r = Reader::new(value);
        let head = r.u16().ok()?;
        if !r.remaining().is_multiple_of(4) {
            return None;
        }
        let mut families = Vec::with_capacity(r.remaining() / 4);
        while !r.is_empty() {
            let afi = r.u16().ok()?;
            let safi = r.u8().ok()?;
            let flags = r.u8().ok()?;
            families.push((
                AfiSafi::new(afi.into(), safi.into()),
                flags & FORWARDING != 0,
            ));
        }
        Some(Self {
            restart_state: head & RESTART_STATE != 0,
            notification: head & NOTIFICATION != 0,
            restart_time: head & TIME_MASK,
            families,
        })
    }

    /// Encodes the value; a restart time above 4095 is clamped to 4095.
    pub(super) fn encode(&self, out: &mut BytesMut) {
        let mut head = self.restart_time.min(TIME_MASK);
        if self.restart_state {
            head |= RESTART_STATE;
        }
        if self.notification {
            head |= NOTIFICATION;
        }
        out.put_u16(head);
        for (family, forwarding) in &self.families {
            out.put_u16(family.afi.into());
            out.put_u8(family.safi.into());
            out.put_u8(if *forwarding { FORWARDING } else { 0 });
        }
    }
}
