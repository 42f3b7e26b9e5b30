//! The session's timers (RFC 4271 §8.1.3, §10), as deadlines.

use std::time::Instant;

/// The timers of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// ConnectRetryTimer: retry the TCP connection (event 9).
    ConnectRetry,
    /// HoldTimer: the peer has been silent too long (event 10).
    Hold,
    /// KeepaliveTimer: time to send a KEEPALIVE (event 11).
    Keepalive,
    /// DelayOpenTimer: time to send the delayed OPEN (event 12).
    DelayOpen,
    /// IdleHoldTimer: time to restart after a failure (event 13).
    IdleHold,
}

impl Timer {
    /// Every timer, in the order expired timers are handled.
    pub const ALL: [Self; 5] = [
        Self::Hold,
        Self::Keepalive,
        Self::DelayOpen,
        Self::ConnectRetry,
        Self::IdleHold,
    ];

    const fn index(self) -> usize {
        match self {
            Self::ConnectRetry => 0,
            Self::Hold => 1,
            Self::Keepalive => 2,
            Self::DelayOpen => 3,
            Self::IdleHold => 4,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 5],
}

impl TimerTable {
    /// Arms `timer` to fire at `at` (replacing any earlier deadline).
    pub fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = None;
        }
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 5];
    }

    /// The deadline of `timer`, if armed.
    #[must_use]
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer.index()).copied().flatten()
    }

    /// True when `timer` is armed.
    #[must_use]
    pub fn is_running(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest deadline of all armed timers.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// True when `timer` is armed and its deadline is at or before `now`.
    #[must_use]
    pub fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_deadline_is_the_minimum() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next_deadline(), None);
        t.set(Timer::Hold, t0 + Duration::from_secs(9));
        t.set(Timer::Keepalive, t0 + Duration::from_secs(3));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(3)));
        assert!(t.is_expired(Timer::Keepalive, t0 + Duration::from_secs(3)));
        assert!(!t.is_expired(Timer::Hold, t0 + Duration::from_secs(3)));
        t.stop(Timer::Keepalive);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(9)));
        t.stop_all();
        assert!(!t.is_running(Timer::Hold));
    }
}
