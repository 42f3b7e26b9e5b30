//! BGP Role capability ([RFC 9234 §4.1]) and the role pairing check
//! ([RFC 9234 §4.2]).
//!
//! [RFC 9234 §4.1]: https://www.rfc-editor.org/rfc/rfc9234#section-4.1
//! [RFC 9234 §4.2]: https://www.rfc-editor.org/rfc/rfc9234#section-4.2

/// A BGP Role value (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 0: Provider.
    Provider,
    /// 1: Route Server.
    RouteServer,
    /// 2: Route Server Client.
    RouteServerClient,
    /// 3: Customer.
    Customer,
    /// 4: Peer (lateral peer).
    Peer,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Role {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Provider,
            1 => Self::RouteServer,
            2 => Self::RouteServerClient,
            3 => Self::Customer,
            4 => Self::Peer,
            other => Self::Unknown(other),
        }
    }
}

impl From<Role> for u8 {
    fn from(v: Role) -> Self {
        match v {
            Role::Provider => 0,
            Role::RouteServer => 1,
            Role::RouteServerClient => 2,
            Role::Customer => 3,
            Role::Peer => 4,
            Role::Unknown(other) => other,
        }
    }
}

impl Role {
    /// True when a local role and a remote role form one of the allowed
    /// pairs of RFC 9234 §4.2, Table 2: Provider–Customer, Customer–Provider,
    /// RS–RS-Client, RS-Client–RS, Peer–Peer.
    #[must_use]
    pub const fn pairs_with(self, remote: Self) -> bool {
        matches!(
            (self, remote),
            (Self::Provider, Self::Customer)
                | (Self::Customer, Self::Provider)
                | (Self::RouteServer, Self::RouteServerClient)
                | (Self::RouteServerClient, Self::RouteServer)
                | (Self::Peer, Self::Peer)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_symmetric_and_exact() {
        let all: Vec<Role> = (0..=5).map(Role::from).collect();
        let mut count = 0;
        for &a in &all {
            for &b in &all {
                assert_eq!(a.pairs_with(b), b.pairs_with(a));
                count += usize::from(a.pairs_with(b));
            }
        }
        assert_eq!(count, 5);
        assert!(Role::RouteServer.pairs_with(Role::RouteServerClient));
        assert!(!Role::RouteServer.pairs_with(Role::RouteServer));
    }
}
