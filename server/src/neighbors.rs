//! Which configured neighbor an incoming connection belongs to.
//!
//! A connection from an address that is a static peer gets that peer; else
//! the first template whose range contains the address gets it, while the
//! template is under its session cap; anything else is refused at accept and
//! counted. The AS check of a dynamic neighbor happens later, on its OPEN
//! (the template's AS range goes to the session FSM).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::Config;

/// Where an incoming connection goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The static peer at this index of `Config::peers`.
    Static(usize),
    /// A dynamic neighbor of the template at this index of
    /// `Config::templates`; the caller must call
    /// [`NeighborTable::release`] with the template's name when the
    /// session ends.
    Dynamic(usize),
}

/// Why an incoming connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No static peer and no template range covers the address.
    #[error("no neighbor or template matches the address")]
    Unknown,
    /// The matching template already holds `max-sessions` sessions.
    #[error("template is at its session cap")]
    TemplateFull,
}

/// Static peers by address and templates in file order, with live session
/// counts per template and refusal counters.
#[derive(Debug, Default)]
pub struct NeighborTable {
    statics: HashMap<IpAddr, usize>,
    templates: Vec<(ipnet::IpNet, Option<u32>)>,
    names: Vec<String>,
    sessions: Vec<u32>,
    refused_unknown: u64,
    refused_full: u64,
}

impl NeighborTable {
    /// Builds the table from a validated config.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        Self {
            statics: config
                .peers
                .iter()
                .enumerate()
                .map(|(i, p)| (p.address, i))
                .collect(),
            templates: config
                .templates
                .iter()
                .map(|t| (t.range, t.max_sessions))
                .collect(),
            names: config.templates.iter().map(|t| t.name.clone()).collect(),
            sessions: vec![0; config.templates.len()],
            ..Self::default()
        }
    }

    /// Takes a reloaded config's peers and templates; live session counts
    /// follow their template by name, refusal counters stay.
    pub fn reconfigure(&mut self, config: &Config) {
        let mut next = Self::new(config);
        for (name, count) in self.names.iter().zip(&self.sessions) {
            if let Some(i) = next.names.iter().position(|n| n == name)
                && let Some(c) = next.sessions.get_mut(i)
            {
                *c = *count;
            }
        }
        next.refused_unknown = self.refused_unknown;
        next.refused_full = self.refused_full;
        *self = next;
    }

    /// Classifies a connection from `addr` and, for a dynamic neighbor,
    /// takes a slot in its template.
    ///
    /// # Errors
    /// [`Refusal`] when the connection must be refused; it is counted.
    pub fn admit(&mut self, addr: IpAddr) -> Result<Match, Refusal> {
        let addr = canonical(addr);
        if let Some(&i) = self.statics.get(&addr) {
            return Ok(Match::Static(i));
        }
        let Some(i) = self
            .templates
            .iter()
            .position(|(range, _)| range.contains(&addr))
        else {
            self.refused_unknown += 1;
            return Err(Refusal::Unknown);
        };
        let (_, cap) = self.templates.get(i).copied().ok_or(Refusal::Unknown)?;
        let Some(count) = self.sessions.get_mut(i) else {
            return Err(Refusal::Unknown);
        };
        if cap.is_some_and(|cap| *count >= cap) {
            self.refused_full += 1;
            return Err(Refusal::TemplateFull);
        }
        *count += 1;
        Ok(Match::Dynamic(i))
    }

    /// Gives back the slot a dynamic neighbor of template `name` held (a
    /// template gone in a reload has no slots left to give back).
    pub fn release(&mut self, name: &str) {
        let i = self.names.iter().position(|n| n == name);
        if let Some(c) = i.and_then(|i| self.sessions.get_mut(i)) {
            *c = c.saturating_sub(1);
        }
    }

    /// Live sessions per template, in `Config::templates` order.
    #[must_use]
    pub fn sessions(&self) -> &[u32] {
        &self.sessions
    }

    /// Connections refused so far: (no match, template full).
    #[must_use]
    pub fn refused(&self) -> (u64, u64) {
        (self.refused_unknown, self.refused_full)
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack listener) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn table() -> NeighborTable {
        let src = r#"
[global]
router-id = "192.0.2.1"
local-as = 64500
[[peer]]
address = "10.20.0.5"
remote-as = 64501
role = "rs-client"
[[template]]
name = "small"
range = "10.20.0.0/30"
remote-as = 64510
role = "rs-client"
max-sessions = 1
[[template]]
name = "tenants"
range = "10.20.0.0/16"
remote-as = "64512-65534"
role = "rs-client"
[[template]]
name = "v6"
range = "2001:db8:20::/48"
remote-as = 64520
role = "rr-client"
"#;
        NeighborTable::new(&Config::parse(Path::new("t.toml"), src).unwrap())
    }

    #[test]
    fn static_peer_wins_over_a_covering_range() {
        let mut t = table();
        assert_eq!(t.admit("10.20.0.5".parse().unwrap()), Ok(Match::Static(0)));
        assert_eq!(
            t.admit("::ffff:10.20.0.5".parse().unwrap()),
            Ok(Match::Static(0))
        );
    }

    #[test]
    fn first_matching_template_until_its_cap_then_refused() {
        let mut t = table();
        assert_eq!(t.admit("10.20.0.1".parse().unwrap()), Ok(Match::Dynamic(0)));
        assert_eq!(
            t.admit("10.20.0.2".parse().unwrap()),
            Err(Refusal::TemplateFull)
        );
        t.release("small");
        assert_eq!(t.admit("10.20.0.2".parse().unwrap()), Ok(Match::Dynamic(0)));
        assert_eq!(t.admit("10.20.9.9".parse().unwrap()), Ok(Match::Dynamic(1)));
        assert_eq!(
            t.admit("2001:db8:20::7".parse().unwrap()),
            Ok(Match::Dynamic(2))
        );
        assert_eq!(t.sessions(), &[1, 1, 1]);
        assert_eq!(t.refused(), (0, 1));
    }

    #[test]
    fn outside_every_range_is_refused_and_counted() {
        let mut t = table();
        assert_eq!(t.admit("10.21.0.1".parse().unwrap()), Err(Refusal::Unknown));
        assert_eq!(
            t.admit("2001:db8:21::1".parse().unwrap()),
            Err(Refusal::Unknown)
        );
        assert_eq!(t.refused(), (2, 0));
    }
}
