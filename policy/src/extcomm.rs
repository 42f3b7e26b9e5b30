//! Extended communities in the language: route target (`rt:`) and route
//! origin (`soo:`) in their AS and IPv4 forms (RFC 4360 §4, §5; four-octet
//! AS form RFC 5668 §2).

use std::net::Ipv4Addr;

use rampart_core::attr::ExtCommunity;

/// Which extended community: RFC 4360 §4 sub-types 0x02 and 0x03.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtKind {
    RouteTarget,
    RouteOrigin,
}

/// The global administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Global {
    As(u32),
    Ip(Ipv4Addr),
}

/// A pattern `rt:G:L` / `soo:G:L`; `None` parts are the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtPat {
    pub(crate) kind: ExtKind,
    pub(crate) global: Option<Global>,
    pub(crate) local: Option<u32>,
}

/// Decodes the kinds the language knows; others are `None`.
fn decode(c: &ExtCommunity) -> Option<(ExtKind, Global, u32)> {
    let [t, st, a, b, c2, d, e, f] = c.0;
    let kind = match st {
        0x02 => ExtKind::RouteTarget,
        0x03 => ExtKind::RouteOrigin,
        _ => return None,
    };
    // The transitive bit (0x40) does not change the meaning.
    match t & !0x40 {
        0x00 => Some((
            kind,
            Global::As(u32::from(u16::from_be_bytes([a, b]))),
            u32::from_be_bytes([c2, d, e, f]),
        )),
        0x01 => Some((
            kind,
            Global::Ip(Ipv4Addr::new(a, b, c2, d)),
            u32::from(u16::from_be_bytes([e, f])),
        )),
        0x02 => Some((
            kind,
            Global::As(u32::from_be_bytes([a, b, c2, d])),
            u32::from(u16::from_be_bytes([e, f])),
        )),
        _ => None,
    }
}

impl ExtPat {
    /// Parses `rt:65000:100`, `soo:192.0.2.1:7`, `rt:65000:*`, `rt:*:*`.
    pub(crate) fn parse(w: &str) -> Option<Self> {
        let (kind, rest) = if let Some(r) = w.strip_prefix("rt:") {
            (ExtKind::RouteTarget, r)
        } else {
            (ExtKind::RouteOrigin, w.strip_prefix("soo:")?)
        };
        let (g, l) = rest.rsplit_once(':')?;
        let global = match g {
            "*" => None,
            _ if g.contains('.') => Some(Global::Ip(g.parse().ok()?)),
            _ => Some(Global::As(g.parse().ok()?)),
        };
        let local = match l {
            "*" => None,
            _ => Some(l.parse().ok()?),
        };
        Some(Self {
            kind,
            global,
            local,
        })
    }

    pub(crate) fn matches(self, c: &ExtCommunity) -> bool {
        decode(c).is_some_and(|(k, g, l)| {
            k == self.kind
                && self.global.is_none_or(|x| x == g)
                && self.local.is_none_or(|x| x == l)
        })
    }

    /// The wire form of an exact pattern (transitive). A 2-octet AS takes
    /// the 4-octet local form; a 4-octet AS or an IPv4 global needs the local
    /// part to fit 16 bits. `None` for wildcards or a local part too large.
    pub(crate) fn encode(self) -> Option<ExtCommunity> {
        let st = match self.kind {
            ExtKind::RouteTarget => 0x02,
            ExtKind::RouteOrigin => 0x03,
        };
        let local = self.local?;
        let mut v = [0u8; 8];
        v[1] = st;
        match self.global? {
            Global::As(asn) if asn <= 0xFFFF => {
                v[0] = 0x00;
                v[2..4].copy_from_slice(&u16::try_from(asn).ok()?.to_be_bytes());
                v[4..8].copy_from_slice(&local.to_be_bytes());
            }
            Global::As(asn) => {
                v[0] = 0x02;
                v[2..6].copy_from_slice(&asn.to_be_bytes());
                v[6..8].copy_from_slice(&u16::try_from(local).ok()?.to_be_bytes());
            }
            Global::Ip(ip) => {
                v[0] = 0x01;
                v[2..6].copy_from_slice(&ip.octets());
                v[6..8].copy_from_slice(&u16::try_from(local).ok()?.to_be_bytes());
            }
        }
        Some(ExtCommunity(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_match() {
        for w in ["rt:65000:100", "soo:4200000000:7", "rt:192.0.2.1:9"] {
            let p = ExtPat::parse(w).unwrap();
            let c = p.encode().unwrap();
            assert!(p.matches(&c), "{w}");
            assert!(ExtPat::parse("rt:*:*").unwrap().matches(&c) == w.starts_with("rt"));
        }
        assert_eq!(
            ExtPat::parse("rt:65000:100").unwrap().encode().unwrap().0,
            [0x00, 0x02, 0xFD, 0xE8, 0, 0, 0, 100]
        );
        assert!(
            ExtPat::parse("rt:4200000000:70000")
                .unwrap()
                .encode()
                .is_none()
        );
        assert!(ExtPat::parse("rt:65000:*").unwrap().encode().is_none());
        assert!(ExtPat::parse("xx:1:2").is_none());
        // The 4-octet AS encoding of a small AS still matches the pattern.
        let c = ExtCommunity([0x02, 0x02, 0, 0, 0xFD, 0xE8, 0, 5]);
        assert!(ExtPat::parse("rt:65000:5").unwrap().matches(&c));
        assert!(!ExtPat::parse("soo:65000:5").unwrap().matches(&c));
    }
}
