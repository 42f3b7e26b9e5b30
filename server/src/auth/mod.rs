//! Authentication and hardening of BGP's TCP connections: TCP-MD5
//! (RFC 2385), TCP-AO (RFC 5925 with the RFC 5926 algorithms) and GTSM
//! (RFC 5082), set through Linux socket options.
//!
//! Keys go on a listening socket before `listen()` (one per static peer and
//! one per dynamic-neighbor range, in the kernel's address/prefix-length
//! form; accepted sockets inherit them) and on a connecting socket before
//! `connect()`. Any failure is an error naming the peer and the missing
//! kernel feature: there is never a silent downgrade to a weaker or no
//! authentication.
//!
//! Secrets live in [`Secret`], whose `Debug` prints no byte of them, so
//! they reach no log, `rampartctl` output or metric.

mod ao;
mod counters;
mod sys;

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::SystemTime;

use ipnet::IpNet;

pub use ao::{
    AoInfo, AoKeyState, AoPending, ao_add_key, ao_del_key, ao_info, ao_keys, ao_reconcile,
    ao_set_current_rnext, ao_supported,
};
pub use counters::TcpAuthCounters;

/// A key's bytes. `Debug` shows only that it is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps key bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A TCP-AO MAC algorithm (RFC 5926 §3.1, plus HMAC-SHA-256 as Linux
/// offers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AoAlgorithm {
    /// HMAC-SHA-1-96 (RFC 5926), config name `hmac-sha1`.
    HmacSha1,
    /// AES-128-CMAC-96 (RFC 5926), config name `cmac-aes128`.
    CmacAes128,
    /// HMAC-SHA-256, MAC truncated to 96 bits, config name `hmac-sha256`.
    HmacSha256,
}

impl AoAlgorithm {
    /// From the configuration name (`hmac-sha1`, `cmac-aes128`, `hmac-sha256`).
    #[must_use]
    pub fn from_config_name(s: &str) -> Option<Self> {
        match s {
            "hmac-sha1" => Some(Self::HmacSha1),
            "cmac-aes128" => Some(Self::CmacAes128),
            "hmac-sha256" => Some(Self::HmacSha256),
            _ => None,
        }
    }

    /// The Linux crypto API name passed in `tcp_ao_add.alg_name`.
    #[must_use]
    pub fn kernel_name(self) -> &'static str {
        match self {
            Self::HmacSha1 => "hmac(sha1)",
            Self::CmacAes128 => "cmac(aes128)",
            Self::HmacSha256 => "hmac(sha256)",
        }
    }
}

/// One TCP-AO Master Key Tuple (RFC 5925 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AoKey {
    /// SendID: the KeyID we put in our segments.
    pub send_id: u8,
    /// RecvID: the KeyID the peer puts in its segments.
    pub recv_id: u8,
    /// MAC algorithm.
    pub algorithm: AoAlgorithm,
    /// Master key, 1..=80 bytes.
    pub secret: Secret,
    /// Not installed before this time.
    pub valid_from: Option<SystemTime>,
    /// Not installed from this time on.
    pub valid_until: Option<SystemTime>,
}

impl AoKey {
    /// Whether the key's validity window contains `now`.
    #[must_use]
    pub fn valid_at(&self, now: SystemTime) -> bool {
        self.valid_from.is_none_or(|t| t <= now) && self.valid_until.is_none_or(|t| now < t)
    }
}

/// A peer's TCP-AO key chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AoConfig {
    /// The MKTs; SendIDs are unique, RecvIDs are unique.
    pub keys: Vec<AoKey>,
    /// SendID of the key to send with; default the first valid key.
    pub current: Option<u8>,
    /// RecvID to ask the peer to send with (RNextKeyID); default the first
    /// valid key's.
    pub rnext: Option<u8>,
}

/// A peer's (or template's) authentication and TTL security settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// TCP-MD5 key (RFC 2385).
    pub md5: Option<Secret>,
    /// TCP-AO key chain (RFC 5925).
    pub ao: Option<AoConfig>,
    /// GTSM (RFC 5082): router hops allowed between us and the peer (0 =
    /// directly connected); we send with TTL 255 and accept TTL ≥ 255 − hops.
    pub ttl_security: Option<u8>,
}

impl AuthConfig {
    /// A short label for `show peers`: `md5`, `ao`, `none`, with `+gtsm`.
    #[must_use]
    pub fn label(&self) -> String {
        let base = match (&self.md5, &self.ao) {
            (Some(_), _) => "md5",
            (None, Some(_)) => "tcp-ao",
            (None, None) => "none",
        };
        match self.ttl_security {
            Some(h) => format!("{base}+gtsm({h})"),
            None => base.to_string(),
        }
    }
}

/// The kernel feature a socket option belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// TCP-MD5 signatures (RFC 2385).
    Md5,
    /// TCP Authentication Option (RFC 5925).
    Ao,
    /// Generalized TTL Security (RFC 5082).
    Gtsm,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Md5 => "TCP-MD5",
            Self::Ao => "TCP-AO",
            Self::Gtsm => "GTSM",
        })
    }
}

/// A socket option for a peer's authentication could not be set.
#[derive(Debug, thiserror::Error)]
#[error("peer {peer}: cannot set up {feature}: {}", explain(.feature, .source))]
pub struct AuthError {
    /// The peer address or dynamic-neighbor range.
    pub peer: IpNet,
    /// What was being set.
    pub feature: Feature,
    /// The kernel's answer.
    #[source]
    pub source: io::Error,
}

fn explain(feature: &Feature, e: &io::Error) -> String {
    let errno = e.raw_os_error();
    match (*feature, errno) {
        (Feature::Ao, Some(libc::ENOPROTOOPT)) => "kernel lacks TCP-AO (CONFIG_TCP_AO)".into(),
        (Feature::Md5, Some(libc::ENOPROTOOPT)) => {
            "kernel lacks TCP-MD5 (CONFIG_TCP_MD5SIG)".into()
        }
        (Feature::Gtsm, Some(libc::ENOPROTOOPT)) => {
            "kernel lacks IP_MINTTL / IPV6_MINHOPCOUNT".into()
        }
        (Feature::Ao, Some(libc::ENOENT)) => {
            "kernel lacks the MAC algorithm (crypto API hmac/sha1/sha256/cmac/aes)".into()
        }
        (_, Some(libc::EKEYREJECTED)) => "an MD5 and a TCP-AO key overlap on this socket \
             (RFC 5925 §7.7: not both on one connection)"
            .into(),
        _ => e.to_string(),
    }
}

fn err(peer: IpNet, feature: Feature) -> impl FnOnce(io::Error) -> AuthError {
    move |source| AuthError {
        peer,
        feature,
        source,
    }
}

/// The one-address prefix of `ip`.
#[must_use]
pub fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

/// Sets (or with an empty key, removes) the TCP-MD5 key for every address
/// of `peer` on `sock`, through `TCP_MD5SIG_EXT` with
/// `TCP_MD5SIG_FLAG_PREFIX`.
///
/// RFC 2385 §2.0: "Every segment sent on a TCP connection to be protected
/// against spoofing will contain the 16-byte MD5 digest".
///
/// # Errors
/// [`AuthError`] naming `peer`, e.g. "kernel lacks TCP-MD5" on ENOPROTOOPT.
pub fn md5_set(sock: &impl AsFd, peer: IpNet, key: &Secret) -> Result<(), AuthError> {
    let bytes = key.expose();
    if bytes.len() > sys::MAX_KEY_LEN {
        return Err(err(peer, Feature::Md5)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "key longer than 80 bytes",
        )));
    }
    let mut m = <sys::TcpMd5Sig as sys::Zeroed>::zeroed();
    m.addr = sys::sockaddr(peer.addr());
    m.flags = sys::TCP_MD5SIG_FLAG_PREFIX;
    m.prefixlen = peer.prefix_len();
    m.keylen = bytes.len() as u16;
    m.key[..bytes.len()].copy_from_slice(bytes);
    sys::setsockopt(sock, libc::IPPROTO_TCP, sys::TCP_MD5SIG_EXT, &m)
        .map_err(err(peer, Feature::Md5))
}

/// Adds every key of `ao` valid at `now` for `peer` on `sock`. On a
/// socket that is not listening, the configured current and RNext keys are
/// selected too (a listening socket has none: accepted connections take
/// the key the peer's SYN asks for).
///
/// # Errors
/// [`AuthError`] naming `peer`; "kernel lacks TCP-AO (CONFIG_TCP_AO)" when
/// the kernel has no TCP-AO; an error when no key is valid at `now`.
pub fn ao_set(
    sock: &impl AsFd,
    peer: IpNet,
    ao: &AoConfig,
    listening: bool,
    now: SystemTime,
) -> Result<(), AuthError> {
    let valid: Vec<&AoKey> = ao.keys.iter().filter(|k| k.valid_at(now)).collect();
    let Some(first) = valid.first() else {
        return Err(err(peer, Feature::Ao)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no TCP-AO key is valid now (valid-from/valid-until)",
        )));
    };
    let current = ao
        .current
        .filter(|c| valid.iter().any(|k| k.send_id == *c))
        .unwrap_or(first.send_id);
    let rnext = ao
        .rnext
        .filter(|r| valid.iter().any(|k| k.recv_id == *r))
        .unwrap_or(first.recv_id);
    for k in valid {
        let (c, r) = if listening {
            (false, false)
        } else {
            (k.send_id == current, k.recv_id == rnext)
        };
        ao_add_key(sock, peer, k, c, r)?;
    }
    Ok(())
}

/// GTSM on `sock` (RFC 5082 §3): send with TTL / hop limit 255 and drop
/// what arrives with less than 255 − `hops`.
///
/// RFC 5082 §3: "GTSM-enabled ... the TTL field of all IP packets used for
/// the transport protocol connection MUST be set to 255" and "a packet
/// [...] with a TTL less than the configured minimum MUST be discarded".
///
/// # Errors
/// [`AuthError`] naming `peer` when the kernel refuses an option.
pub fn gtsm_set(sock: &impl AsFd, peer: IpNet, v6: bool, hops: u8) -> Result<(), AuthError> {
    gtsm_send_255(sock, peer, v6)?;
    let min = 255 - i32::from(hops);
    let (level, opt) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
    } else {
        (libc::IPPROTO_IP, libc::IP_MINTTL)
    };
    sys::set_int(sock, level, opt, min).map_err(err(peer, Feature::Gtsm))
}

/// Outgoing TTL / hop limit 255 only (a listening socket's SYN-ACKs).
///
/// # Errors
/// [`AuthError`] naming `peer`.
pub fn gtsm_send_255(sock: &impl AsFd, peer: IpNet, v6: bool) -> Result<(), AuthError> {
    let (level, opt) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TTL)
    };
    sys::set_int(sock, level, opt, 255).map_err(err(peer, Feature::Gtsm))
}

/// The GTSM values on a socket: (outgoing TTL / hop limit, minimum
/// accepted TTL / hop count).
///
/// # Errors
/// The kernel's error.
pub fn gtsm_get(sock: &impl AsFd, v6: bool) -> io::Result<(i32, i32)> {
    if v6 {
        Ok((
            sys::get_int(sock, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)?,
            sys::get_int(sock, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)?,
        ))
    } else {
        Ok((
            sys::get_int(sock, libc::IPPROTO_IP, libc::IP_TTL)?,
            sys::get_int(sock, libc::IPPROTO_IP, libc::IP_MINTTL)?,
        ))
    }
}

/// Everything `auth` asks for on a socket that will `connect()` to `peer`:
/// call before `connect()`.
///
/// # Errors
/// [`AuthError`] naming the peer and the feature.
pub fn apply_connect(
    sock: &impl AsFd,
    peer: IpAddr,
    auth: &AuthConfig,
    now: SystemTime,
) -> Result<(), AuthError> {
    let net = host_net(peer);
    if let Some(k) = &auth.md5 {
        md5_set(sock, net, k)?;
    }
    if let Some(ao) = &auth.ao {
        ao_set(sock, net, ao, false, now)?;
    }
    if let Some(h) = auth.ttl_security {
        gtsm_set(sock, net, peer.is_ipv6(), h)?;
    }
    Ok(())
}

/// The address family of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenFamily {
    /// An IPv4 socket.
    V4,
    /// An IPv6 socket bound to a specific address: IPv6 peers only.
    V6,
    /// An IPv6 socket bound to `::` without IPV6_V6ONLY: IPv6 peers and
    /// IPv4 peers as IPv4-mapped addresses.
    DualStack,
}

impl ListenFamily {
    /// The family of a socket bound to `addr` (IPV6_V6ONLY off).
    #[must_use]
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(a) if a.is_unspecified() => Self::DualStack,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// `net` as this socket sees it: IPv4 on a dual-stack socket becomes
    /// `::ffff:a.b.c.d` with the IPv4 prefix length (the form Linux takes
    /// for TCP_MD5SIG_EXT and TCP_AO_ADD_KEY there); None when the socket
    /// cannot carry the family.
    pub fn view(self, net: IpNet) -> Option<IpNet> {
        match (self, net) {
            (Self::V4, IpNet::V4(_)) | (Self::V6 | Self::DualStack, IpNet::V6(_)) => Some(net),
            (Self::DualStack, IpNet::V4(n)) => {
                ipnet::Ipv6Net::new(n.addr().to_ipv6_mapped(), n.prefix_len())
                    .ok()
                    .map(IpNet::V6)
            }
            _ => None,
        }
    }
}

/// Keys for every peer and range in `entries` the socket can carry, on a
/// socket that will `listen()`: call before `listen()`. A socket with any
/// GTSM entry sends with TTL 255 (its SYN-ACKs must reach a GTSM peer);
/// the minimum TTL is set per connection by [`apply_accepted`].
///
/// # Errors
/// The first [`AuthError`], naming its peer or range.
pub fn apply_listener<'a>(
    sock: &impl AsFd,
    family: ListenFamily,
    entries: impl IntoIterator<Item = (IpNet, &'a AuthConfig)>,
    now: SystemTime,
) -> Result<(), AuthError> {
    for (net, auth) in entries {
        let Some(seen) = family.view(net) else {
            continue;
        };
        if let Some(k) = &auth.md5 {
            md5_set(sock, seen, k)?;
        }
        if let Some(ao) = &auth.ao {
            ao_set(sock, seen, ao, true, now)?;
        }
        if auth.ttl_security.is_some() {
            gtsm_send_255(sock, net, family != ListenFamily::V4)?;
            if family == ListenFamily::DualStack {
                gtsm_send_255(sock, net, false)?;
            }
        }
    }
    Ok(())
}

/// GTSM on an accepted connection from `peer` as the socket reports it
/// (keys came with the listening socket). An IPv4-mapped `peer` on an IPv6
/// socket travels in IPv4 packets, so it gets the IPv4 options.
///
/// # Errors
/// [`AuthError`] naming the peer.
pub fn apply_accepted(sock: &impl AsFd, peer: IpAddr, auth: &AuthConfig) -> Result<(), AuthError> {
    let canonical = peer.to_canonical();
    match auth.ttl_security {
        Some(h) => gtsm_set(sock, host_net(canonical), canonical.is_ipv6(), h),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
