//! TCP-AO operations (RFC 5925) on one socket: add and delete MKTs, select
//! the current and RNext keys, read the counters and the key list. These
//! are the steps of a key rollover on a live connection (RFC 5925 §8.1):
//!
//! 1. [`ao_add_key`] the new MKT on both sides;
//! 2. the receiver asks for it with [`ao_set_current_rnext`]`(None,
//!    Some(new.recv_id))` and the sender starts using it with
//!    `(Some(new.send_id), None)` (Linux also switches its current key by
//!    itself when the peer's RNextKeyID names another key);
//! 3. once the peer is seen sending with the new key (its
//!    [`AoKeyState::pkt_good`] grows), [`ao_del_key`] the old one (Linux
//!    refuses to delete the current key: EBUSY).

use std::io;
use std::os::fd::AsFd;
use std::sync::OnceLock;

use ipnet::IpNet;

use super::{AoKey, AuthError, Feature, err, sys};

/// Adds one MKT for `peer` on `sock`; `set_current` / `set_rnext` select it
/// for sending / as the RNextKeyID (not allowed on a listening socket).
///
/// RFC 5925 §3.1: "each MKT ... SendID ... RecvID".
///
/// # Errors
/// [`AuthError`] naming `peer`: "kernel lacks TCP-AO (CONFIG_TCP_AO)" on
/// ENOPROTOOPT, a missing algorithm on ENOENT.
pub fn ao_add_key(
    sock: &impl AsFd,
    peer: IpNet,
    key: &AoKey,
    set_current: bool,
    set_rnext: bool,
) -> Result<(), AuthError> {
    let bytes = key.secret.expose();
    if bytes.is_empty() || bytes.len() > sys::MAX_KEY_LEN {
        return Err(err(peer, Feature::Ao)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP-AO key must be 1 to 80 bytes",
        )));
    }
    let mut a = <sys::TcpAoAdd as sys::Zeroed>::zeroed();
    a.addr = sys::sockaddr(peer.addr());
    let name = key.algorithm.kernel_name().as_bytes();
    a.alg_name[..name.len()].copy_from_slice(name);
    a.flags = u32::from(set_current) | (u32::from(set_rnext) << 1);
    a.prefix = peer.prefix_len();
    a.sndid = key.send_id;
    a.rcvid = key.recv_id;
    // maclen 0: the kernel's default, 12 bytes (RFC 5926 §3.2: 96 bits).
    a.keylen = bytes.len() as u8;
    a.key[..bytes.len()].copy_from_slice(bytes);
    sys::setsockopt(sock, libc::IPPROTO_TCP, sys::TCP_AO_ADD_KEY, &a)
        .map_err(err(peer, Feature::Ao))
}

/// Deletes the MKT (`send_id`, `recv_id`) for `peer` from `sock`.
///
/// # Errors
/// [`AuthError`] naming `peer`; EBUSY when it is the current key.
pub fn ao_del_key(
    sock: &impl AsFd,
    peer: IpNet,
    send_id: u8,
    recv_id: u8,
) -> Result<(), AuthError> {
    let mut d = <sys::TcpAoDel as sys::Zeroed>::zeroed();
    d.addr = sys::sockaddr(peer.addr());
    d.prefix = peer.prefix_len();
    d.sndid = send_id;
    d.rcvid = recv_id;
    sys::setsockopt(sock, libc::IPPROTO_TCP, sys::TCP_AO_DEL_KEY, &d)
        .map_err(err(peer, Feature::Ao))
}

/// Selects the key to send with (by SendID) and the RNextKeyID to ask the
/// peer for (by RecvID), each only when given.
///
/// # Errors
/// [`AuthError`] naming `peer` (used only for the message).
pub fn ao_set_current_rnext(
    sock: &impl AsFd,
    peer: IpNet,
    current: Option<u8>,
    rnext: Option<u8>,
) -> Result<(), AuthError> {
    let mut i = sys::TcpAoInfoOpt::default();
    if let Some(c) = current {
        i.flags |= 1;
        i.current_key = c;
    }
    if let Some(r) = rnext {
        i.flags |= 1 << 1;
        i.rnext = r;
    }
    sys::setsockopt(sock, libc::IPPROTO_TCP, sys::TCP_AO_INFO, &i).map_err(err(peer, Feature::Ao))
}

/// TCP-AO state of a socket (`TCP_AO_INFO`). Counters are segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct AoInfo {
    /// SendID of the key in use.
    pub current_key: u8,
    /// RNextKeyID we send.
    pub rnext: u8,
    /// Segments with a good MAC.
    pub pkt_good: u64,
    /// Segments with a bad MAC.
    pub pkt_bad: u64,
    /// Segments whose KeyID matched no MKT.
    pub pkt_key_not_found: u64,
    /// Segments without TCP-AO where it was required.
    pub pkt_ao_required: u64,
    /// ICMP errors dropped (RFC 5925 §7.8).
    pub pkt_dropped_icmp: u64,
}

/// Reads `TCP_AO_INFO`.
///
/// # Errors
/// ENOENT when the socket has no TCP-AO key; ENOPROTOOPT without TCP-AO.
pub fn ao_info(sock: &impl AsFd) -> io::Result<AoInfo> {
    let mut i = [sys::TcpAoInfoOpt::default()];
    sys::getsockopt(sock, libc::IPPROTO_TCP, sys::TCP_AO_INFO, &mut i)?;
    let i = i[0];
    Ok(AoInfo {
        current_key: i.current_key,
        rnext: i.rnext,
        pkt_good: i.pkt_good,
        pkt_bad: i.pkt_bad,
        pkt_key_not_found: i.pkt_key_not_found,
        pkt_ao_required: i.pkt_ao_required,
        pkt_dropped_icmp: i.pkt_dropped_icmp,
    })
}

/// One MKT as the kernel reports it (`TCP_AO_GET_KEYS`), without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AoKeyState {
    /// The peer prefix the key is for.
    pub peer: Option<IpNet>,
    /// SendID.
    pub send_id: u8,
    /// RecvID.
    pub recv_id: u8,
    /// Algorithm as the kernel names it (`cmac(aes128)` comes back as
    /// `cmac(aes)`).
    pub algorithm: String,
    /// Whether it is the current key.
    pub is_current: bool,
    /// Whether it is the RNext key.
    pub is_rnext: bool,
    /// Segments verified with this key.
    pub pkt_good: u64,
    /// Segments that failed with this key.
    pub pkt_bad: u64,
}

/// The MKTs on `sock` (at most 64).
///
/// # Errors
/// The kernel's error.
pub fn ao_keys(sock: &impl AsFd) -> io::Result<Vec<AoKeyState>> {
    const MAX: usize = 64;
    let mut v = vec![<sys::TcpAoGetsockopt as sys::Zeroed>::zeroed(); MAX];
    if let Some(first) = v.first_mut() {
        first.nkeys = MAX as u32;
        first.flags = 1 << 2; // get_all
    }
    sys::getsockopt(sock, libc::IPPROTO_TCP, sys::TCP_AO_GET_KEYS, &mut v)?;
    let n = v.first().map_or(0, |k| k.nkeys as usize).min(MAX);
    Ok(v.iter()
        .take(n)
        .map(|k| {
            let name_len = k.alg_name.iter().position(|b| *b == 0).unwrap_or(64);
            AoKeyState {
                peer: sys::sockaddr_ip(&k.addr).and_then(|a| IpNet::new(a.ip(), k.prefix).ok()),
                send_id: k.sndid,
                recv_id: k.rcvid,
                algorithm: String::from_utf8_lossy(k.alg_name.get(..name_len).unwrap_or(&[]))
                    .into_owned(),
                is_current: k.flags & 1 != 0,
                is_rnext: k.flags & 2 != 0,
                pkt_good: k.pkt_good,
                pkt_bad: k.pkt_bad,
            }
        })
        .collect())
}

/// Whether this kernel has TCP-AO: probed once per process by adding a
/// key to a throwaway socket. The error names `peer` (the first peer that
/// asks for TCP-AO) and the missing kernel support.
///
/// # Errors
/// [`AuthError`] "peer P: cannot set up TCP-AO: kernel lacks TCP-AO
/// (CONFIG_TCP_AO)" when the kernel answered ENOPROTOOPT, or its other
/// answer.
pub fn ao_supported(peer: IpNet) -> Result<(), AuthError> {
    static PROBE: OnceLock<Option<i32>> = OnceLock::new();
    let errno = PROBE.get_or_init(|| {
        let probe = || -> io::Result<()> {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            let key = AoKey {
                send_id: 1,
                recv_id: 1,
                algorithm: super::AoAlgorithm::HmacSha1,
                secret: super::Secret::new(*b"probe"),
                valid_from: None,
                valid_until: None,
            };
            let net = IpNet::from(std::net::IpAddr::from([127, 0, 0, 1]));
            ao_add_key(&s, net, &key, false, false).map_err(|e| e.source)
        };
        probe()
            .err()
            .map(|e| e.raw_os_error().unwrap_or(libc::EINVAL))
    });
    match errno {
        None => Ok(()),
        Some(e) => Err(err(peer, Feature::Ao)(io::Error::from_raw_os_error(*e))),
    }
}

/// What [`ao_reconcile`] could not finish yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AoPending {
    /// Old keys (SendID, RecvID) still on the socket because the kernel
    /// refused to delete them (EBUSY: still current or RNext, the peer has
    /// not moved on); call [`ao_reconcile`] again later.
    pub deletes: Vec<(u8, u8)>,
}

/// Brings the TCP-AO keys of a live connection to `peer` in line with
/// `want` without a reset (RFC 5925 §8.1 key rollover): adds the keys
/// `want` has and the socket lacks, selects `want.rnext` then
/// `want.current` (when given and installed), and deletes keys `want` no
/// longer has. Deleting the key in use fails with EBUSY in Linux; such keys
/// are returned in [`AoPending`] for a later retry, once the peer asks for
/// the new key. A reload applies a changed key chain to every live session
/// by calling this on each session's socket (and on the listening socket
/// with `listening`, where there is no current key).
///
/// # Errors
/// [`AuthError`] naming `peer` on any other kernel refusal.
pub fn ao_reconcile(
    sock: &impl AsFd,
    peer: IpNet,
    want: &super::AoConfig,
    listening: bool,
    now: std::time::SystemTime,
) -> Result<AoPending, AuthError> {
    let have = ao_keys(sock).map_err(err(peer, Feature::Ao))?;
    let have: Vec<(u8, u8)> = have
        .iter()
        .filter(|k| k.peer == Some(peer))
        .map(|k| (k.send_id, k.recv_id))
        .collect();
    let valid: Vec<&AoKey> = want.keys.iter().filter(|k| k.valid_at(now)).collect();
    for k in &valid {
        if !have.contains(&(k.send_id, k.recv_id)) {
            ao_add_key(sock, peer, k, false, false)?;
        }
    }
    if !listening {
        let rnext = want.rnext.filter(|r| valid.iter().any(|k| k.recv_id == *r));
        let current = want
            .current
            .filter(|c| valid.iter().any(|k| k.send_id == *c));
        if rnext.is_some() {
            ao_set_current_rnext(sock, peer, None, rnext)?;
        }
        if current.is_some() {
            ao_set_current_rnext(sock, peer, current, None)?;
        }
    }
    let mut pending = AoPending::default();
    for (s, r) in have {
        if valid.iter().any(|k| (k.send_id, k.recv_id) == (s, r)) {
            continue;
        }
        match ao_del_key(sock, peer, s, r) {
            Ok(()) => {}
            Err(e) if e.source.raw_os_error() == Some(libc::EBUSY) => pending.deletes.push((s, r)),
            Err(e) => return Err(e),
        }
    }
    Ok(pending)
}
