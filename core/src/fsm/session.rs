//! [`Session`]: the RFC 4271 §8.2.2 transitions.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::validate::check_open;
use super::{
    Action, DownReason, Event, LARGE_HOLD_TIME, SessionConfig, State, Timer, TimerTable, local_open,
};
use crate::cap::Negotiated;
use crate::iana::{ErrorCode, cease, fsm_error};
use crate::msg::{Message, Notification, Open};

/// One BGP session's state machine (RFC 4271 §8), sans-IO.
///
/// Feed it events with [`Session::handle`] and timer expiries with
/// [`Session::handle_timeout`]; after each call drain
/// [`Session::poll_action`] until `None`, then re-arm the driver's timer
/// from [`Session::poll_timeout`].
#[derive(Debug, Clone)]
pub struct Session {
    cfg: SessionConfig,
    local_open: Open,
    state: State,
    timers: TimerTable,
    actions: VecDeque<Action>,
    negotiated: Option<Negotiated>,
    /// Restart automatically after a failure (cleared by ManualStop).
    auto_restart: bool,
    /// Passive mode of the last start event.
    passive: bool,
    /// Consecutive failures since the last stable Established period.
    failures: u32,
    established_at: Option<Instant>,
    connect_retry_counter: u32,
}

impl Session {
    /// A session in Idle for `config`. Nothing happens until a start event.
    #[must_use]
    pub fn new(config: SessionConfig) -> Self {
        Self {
            local_open: local_open(&config),
            passive: config.passive,
            cfg: config,
            state: State::Idle,
            timers: TimerTable::default(),
            actions: VecDeque::new(),
            negotiated: None,
            auto_restart: false,
            failures: 0,
            established_at: None,
            connect_retry_counter: 0,
        }
    }

    /// The current state.
    #[must_use]
    pub const fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The OPEN this session sends.
    #[must_use]
    pub const fn local_open(&self) -> &Open {
        &self.local_open
    }

    /// What was negotiated, from the peer's accepted OPEN on (OpenConfirm
    /// and Established); the driver uses it for collision detection.
    #[must_use]
    pub const fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The timers, for inspection.
    #[must_use]
    pub const fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// RFC 4271 §8 ConnectRetryCounter: failed attempts since the last
    /// ManualStart or Established.
    #[must_use]
    pub const fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// The next action to carry out, in order. Call after every
    /// [`Session::handle`] and [`Session::handle_timeout`] until it returns
    /// `None`.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called; `None` when no
    /// timer runs. Call again after every handle call, as timers change.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles every timer whose deadline is at or before `now` (RFC 4271
    /// events 9–13). Call when the instant from
    /// [`Session::poll_timeout`] is reached; calling early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            // A handler may stop or re-arm other timers; re-check each one.
            if self.timers.is_expired(timer, now) {
                self.timers.stop(timer);
                self.on_timer(now, timer);
            }
        }
    }

    /// Handles one event at `now`. Call for each decoded message and each
    /// TCP or operator event, in the order they happened.
    pub fn handle(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::ManualStart => self.on_start(now, self.cfg.passive, true),
            Event::AutomaticStart { passive } => self.on_start(now, passive, false),
            Event::ManualStop { communication } => {
                // RFC 4486 §4: Administrative Shutdown, with the RFC 9003
                // shutdown communication when the operator gave one.
                let n = match communication.as_deref() {
                    Some(text) => Notification::cease_shutdown(cease::ADMIN_SHUTDOWN, text),
                    None => Notification::new(ErrorCode::Cease, cease::ADMIN_SHUTDOWN, Vec::new()),
                };
                self.manual_stop(now, n);
            }
            Event::ManualStopWith(n) => self.manual_stop(now, n),
            Event::AutomaticStop(n) => self.on_stop(now, n),
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => self.on_tcp_up(now),
            Event::TcpConnectionFails => self.on_tcp_fails(now),
            Event::BgpOpen(open) => self.on_open(now, open),
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => self.on_error(now, n),
            Event::UpdateMsgErr(n) => self.on_update_error(now, n),
            Event::OpenCollisionDump => self.on_collision_dump(now),
            Event::NotifMsg(n) => self.on_notification(now, n),
            Event::KeepAliveMsg => self.on_keepalive(now),
            Event::UpdateMsg | Event::RouteRefreshMsg => self.on_update(now),
        }
    }

    // --- helpers -------------------------------------------------------

    fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    fn send(&mut self, m: impl Into<Message>) {
        self.push(Action::Send(m.into()));
    }

    fn set_timer(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.timers.set(timer, now + after);
    }

    fn hold_secs(&self) -> u16 {
        self.negotiated.as_ref().map_or(0, |n| n.hold_time)
    }

    /// Sends the OPEN and moves to OpenSent with the large hold timer.
    fn send_open(&mut self, now: Instant) {
        self.timers.stop(Timer::ConnectRetry);
        self.timers.stop(Timer::DelayOpen);
        self.send(self.local_open.clone());
        // RFC 4271 §8.2.2: "sets the HoldTimer to a large value" ("A
        // HoldTimer value of 4 minutes is suggested").
        self.set_timer(Timer::Hold, now, LARGE_HOLD_TIME);
        self.state = State::OpenSent;
    }

    /// Drops to Idle: stops timers, closes TCP, reports `reason`, arms the
    /// idle hold timer when an automatic restart is due.
    fn go_idle(&mut self, now: Instant, reason: DownReason) {
        let was_established = self.state == State::Established;
        self.timers.stop_all();
        self.push(Action::CloseTcp);
        self.push(Action::Down(reason));
        self.state = State::Idle;
        self.negotiated = None;
        self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
        let stable = was_established
            && self
                .established_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.cfg.idle_hold.forget);
        self.established_at = None;
        if stable {
            self.failures = 0;
        }
        if self.auto_restart {
            let wait = idle_hold_wait(&self.cfg.idle_hold, self.failures);
            self.failures = self.failures.saturating_add(1);
            self.set_timer(Timer::IdleHold, now, wait);
        }
    }

    /// Sends `n`, then drops to Idle reporting it as our error.
    fn fail(&mut self, now: Instant, n: Notification) {
        self.send(n.clone());
        self.go_idle(now, DownReason::Error(n));
    }

    /// RFC 6608 §4: an unexpected message gets an FSM Error NOTIFICATION
    /// whose subcode names the state.
    fn fsm_error(&mut self, now: Instant) {
        let subcode = match self.state {
            State::OpenSent => fsm_error::UNEXPECTED_IN_OPEN_SENT,
            State::OpenConfirm => fsm_error::UNEXPECTED_IN_OPEN_CONFIRM,
            State::Established => fsm_error::UNEXPECTED_IN_ESTABLISHED,
            _ => fsm_error::UNSPECIFIED,
        };
        self.fail(now, Notification::new(ErrorCode::Fsm, subcode, Vec::new()));
    }

    /// RFC 4271 §8.2.2 "any other event" in Connect or Active: drop to
    /// Idle without a NOTIFICATION (no BGP connection to send it on).
    fn unexpected_before_open(&mut self, now: Instant) {
        self.go_idle(now, DownReason::Unexpected);
    }

    // --- events ----------------------------------------------------------

    fn on_start(&mut self, now: Instant, passive: bool, manual: bool) {
        if self.state != State::Idle {
            return;
        }
        if manual {
            self.failures = 0;
            self.connect_retry_counter = 0;
        }
        self.auto_restart = true;
        self.passive = passive;
        self.timers.stop(Timer::IdleHold);
        if passive {
            // RFC 4271 §8.2.2 (Idle, events 4/5): "changes its state to
            // Active". We never initiate, so no ConnectRetryTimer runs.
            self.state = State::Active;
        } else {
            // Events 1/3: "initiates a TCP connection to the other BGP
            // peer, [...] starts the ConnectRetryTimer [...], changes its
            // state to Connect".
            self.set_timer(Timer::ConnectRetry, now, self.cfg.connect_retry);
            self.push(Action::Connect);
            self.state = State::Connect;
        }
    }

    fn manual_stop(&mut self, now: Instant, n: Notification) {
        self.auto_restart = false;
        self.on_stop(now, n);
        // RFC 4271 §8.2.2: ManualStop "sets the ConnectRetryCounter to zero".
        self.connect_retry_counter = 0;
    }

    fn on_stop(&mut self, now: Instant, n: Notification) {
        match self.state {
            State::Idle => {
                // ManualStop in Idle is ignored; it still cancels a pending
                // automatic restart.
                if !self.auto_restart {
                    self.timers.stop(Timer::IdleHold);
                }
            }
            State::Connect | State::Active => self.go_idle(now, DownReason::Stop(None)),
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.send(n.clone());
                self.go_idle(now, DownReason::Stop(Some(n)));
            }
        }
    }

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        match (timer, self.state) {
            (Timer::IdleHold, State::Idle) if self.auto_restart => {
                self.on_start(now, self.passive, false);
            }
            (Timer::ConnectRetry, State::Connect | State::Active) if !self.passive => {
                // RFC 4271 §8.2.2 (Connect, event 9): "drops the TCP
                // connection, restarts the ConnectRetryTimer, [...]
                // initiates a TCP connection".
                if self.state == State::Connect {
                    self.push(Action::CloseTcp);
                }
                self.set_timer(Timer::ConnectRetry, now, self.cfg.connect_retry);
                self.push(Action::Connect);
                self.state = State::Connect;
            }
            (Timer::DelayOpen, State::Connect | State::Active) => self.send_open(now),
            (Timer::Hold, State::OpenSent | State::OpenConfirm | State::Established) => {
                // RFC 4271 §8.2.2: "sends a NOTIFICATION message with the
                // error code Hold Timer Expired".
                let n = Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new());
                self.fail(now, n);
            }
            (Timer::Keepalive, State::OpenConfirm | State::Established) => {
                // "sends a KEEPALIVE message, restarts the KeepaliveTimer".
                self.send(Message::Keepalive);
                self.arm_keepalive(now);
            }
            // A timer that does not apply to the state is a no-op: the
            // transitions stop timers they leave behind.
            _ => {}
        }
    }

    fn arm_keepalive(&mut self, now: Instant) {
        let ka = self.negotiated.as_ref().map_or(0, |n| n.keepalive);
        if ka > 0 {
            self.set_timer(Timer::Keepalive, now, Duration::from_secs(ka.into()));
        } else if self.hold_secs() > 0 {
            // Hold time 3..=5 gives a keepalive of 1 s at least.
            self.set_timer(Timer::Keepalive, now, Duration::from_secs(1));
        }
    }

    fn arm_hold(&mut self, now: Instant) {
        let hold = self.hold_secs();
        if hold > 0 {
            self.set_timer(Timer::Hold, now, Duration::from_secs(hold.into()));
        } else {
            self.timers.stop(Timer::Hold);
        }
    }

    fn on_tcp_up(&mut self, now: Instant) {
        match self.state {
            State::Connect | State::Active => match self.cfg.delay_open {
                Some(delay) => {
                    // RFC 4271 §8.2.2 (event 16/17 with DelayOpen): "stops
                    // the ConnectRetryTimer [...] sets the DelayOpenTimer".
                    self.timers.stop(Timer::ConnectRetry);
                    self.set_timer(Timer::DelayOpen, now, delay);
                }
                None => self.send_open(now),
            },
            // A second connection for this session is the driver's to
            // arbitrate (collision); in Idle connections are refused.
            State::Idle => self.push(Action::CloseTcp),
            State::OpenSent | State::OpenConfirm | State::Established => {}
        }
    }

    fn on_tcp_fails(&mut self, now: Instant) {
        match self.state {
            State::Idle => {}
            State::Connect if self.timers.is_running(Timer::DelayOpen) => {
                // "restarts the ConnectRetryTimer, stops the DelayOpenTimer
                // [...] changes its state to Active".
                self.timers.stop(Timer::DelayOpen);
                self.restart_connect_retry(now);
                self.push(Action::CloseTcp);
                self.state = State::Active;
            }
            State::OpenSent => {
                // "closes the BGP connection, restarts the
                // ConnectRetryTimer, and continues to listen for a
                // connection [...] changes its state to Active".
                self.timers.stop_all();
                self.restart_connect_retry(now);
                self.push(Action::CloseTcp);
                self.state = State::Active;
            }
            State::Connect | State::Active | State::OpenConfirm | State::Established => {
                self.go_idle(now, DownReason::TcpFailed);
            }
        }
    }

    fn restart_connect_retry(&mut self, now: Instant) {
        if !self.passive {
            self.set_timer(Timer::ConnectRetry, now, self.cfg.connect_retry);
        }
    }

    fn on_open(&mut self, now: Instant, open: Open) {
        match self.state {
            State::Connect | State::Active if self.timers.is_running(Timer::DelayOpen) => {
                // Event 20: the peer's OPEN came before our delayed one.
                if self.accept_open(now, &open) {
                    self.timers.stop(Timer::ConnectRetry);
                    self.timers.stop(Timer::DelayOpen);
                    self.send(self.local_open.clone());
                    self.enter_open_confirm(now);
                }
            }
            State::OpenSent => {
                if self.accept_open(now, &open) {
                    self.enter_open_confirm(now);
                }
            }
            State::Idle => {}
            State::Connect | State::Active => self.unexpected_before_open(now),
            State::OpenConfirm | State::Established => self.fsm_error(now),
        }
    }

    /// Checks the peer's OPEN; on error sends the NOTIFICATION and drops
    /// to Idle.
    fn accept_open(&mut self, now: Instant, open: &Open) -> bool {
        match check_open(&self.cfg, open) {
            Ok(()) => {
                self.negotiated = Some(Negotiated::new(&self.local_open, open));
                true
            }
            Err(e) => {
                self.fail(now, Notification::from(&e));
                false
            }
        }
    }

    /// "sends a KEEPALIVE message, [...] sets a KeepaliveTimer [...] sets
    /// the HoldTimer according to the negotiated value [...] changes its
    /// state to OpenConfirm" (RFC 4271 §8.2.2, OpenSent event 19).
    fn enter_open_confirm(&mut self, now: Instant) {
        self.send(Message::Keepalive);
        self.arm_hold(now);
        self.timers.stop(Timer::Keepalive);
        self.arm_keepalive(now);
        self.state = State::OpenConfirm;
    }

    fn on_error(&mut self, now: Instant, n: Notification) {
        match self.state {
            State::Idle => {}
            // RFC 4271 §8.2.2 (Connect/Active, events 21/22): with
            // SendNOTIFICATIONwithoutOPEN the NOTIFICATION goes out first;
            // sending it is harmless and tells the peer why.
            _ => self.fail(now, n),
        }
    }

    fn on_update_error(&mut self, now: Instant, n: Notification) {
        match self.state {
            State::Established => self.fail(now, n),
            // RFC 4271 §8.2.2 (OpenSent/OpenConfirm, event 28): any UPDATE
            // there is unexpected, malformed or not: FSM Error.
            State::OpenSent | State::OpenConfirm => self.fsm_error(now),
            State::Connect | State::Active => self.unexpected_before_open(now),
            State::Idle => {}
        }
    }

    fn on_collision_dump(&mut self, now: Instant) {
        match self.state {
            State::OpenSent | State::OpenConfirm | State::Established => {
                // RFC 4271 §6.8: "the local system MUST close the BGP
                // connection [...] by sending a NOTIFICATION message with
                // the Error Code Cease" (RFC 4486: subcode 7).
                let n =
                    Notification::new(ErrorCode::Cease, cease::CONNECTION_COLLISION, Vec::new());
                self.fail(now, n);
            }
            State::Connect | State::Active => self.unexpected_before_open(now),
            State::Idle => {}
        }
    }

    fn on_notification(&mut self, now: Instant, n: Notification) {
        if self.state != State::Idle {
            self.go_idle(now, DownReason::Notification(n));
        }
    }

    fn on_keepalive(&mut self, now: Instant) {
        match self.state {
            State::OpenConfirm => {
                // "restarts the HoldTimer and changes its state to
                // Established".
                self.arm_hold(now);
                self.state = State::Established;
                self.established_at = Some(now);
                self.connect_retry_counter = 0;
                if let Some(n) = self.negotiated.clone() {
                    self.push(Action::Established(Box::new(n)));
                }
            }
            State::Established => self.arm_hold(now),
            State::OpenSent => self.fsm_error(now),
            State::Connect | State::Active => self.unexpected_before_open(now),
            State::Idle => {}
        }
    }

    fn on_update(&mut self, now: Instant) {
        match self.state {
            State::Established => self.arm_hold(now),
            State::OpenSent | State::OpenConfirm => self.fsm_error(now),
            State::Connect | State::Active => self.unexpected_before_open(now),
            State::Idle => {}
        }
    }
}

/// The idle hold wait after `failures` earlier consecutive failures:
/// `start * 2^failures`, capped at `max`.
fn idle_hold_wait(cfg: &super::IdleHoldConfig, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    cfg.start.saturating_mul(factor).min(cfg.max)
}
