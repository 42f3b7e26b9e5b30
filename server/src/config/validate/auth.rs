//! Validation of the authentication keys of a peer or template:
//! `password` / `password-file` / `password-env` (TCP-MD5), `tcp-ao`,
//! `ttl-security`. Secrets are read here (file, environment) and never
//! quoted in an error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use toml::Spanned;

use super::{ConfigError, Ctx};
use crate::auth::{AoAlgorithm, AoConfig, AoKey, AuthConfig, Secret};
use crate::config::model::{RawAoKey, RawAuth, RawSecret, RawTcpAo};

/// Longest TCP-MD5 / TCP-AO key Linux takes (TCP_MD5SIG_MAXKEYLEN).
const MAX_KEY: usize = 80;

pub(super) fn settings(cx: &Ctx<'_>, pos: usize, raw: RawAuth) -> Result<AuthConfig, ConfigError> {
    let md5 = md5(cx, pos, &raw)?;
    let ao = match raw.tcp_ao {
        Some(ao) => Some(tcp_ao(cx, ao)?),
        None => None,
    };
    // RFC 5925 §7.6: "TCP-AO ... MUST NOT be used simultaneously with TCP
    // MD5 on the same connection".
    if md5.is_some() && ao.is_some() {
        return cx.err(
            pos,
            "password (TCP-MD5) and tcp-ao cannot both be set for a peer (RFC 5925 §7.6)",
        );
    }
    let ttl_security = match raw.ttl_security {
        Some(h) if *h.get_ref() == 255 => {
            return cx.err(
                h.span().start,
                "ttl-security is the number of router hops allowed (0 = directly connected, \
                 at most 254)",
            );
        }
        Some(h) => Some(*h.get_ref()),
        None => None,
    };
    Ok(AuthConfig {
        md5,
        ao,
        ttl_security,
    })
}

/// Refuses TCP-AO for `peer` at config check and start when this kernel
/// has no TCP-AO (never a silent downgrade).
pub(super) fn kernel_check(
    cx: &Ctx<'_>,
    pos: usize,
    peer: IpNet,
    auth: &AuthConfig,
) -> Result<(), ConfigError> {
    if auth.ao.is_none() {
        return Ok(());
    }
    match crate::auth::ao_supported(peer) {
        Ok(()) => Ok(()),
        Err(e) => cx.err(pos, e.to_string()),
    }
}

fn md5(cx: &Ctx<'_>, pos: usize, raw: &RawAuth) -> Result<Option<Secret>, ConfigError> {
    let given = [
        raw.password.is_some(),
        raw.password_file.is_some(),
        raw.password_env.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return cx.err(
            pos,
            "give at most one of password, password-file, password-env",
        );
    }
    let (at, secret) = if let Some(p) = &raw.password {
        (p.span().start, p.get_ref().0.clone().into_bytes())
    } else if let Some(f) = &raw.password_file {
        (f.span().start, read_file(cx, f)?)
    } else if let Some(v) = &raw.password_env {
        (v.span().start, read_env(cx, v.span().start, v.get_ref())?)
    } else {
        return Ok(None);
    };
    key_len(cx, at, &secret, "password")?;
    Ok(Some(Secret::new(secret)))
}

fn key_len(cx: &Ctx<'_>, at: usize, s: &[u8], what: &str) -> Result<(), ConfigError> {
    if s.is_empty() || s.len() > MAX_KEY {
        return cx.err(
            at,
            format!(
                "{what} must be 1 to {MAX_KEY} bytes (it is {} bytes)",
                s.len()
            ),
        );
    }
    Ok(())
}

fn read_file(cx: &Ctx<'_>, f: &Spanned<std::path::PathBuf>) -> Result<Vec<u8>, ConfigError> {
    let path = f.get_ref();
    match std::fs::read(path) {
        // One trailing newline is the file's, not the key's.
        Ok(mut b) => {
            if b.last() == Some(&b'\n') {
                b.pop();
                if b.last() == Some(&b'\r') {
                    b.pop();
                }
            }
            Ok(b)
        }
        Err(e) => cx.err(
            f.span().start,
            format!("cannot read key file {}: {e}", path.display()),
        ),
    }
}

fn read_env(cx: &Ctx<'_>, at: usize, name: &str) -> Result<Vec<u8>, ConfigError> {
    match std::env::var_os(name) {
        Some(v) => Ok(v.into_encoded_bytes()),
        None => cx.err(at, format!("environment variable {name} is not set")),
    }
}

fn tcp_ao(cx: &Ctx<'_>, raw: Spanned<RawTcpAo>) -> Result<AoConfig, ConfigError> {
    let pos = raw.span().start;
    let raw = raw.into_inner();
    if raw.keys.is_empty() {
        return cx.err(pos, "tcp-ao needs at least one key");
    }
    let mut keys: Vec<AoKey> = Vec::with_capacity(raw.keys.len());
    for k in raw.keys {
        let key = ao_key(cx, pos, k)?;
        // RFC 5925 §3.1: "the SendID [and RecvID] ... MUST be unique" among
        // the MKTs of a connection.
        if keys
            .iter()
            .any(|o| o.send_id == key.send_id || o.recv_id == key.recv_id)
        {
            return cx.err(
                pos,
                format!(
                    "tcp-ao key ids must be unique: send-id {} / recv-id {} repeat an earlier key",
                    key.send_id, key.recv_id
                ),
            );
        }
        keys.push(key);
    }
    if let Some(c) = raw.current
        && !keys.iter().any(|k| k.send_id == c)
    {
        return cx.err(pos, format!("tcp-ao current = {c} is no key's send-id"));
    }
    if let Some(r) = raw.rnext
        && !keys.iter().any(|k| k.recv_id == r)
    {
        return cx.err(pos, format!("tcp-ao rnext = {r} is no key's recv-id"));
    }
    Ok(AoConfig {
        keys,
        current: raw.current,
        rnext: raw.rnext,
    })
}

fn ao_key(cx: &Ctx<'_>, pos: usize, k: RawAoKey) -> Result<AoKey, ConfigError> {
    let Some(algorithm) = AoAlgorithm::from_config_name(&k.algorithm) else {
        return cx.err(
            pos,
            format!(
                "tcp-ao algorithm {:?}: expected \"hmac-sha1\", \"cmac-aes128\" or \"hmac-sha256\"",
                k.algorithm
            ),
        );
    };
    let secret = match (&k.secret, &k.secret_file, &k.secret_env) {
        (Some(RawSecret(s)), None, None) => s.clone().into_bytes(),
        (None, Some(f), None) => read_file(cx, &Spanned::new(pos..pos, f.clone()))?,
        (None, None, Some(v)) => read_env(cx, pos, v)?,
        _ => {
            return cx.err(
                pos,
                format!(
                    "tcp-ao key {}: give exactly one of secret, secret-file, secret-env",
                    k.send_id
                ),
            );
        }
    };
    key_len(cx, pos, &secret, "a tcp-ao secret")?;
    let valid_from = k.valid_from.map(|t| time(cx, pos, t)).transpose()?;
    let valid_until = k.valid_until.map(|t| time(cx, pos, t)).transpose()?;
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && f >= u
    {
        return cx.err(pos, "tcp-ao valid-from must be before valid-until");
    }
    Ok(AoKey {
        send_id: k.send_id,
        recv_id: k.recv_id,
        algorithm,
        secret: Secret::new(secret),
        valid_from,
        valid_until,
    })
}

/// A TOML offset date-time (`2026-01-01T00:00:00Z`) as a `SystemTime`.
fn time(cx: &Ctx<'_>, pos: usize, t: toml::value::Datetime) -> Result<SystemTime, ConfigError> {
    let (Some(d), Some(tm), Some(off)) = (t.date, t.time, t.offset) else {
        return cx.err(
            pos,
            format!("{t}: a date-time with an offset is needed (2026-01-01T00:00:00Z)"),
        );
    };
    let off_min = match off {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let secs = days * 86_400
        + i64::from(tm.hour) * 3600
        + i64::from(tm.minute) * 60
        + i64::from(tm.second.unwrap_or(0))
        - off_min * 60;
    match u64::try_from(secs) {
        Ok(s) => Ok(UNIX_EPOCH + Duration::from_secs(s)),
        Err(_) => cx.err(pos, format!("{t} is before 1970")),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::days_from_civil;
    use crate::auth::AoAlgorithm;
    use crate::config::{Config, ConfigError};

    fn parse(peer_keys: &str) -> Result<Config, ConfigError> {
        let src = format!(
            "[global]\nrouter-id = \"192.0.2.1\"\nlocal-as = 64500\n\
             [[peer]]\naddress = \"198.18.0.2\"\nremote-as = 64501\nrole = \"rs-client\"\n{peer_keys}\n"
        );
        Config::parse(Path::new("rampart.toml"), &src)
    }

    fn err(peer_keys: &str) -> String {
        parse(peer_keys).unwrap_err().to_string()
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2025-11-21T00:00:00Z = 1763683200 s.
        assert_eq!(days_from_civil(2025, 11, 21) * 86_400, 1_763_683_200);
    }

    #[test]
    fn md5_password_from_the_file_a_file_or_the_environment() {
        let c = parse("password = \"s3cret\"\nttl-security = 1").unwrap();
        let a = &c.peers[0].session.auth;
        assert_eq!(
            a.md5.as_ref().map(|s| s.expose().to_vec()),
            Some(b"s3cret".to_vec())
        );
        assert_eq!(a.ttl_security, Some(1));
        let f = std::env::temp_dir().join(format!("rampart-md5-{}", std::process::id()));
        std::fs::write(&f, "from-file\n").unwrap();
        let c = parse(&format!("password-file = \"{}\"", f.display())).unwrap();
        let md5 = c.peers[0].session.auth.md5.clone().unwrap();
        assert_eq!(md5.expose(), b"from-file");
        let _ = std::fs::remove_file(&f);
        // cargo sets CARGO_PKG_NAME for the tests it runs (scripts/test.sh
        // too, when it runs them again on the epoll backend).
        let c = parse("password-env = \"CARGO_PKG_NAME\"").unwrap();
        let md5 = c.peers[0].session.auth.md5.clone().unwrap();
        assert_eq!(md5.expose(), b"rampartd");
        assert!(err("password-env = \"RAMPART_SURELY_UNSET_VAR\"").contains("is not set"));
        assert!(err("password = \"a\"\npassword-env = \"PATH\"").contains("at most one"));
        assert!(err("password = \"\"").contains("1 to 80 bytes"));
        assert!(err("ttl-security = 255").contains("router hops"));
    }

    #[test]
    fn errors_never_quote_a_secret() {
        let e = err(&format!("password = \"{}\"", "k".repeat(81)));
        assert!(!e.contains("kkkk") && e.contains("81 bytes"), "{e}");
        let e = err(
            "tcp-ao = { keys = [ { send-id = 1, recv-id = 1, algorithm = \"md5\", secret = \"topsecret\" } ] }",
        );
        assert!(!e.contains("topsecret") && e.contains("\"md5\""), "{e}");
    }

    #[test]
    fn tcp_ao_key_chains_are_checked() {
        let k = |id: u8, rid: u8| {
            format!(
                "{{ send-id = {id}, recv-id = {rid}, algorithm = \"cmac-aes128\", secret = \"0123456789abcdef\" }}"
            )
        };
        assert!(err("tcp-ao = { keys = [] }").contains("at least one key"));
        assert!(
            err(&format!(
                "tcp-ao = {{ keys = [ {}, {} ] }}",
                k(1, 1),
                k(1, 2)
            ))
            .contains("unique")
        );
        assert!(
            err(&format!(
                "tcp-ao = {{ keys = [ {} ], current = 5 }}",
                k(1, 1)
            ))
            .contains("current = 5")
        );
        assert!(
            err(&format!("tcp-ao = {{ keys = [ {} ], rnext = 5 }}", k(1, 1))).contains("rnext = 5")
        );
        assert!(
            err(&format!(
                "password = \"x\"\ntcp-ao = {{ keys = [ {} ] }}",
                k(1, 1)
            ))
            .contains("cannot both")
        );
        let windowed = "tcp-ao = { keys = [ { send-id = 1, recv-id = 1, algorithm = \"hmac-sha256\", \
                        secret = \"s\", valid-from = 2026-01-01T00:00:00Z, valid-until = 2025-01-01T00:00:00Z } ] }";
        assert!(err(windowed).contains("valid-from must be before"));
    }

    /// On a kernel without TCP-AO (this host), the peer is refused at load
    /// (and so at `rampartd --check`) with its address and the missing
    /// option named; on one with TCP-AO (the aolab VM) the chain is kept.
    #[test]
    fn tcp_ao_is_refused_naming_the_peer_without_kernel_support() {
        let r = parse(
            "tcp-ao = { keys = [ { send-id = 1, recv-id = 2, algorithm = \"hmac-sha1\", secret = \"k\", \
             valid-from = 2025-11-21T00:00:00Z } ], current = 1, rnext = 2 }",
        );
        match crate::auth::ao_supported("198.18.0.2/32".parse().unwrap()) {
            Ok(()) => {
                let c = r.unwrap();
                let ao = c.peers[0].session.auth.ao.clone().unwrap();
                assert_eq!((ao.current, ao.rnext), (Some(1), Some(2)));
                assert_eq!(ao.keys[0].algorithm, AoAlgorithm::HmacSha1);
                let from = ao.keys[0].valid_from.unwrap();
                let secs = from
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                assert_eq!(secs, 1_763_683_200);
            }
            Err(_) => {
                let e = r.unwrap_err().to_string();
                assert!(
                    e.contains("198.18.0.2") && e.contains("CONFIG_TCP_AO"),
                    "{e}"
                );
            }
        }
    }
}
