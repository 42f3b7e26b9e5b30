//! Target resource figures from `/proc/PID` (Linux): CPU seconds from
//! `stat` (utime + stime, in USER_HZ = 100 ticks per second on every
//! Linux architecture the project runs on) and resident memory from
//! `status` (`VmRSS`, and `VmHWM`, the kernel's peak).

use std::fs;

/// Ticks per second of `/proc/PID/stat` times (USER_HZ).
const USER_HZ: f64 = 100.0;

/// One reading of a set of processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// User + system CPU seconds, summed over the processes.
    pub cpu_secs: f64,
    /// Resident set size now, bytes, summed.
    pub rss: u64,
    /// Peak resident set size over each process's life (`VmHWM`), bytes, summed.
    pub hwm: u64,
}

/// Reads the processes `pids`; processes that vanished count as zero.
#[must_use]
pub fn sample(pids: &[u32]) -> Sample {
    let mut s = Sample::default();
    for &pid in pids {
        if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
            s.cpu_secs += cpu_from_stat(&stat).unwrap_or(0.0);
        }
        if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
            s.rss += status_kib(&status, "VmRSS:").unwrap_or(0) * 1024;
            s.hwm += status_kib(&status, "VmHWM:").unwrap_or(0) * 1024;
        }
    }
    s
}

/// utime + stime of a `/proc/PID/stat` line, seconds. The command name
/// (field 2) may hold spaces and parentheses: fields are counted after
/// the last `)`.
fn cpu_from_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")" come field 3 (state) onwards: utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_name() {
        let stat = "1234 (a) b) S 1 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10";
        assert_eq!(cpu_from_stat(stat), Some(3.0));
    }

    #[test]
    fn own_process_uses_cpu_and_memory() {
        let me = std::process::id();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let s = sample(&[me]);
        assert!(s.rss > 0 && s.hwm >= s.rss / 2, "{s:?}");
        assert!(s.cpu_secs >= 0.0);
        assert_eq!(sample(&[u32::MAX]), Sample::default());
    }
}
