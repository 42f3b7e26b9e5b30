//! The kernel's authentication failure counters from `/proc/net/netstat`
//! (`TcpExt:` lines). They count for the whole network namespace, not per
//! peer: the kernel drops a segment with a wrong or missing MD5 digest
//! before any socket sees it, so no per-peer figure exists.

use std::io;

use serde::Serialize;

/// Segments the kernel dropped (or accepted, `ao_good`) for
/// authentication, namespace-wide. TCP-AO counters are `None` on kernels
/// without TCP-AO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TcpAuthCounters {
    /// `TCPMD5NotFound`: a segment had an MD5 option but no key matched.
    pub md5_not_found: u64,
    /// `TCPMD5Unexpected`: a key was set but the segment had no MD5 option.
    pub md5_unexpected: u64,
    /// `TCPMD5Failure`: the MD5 digest was wrong.
    pub md5_failure: u64,
    /// `TCPAOGood`.
    pub ao_good: Option<u64>,
    /// `TCPAOBad`: wrong MAC.
    pub ao_bad: Option<u64>,
    /// `TCPAOKeyNotFound`.
    pub ao_key_not_found: Option<u64>,
    /// `TCPAORequired`: a segment without TCP-AO where it was required.
    pub ao_required: Option<u64>,
}

impl TcpAuthCounters {
    /// Reads `/proc/net/netstat` of the calling thread's namespace.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn read() -> io::Result<Self> {
        Ok(Self::parse(&std::fs::read_to_string("/proc/net/netstat")?))
    }

    /// Parses the text of `/proc/net/netstat`: pairs of lines with the same
    /// `Prefix:`, names then values. Missing counters stay 0 / `None`.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut c = Self::default();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let [names, values] = pair else { continue };
            let (Some(("TcpExt", names)), Some(("TcpExt", values))) =
                (names.split_once(':'), values.split_once(':'))
            else {
                continue;
            };
            for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
                let Ok(v) = v.parse::<u64>() else { continue };
                match n {
                    "TCPMD5NotFound" => c.md5_not_found = v,
                    "TCPMD5Unexpected" => c.md5_unexpected = v,
                    "TCPMD5Failure" => c.md5_failure = v,
                    "TCPAOGood" => c.ao_good = Some(v),
                    "TCPAOBad" => c.ao_bad = Some(v),
                    "TCPAOKeyNotFound" => c.ao_key_not_found = Some(v),
                    "TCPAORequired" => c.ao_required = Some(v),
                    _ => {}
                }
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcpext_pairs_and_ignores_other_prefixes() {
        let text = "TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPAOBad\n\
                    TcpExt: 1 7 3 11 5\n\
                    IpExt: TCPMD5Failure InOctets\n\
                    IpExt: 99 100\n";
        let c = TcpAuthCounters::parse(text);
        assert_eq!(
            (c.md5_not_found, c.md5_unexpected, c.md5_failure),
            (7, 3, 11)
        );
        assert_eq!(c.ao_bad, Some(5));
        assert_eq!(c.ao_good, None);
    }

    #[test]
    fn reads_this_machine() {
        let c = TcpAuthCounters::read().unwrap();
        let raw = std::fs::read_to_string("/proc/net/netstat").unwrap();
        assert!(raw.contains("TCPMD5Failure"), "{raw}");
        assert_eq!(c.ao_good.is_some(), raw.contains("TCPAOGood"), "{raw}");
    }
}
