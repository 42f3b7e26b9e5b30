//! The Linux socket-option structures for TCP-MD5 and TCP-AO, defined by
//! hand after `include/uapi/linux/tcp.h` (Linux 6.12; the host's headers
//! and the libc crate may predate TCP-AO), and the two `setsockopt` /
//! `getsockopt` calls that pass them. This is the only unsafe code of the
//! crate; layouts are checked by unit tests against the kernel's sizes and
//! offsets.
//!
//! Bit-fields (`set_current:1, set_rnext:1, …`) are modelled as one integer
//! with the first field in bit 0, which is how GCC lays them out on the
//! little-endian targets rampartd runs on (x86-64, aarch64).
#![allow(unsafe_code)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

/// `TCP_MD5SIG_EXT`: `tcp_md5sig` with the prefix/ifindex flags honoured.
pub(crate) const TCP_MD5SIG_EXT: i32 = 32;
/// `TCP_MD5SIG_FLAG_PREFIX`: `tcpm_prefixlen` is valid.
pub(crate) const TCP_MD5SIG_FLAG_PREFIX: u8 = 1;
/// `TCP_MD5SIG_MAXKEYLEN` (also `TCP_AO_MAXKEYLEN`), bytes.
pub(crate) const MAX_KEY_LEN: usize = 80;
/// `TCP_AO_ADD_KEY`.
pub(crate) const TCP_AO_ADD_KEY: i32 = 38;
/// `TCP_AO_DEL_KEY`.
pub(crate) const TCP_AO_DEL_KEY: i32 = 39;
/// `TCP_AO_INFO`.
pub(crate) const TCP_AO_INFO: i32 = 40;
/// `TCP_AO_GET_KEYS`.
pub(crate) const TCP_AO_GET_KEYS: i32 = 41;

/// `struct __kernel_sockaddr_storage`: 128 bytes, 8-aligned by the
/// enclosing structures.
pub(crate) type SockaddrStorage = [u8; 128];

/// `struct tcp_md5sig`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct TcpMd5Sig {
    pub(crate) addr: SockaddrStorage,
    pub(crate) flags: u8,
    pub(crate) prefixlen: u8,
    pub(crate) keylen: u16,
    pub(crate) ifindex: i32,
    pub(crate) key: [u8; MAX_KEY_LEN],
}

/// `struct tcp_ao_add`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct TcpAoAdd {
    pub(crate) addr: SockaddrStorage,
    pub(crate) alg_name: [u8; 64],
    pub(crate) ifindex: i32,
    /// bit 0 `set_current`, bit 1 `set_rnext`.
    pub(crate) flags: u32,
    pub(crate) reserved2: u16,
    pub(crate) prefix: u8,
    pub(crate) sndid: u8,
    pub(crate) rcvid: u8,
    pub(crate) maclen: u8,
    pub(crate) keyflags: u8,
    pub(crate) keylen: u8,
    pub(crate) key: [u8; MAX_KEY_LEN],
}

/// `struct tcp_ao_del`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct TcpAoDel {
    pub(crate) addr: SockaddrStorage,
    pub(crate) ifindex: i32,
    /// bit 0 `set_current`, bit 1 `set_rnext`, bit 2 `del_async`.
    pub(crate) flags: u32,
    pub(crate) reserved2: u16,
    pub(crate) prefix: u8,
    pub(crate) sndid: u8,
    pub(crate) rcvid: u8,
    pub(crate) current_key: u8,
    pub(crate) rnext: u8,
    pub(crate) keyflags: u8,
}

/// `struct tcp_ao_info_opt`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct TcpAoInfoOpt {
    /// bit 0 `set_current`, 1 `set_rnext`, 2 `ao_required`,
    /// 3 `set_counters`, 4 `accept_icmps`.
    pub(crate) flags: u32,
    pub(crate) reserved2: u16,
    pub(crate) current_key: u8,
    pub(crate) rnext: u8,
    pub(crate) pkt_good: u64,
    pub(crate) pkt_bad: u64,
    pub(crate) pkt_key_not_found: u64,
    pub(crate) pkt_ao_required: u64,
    pub(crate) pkt_dropped_icmp: u64,
}

/// `struct tcp_ao_getsockopt`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct TcpAoGetsockopt {
    pub(crate) addr: SockaddrStorage,
    pub(crate) alg_name: [u8; 64],
    pub(crate) key: [u8; MAX_KEY_LEN],
    pub(crate) nkeys: u32,
    /// bit 0 `is_current`, 1 `is_rnext`, 2 `get_all`.
    pub(crate) flags: u16,
    pub(crate) sndid: u8,
    pub(crate) rcvid: u8,
    pub(crate) prefix: u8,
    pub(crate) maclen: u8,
    pub(crate) keyflags: u8,
    pub(crate) keylen: u8,
    pub(crate) ifindex: i32,
    pub(crate) pkt_good: u64,
    pub(crate) pkt_bad: u64,
}

/// All-zero values of the option structures (every field is an integer or
/// an integer array, so zero is valid), as the kernel expects unused
/// fields.
pub(crate) trait Zeroed: Sized + Copy {
    fn zeroed() -> Self;
}

macro_rules! zeroed {
    ($($t:ty),*) => {$(
        impl Zeroed for $t {
            fn zeroed() -> Self {
                // SAFETY: the type is repr(C) and made only of integers and
                // integer arrays, for which all-zero bytes are a valid value.
                unsafe { std::mem::zeroed() }
            }
        }
    )*};
}
zeroed!(TcpMd5Sig, TcpAoAdd, TcpAoDel, TcpAoInfoOpt, TcpAoGetsockopt);

/// `sockaddr_in` / `sockaddr_in6` of `addr` (port 0) in a
/// `__kernel_sockaddr_storage`.
pub(crate) fn sockaddr(addr: IpAddr) -> SockaddrStorage {
    let mut s = [0u8; 128];
    match addr {
        IpAddr::V4(a) => {
            s[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            s[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            s[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            s[8..24].copy_from_slice(&a.octets());
        }
    }
    s
}

/// The address in a `sockaddr_storage` the kernel filled, if IPv4/IPv6.
pub(crate) fn sockaddr_ip(s: &SockaddrStorage) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes([s[0], s[1]]));
    let port = u16::from_be_bytes([s[2], s[3]]);
    match family {
        libc::AF_INET => {
            let o: [u8; 4] = s[4..8].try_into().ok()?;
            Some(SocketAddr::new(IpAddr::from(o), port))
        }
        libc::AF_INET6 => {
            let o: [u8; 16] = s[8..24].try_into().ok()?;
            Some(SocketAddr::new(IpAddr::from(o), port))
        }
        _ => None,
    }
}

/// `setsockopt(fd, level, name, value, sizeof value)`.
pub(crate) fn setsockopt<T: Copy>(
    fd: &impl AsFd,
    level: i32,
    name: i32,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is a live descriptor borrowed for the call; `value`
    // points to `len` readable bytes of a repr(C) option structure or
    // integer that the kernel only reads.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `getsockopt(fd, level, name, value, &len)` with `len` = the size of ONE
/// `T` (for `TCP_AO_GET_KEYS` the kernel writes entry i at i × len, up to
/// `value.len()` entries announced in the first entry's `nkeys`).
pub(crate) fn getsockopt<T: Copy>(
    fd: &impl AsFd,
    level: i32,
    name: i32,
    value: &mut [T],
) -> io::Result<usize> {
    if value.is_empty() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is live for the call; `value` is a writable slice of
    // `value.len()` option structures of `len` bytes each; the kernel writes
    // at most `len` bytes, or for TCP_AO_GET_KEYS at most `nkeys` (set by
    // the caller to at most `value.len()`) entries of `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok(len as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// An `int` socket option.
pub(crate) fn set_int(fd: &impl AsFd, level: i32, name: i32, v: i32) -> io::Result<()> {
    setsockopt(fd, level, name, &v)
}

/// Reads an `int` socket option.
pub(crate) fn get_int(fd: &impl AsFd, level: i32, name: i32) -> io::Result<i32> {
    let mut v = [0i32];
    getsockopt(fd, level, name, &mut v)?;
    Ok(v[0])
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::*;

    // Sizes and offsets from include/uapi/linux/tcp.h (Linux 6.12), as the
    // aolab C demo asserts them with _Static_assert and pahole prints them.
    #[test]
    fn md5sig_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
        assert_eq!(offset_of!(TcpMd5Sig, flags), 128);
        assert_eq!(offset_of!(TcpMd5Sig, prefixlen), 129);
        assert_eq!(offset_of!(TcpMd5Sig, keylen), 130);
        assert_eq!(offset_of!(TcpMd5Sig, ifindex), 132);
        assert_eq!(offset_of!(TcpMd5Sig, key), 136);
    }

    #[test]
    fn ao_add_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpAoAdd>(), 288);
        assert_eq!(align_of::<TcpAoAdd>(), 8);
        assert_eq!(offset_of!(TcpAoAdd, alg_name), 128);
        assert_eq!(offset_of!(TcpAoAdd, ifindex), 192);
        assert_eq!(offset_of!(TcpAoAdd, flags), 196);
        assert_eq!(offset_of!(TcpAoAdd, reserved2), 200);
        assert_eq!(offset_of!(TcpAoAdd, prefix), 202);
        assert_eq!(offset_of!(TcpAoAdd, sndid), 203);
        assert_eq!(offset_of!(TcpAoAdd, rcvid), 204);
        assert_eq!(offset_of!(TcpAoAdd, maclen), 205);
        assert_eq!(offset_of!(TcpAoAdd, keyflags), 206);
        assert_eq!(offset_of!(TcpAoAdd, keylen), 207);
        assert_eq!(offset_of!(TcpAoAdd, key), 208);
    }

    #[test]
    fn ao_del_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpAoDel>(), 144);
        assert_eq!(offset_of!(TcpAoDel, ifindex), 128);
        assert_eq!(offset_of!(TcpAoDel, flags), 132);
        assert_eq!(offset_of!(TcpAoDel, prefix), 138);
        assert_eq!(offset_of!(TcpAoDel, sndid), 139);
        assert_eq!(offset_of!(TcpAoDel, rcvid), 140);
        assert_eq!(offset_of!(TcpAoDel, current_key), 141);
        assert_eq!(offset_of!(TcpAoDel, rnext), 142);
        assert_eq!(offset_of!(TcpAoDel, keyflags), 143);
    }

    #[test]
    fn ao_info_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpAoInfoOpt>(), 48);
        assert_eq!(offset_of!(TcpAoInfoOpt, reserved2), 4);
        assert_eq!(offset_of!(TcpAoInfoOpt, current_key), 6);
        assert_eq!(offset_of!(TcpAoInfoOpt, rnext), 7);
        assert_eq!(offset_of!(TcpAoInfoOpt, pkt_good), 8);
        assert_eq!(offset_of!(TcpAoInfoOpt, pkt_bad), 16);
        assert_eq!(offset_of!(TcpAoInfoOpt, pkt_key_not_found), 24);
        assert_eq!(offset_of!(TcpAoInfoOpt, pkt_ao_required), 32);
        assert_eq!(offset_of!(TcpAoInfoOpt, pkt_dropped_icmp), 40);
    }

    #[test]
    fn ao_getsockopt_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpAoGetsockopt>(), 304);
        assert_eq!(offset_of!(TcpAoGetsockopt, alg_name), 128);
        assert_eq!(offset_of!(TcpAoGetsockopt, key), 192);
        assert_eq!(offset_of!(TcpAoGetsockopt, nkeys), 272);
        assert_eq!(offset_of!(TcpAoGetsockopt, flags), 276);
        assert_eq!(offset_of!(TcpAoGetsockopt, sndid), 278);
        assert_eq!(offset_of!(TcpAoGetsockopt, rcvid), 279);
        assert_eq!(offset_of!(TcpAoGetsockopt, prefix), 280);
        assert_eq!(offset_of!(TcpAoGetsockopt, keylen), 283);
        assert_eq!(offset_of!(TcpAoGetsockopt, ifindex), 284);
        assert_eq!(offset_of!(TcpAoGetsockopt, pkt_good), 288);
        assert_eq!(offset_of!(TcpAoGetsockopt, pkt_bad), 296);
    }

    #[test]
    fn sockaddr_round_trips_both_families() {
        for a in ["192.0.2.7", "2001:db8::7"] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(sockaddr_ip(&sockaddr(ip)), Some(SocketAddr::new(ip, 0)));
        }
        assert_eq!(sockaddr_ip(&[0; 128]), None);
    }

    #[test]
    fn int_options_round_trip_on_a_real_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_int(&s, libc::IPPROTO_IP, libc::IP_TTL, 200).unwrap();
        assert_eq!(get_int(&s, libc::IPPROTO_IP, libc::IP_TTL).unwrap(), 200);
    }
}
