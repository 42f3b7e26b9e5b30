//! One test per RFC 4271 §8.2.2 transition that matters, named
//! `state_event_expectation`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::*;
use crate::cap::{Capability, Role};
use crate::iana::{AS_TRANS, ErrorCode};
use crate::msg::{Message, Notification, Open};
use crate::nlri::AfiSafi;

const LOCAL_AS: u32 = 65000;
const PEER_AS: u32 = 65001;

fn config() -> SessionConfig {
    let mut c = SessionConfig::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1), PeerAs::Exact(PEER_AS));
    c.capabilities = vec![
        Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
        Capability::RouteRefresh,
    ];
    c
}

fn peer_open() -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(PEER_AS).unwrap(),
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(PEER_AS),
            Capability::RouteRefresh,
        ],
    }
}

struct Harness {
    s: Session,
    now: Instant,
}

impl Harness {
    fn new(cfg: SessionConfig) -> Self {
        Self {
            s: Session::new(cfg),
            now: Instant::now(),
        }
    }

    fn handle(&mut self, ev: Event) -> Vec<Action> {
        self.s.handle(self.now, ev);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Action> {
        let mut v = Vec::new();
        while let Some(a) = self.s.poll_action() {
            v.push(a);
            assert!(v.len() < 100);
        }
        v
    }

    /// Moves time forward by `secs` and runs due timers.
    fn advance(&mut self, secs: u64) -> Vec<Action> {
        self.now += Duration::from_secs(secs);
        self.s.handle_timeout(self.now);
        self.drain()
    }

    fn timer_in(&self, t: Timer) -> Option<Duration> {
        self.s.timers().get(t).map(|at| at - self.now)
    }

    /// Idle → Connect → OpenSent.
    fn reach_open_sent(&mut self) {
        self.handle(Event::ManualStart);
        let a = self.handle(Event::TcpCrAcked);
        assert_eq!(
            a,
            vec![Action::Send(Message::Open(self.s.local_open().clone()))]
        );
        assert_eq!(self.s.state(), State::OpenSent);
    }

    fn reach_open_confirm(&mut self) {
        self.reach_open_sent();
        let a = self.handle(Event::BgpOpen(peer_open()));
        assert_eq!(a, vec![Action::Send(Message::Keepalive)]);
        assert_eq!(self.s.state(), State::OpenConfirm);
    }

    fn reach_established(&mut self) {
        self.reach_open_confirm();
        let a = self.handle(Event::KeepAliveMsg);
        assert!(matches!(a.as_slice(), [Action::Established(_)]), "{a:?}");
        assert_eq!(self.s.state(), State::Established);
    }
}

fn sent_notification(actions: &[Action]) -> Option<&Notification> {
    actions.iter().find_map(|a| match a {
        Action::Send(Message::Notification(n)) => Some(n),
        _ => None,
    })
}

/// Asserts: NOTIFICATION (code, subcode) sent, TCP closed, Down, Idle.
fn assert_failed_with(h: &Harness, a: &[Action], code: ErrorCode, subcode: u8) {
    let n = sent_notification(a).unwrap_or_else(|| panic!("no NOTIFICATION in {a:?}"));
    assert_eq!((n.code, n.subcode), (code, subcode), "{a:?}");
    assert!(a.contains(&Action::CloseTcp), "{a:?}");
    assert!(
        a.contains(&Action::Down(DownReason::Error(n.clone()))),
        "{a:?}"
    );
    assert_eq!(h.s.state(), State::Idle);
}

#[test]
fn idle_manual_start_connects() {
    let mut h = Harness::new(config());
    assert_eq!(h.s.poll_timeout(), None);
    let a = h.handle(Event::ManualStart);
    assert_eq!(a, vec![Action::Connect]);
    assert_eq!(h.s.state(), State::Connect);
    assert_eq!(
        h.timer_in(Timer::ConnectRetry),
        Some(Duration::from_secs(120))
    );
    assert_eq!(h.s.poll_timeout(), Some(h.now + Duration::from_secs(120)));
}

#[test]
fn idle_other_events_ignored() {
    let mut h = Harness::new(config());
    for ev in [
        Event::KeepAliveMsg,
        Event::UpdateMsg,
        Event::TcpConnectionFails,
    ] {
        assert_eq!(h.handle(ev), vec![]);
        assert_eq!(h.s.state(), State::Idle);
    }
    assert_eq!(
        h.handle(Event::TcpConnectionConfirmed),
        vec![Action::CloseTcp]
    );
}

#[test]
fn active_path_reaches_established() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    assert_eq!(h.timer_in(Timer::Hold), Some(LARGE_HOLD_TIME));
    assert_eq!(h.timer_in(Timer::ConnectRetry), None);
    h.handle(Event::BgpOpen(peer_open()));
    assert_eq!(h.timer_in(Timer::Hold), Some(Duration::from_secs(90)));
    assert_eq!(h.timer_in(Timer::Keepalive), Some(Duration::from_secs(30)));
    let a = h.handle(Event::KeepAliveMsg);
    let [Action::Established(n)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(n.peer_as, PEER_AS);
    assert!(n.four_octet_as && n.route_refresh);
    assert_eq!((n.hold_time, n.keepalive), (90, 30));
    assert_eq!(h.s.state(), State::Established);
    assert_eq!(h.s.connect_retry_counter(), 0);
}

#[test]
fn local_open_carries_as_trans_and_four_octet_capability() {
    let mut cfg = config();
    cfg.local_as = 4_200_000_000;
    cfg.role = Some(RoleConfig {
        local: Role::RouteServer,
        strict: false,
    });
    let s = Session::new(cfg);
    let o = s.local_open();
    assert_eq!(o.my_as, AS_TRANS);
    assert_eq!(o.four_octet_as(), Some(4_200_000_000));
    assert_eq!(o.role(), Some(Role::RouteServer));
    assert_eq!(o.hold_time, 90);
}

#[test]
fn idle_automatic_start_passive_waits_in_active() {
    let mut h = Harness::new(config());
    let a = h.handle(Event::AutomaticStart { passive: true });
    assert_eq!(a, vec![]);
    assert_eq!(h.s.state(), State::Active);
    assert_eq!(h.s.poll_timeout(), None);
    let a = h.handle(Event::TcpConnectionConfirmed);
    assert!(matches!(a.as_slice(), [Action::Send(Message::Open(_))]));
    assert_eq!(h.s.state(), State::OpenSent);
    h.handle(Event::BgpOpen(peer_open()));
    let a = h.handle(Event::KeepAliveMsg);
    assert!(matches!(a.as_slice(), [Action::Established(_)]));
}

#[test]
fn idle_manual_stop_cancels_pending_restart() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    h.handle(Event::TcpConnectionFails);
    assert!(h.s.timers().is_running(Timer::IdleHold));
    assert_eq!(
        h.handle(Event::ManualStop {
            communication: None
        }),
        vec![]
    );
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.advance(3600), vec![]);
    assert_eq!(h.s.state(), State::Idle);
}

#[test]
fn connect_incoming_connection_sends_open() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    let a = h.handle(Event::TcpConnectionConfirmed);
    assert!(
        matches!(a.as_slice(), [Action::Send(Message::Open(_))]),
        "{a:?}"
    );
    assert_eq!(h.s.state(), State::OpenSent);
    assert_eq!(h.timer_in(Timer::ConnectRetry), None);
}

#[test]
fn connect_connect_retry_expires_reconnects() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    let a = h.advance(120);
    assert_eq!(a, vec![Action::CloseTcp, Action::Connect]);
    assert_eq!(h.s.state(), State::Connect);
    assert_eq!(
        h.timer_in(Timer::ConnectRetry),
        Some(Duration::from_secs(120))
    );
}

#[test]
fn connect_tcp_fails_goes_idle() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    let a = h.handle(Event::TcpConnectionFails);
    assert_eq!(
        a,
        vec![Action::CloseTcp, Action::Down(DownReason::TcpFailed)]
    );
    assert_eq!(h.s.state(), State::Idle);
}

#[test]
fn connect_tcp_up_with_delay_open_waits_then_sends_open() {
    let mut cfg = config();
    cfg.delay_open = Some(Duration::from_secs(5));
    let mut h = Harness::new(cfg);
    h.handle(Event::ManualStart);
    assert_eq!(h.handle(Event::TcpCrAcked), vec![]);
    assert_eq!(h.s.state(), State::Connect);
    assert_eq!(h.timer_in(Timer::DelayOpen), Some(Duration::from_secs(5)));
    assert_eq!(h.timer_in(Timer::ConnectRetry), None);
    assert_eq!(h.advance(4), vec![]);
    let a = h.advance(1);
    assert!(
        matches!(a.as_slice(), [Action::Send(Message::Open(_))]),
        "{a:?}"
    );
    assert_eq!(h.s.state(), State::OpenSent);
    assert_eq!(h.timer_in(Timer::Hold), Some(LARGE_HOLD_TIME));
}

#[test]
fn connect_open_during_delay_open_goes_open_confirm() {
    let mut cfg = config();
    cfg.delay_open = Some(Duration::from_secs(5));
    let mut h = Harness::new(cfg);
    h.handle(Event::ManualStart);
    h.handle(Event::TcpCrAcked);
    let a = h.handle(Event::BgpOpen(peer_open()));
    assert_eq!(
        a,
        vec![
            Action::Send(Message::Open(h.s.local_open().clone())),
            Action::Send(Message::Keepalive)
        ]
    );
    assert_eq!(h.s.state(), State::OpenConfirm);
    assert_eq!(h.timer_in(Timer::DelayOpen), None);
    assert_eq!(h.timer_in(Timer::Hold), Some(Duration::from_secs(90)));
}

#[test]
fn active_open_during_delay_open_goes_open_confirm() {
    let mut cfg = config();
    cfg.delay_open = Some(Duration::from_secs(5));
    cfg.passive = true;
    let mut h = Harness::new(cfg);
    h.handle(Event::ManualStart);
    assert_eq!(h.s.state(), State::Active);
    h.handle(Event::TcpConnectionConfirmed);
    assert_eq!(h.s.state(), State::Active);
    h.handle(Event::BgpOpen(peer_open()));
    assert_eq!(h.s.state(), State::OpenConfirm);
}

#[test]
fn connect_tcp_fails_with_delay_open_goes_active() {
    let mut cfg = config();
    cfg.delay_open = Some(Duration::from_secs(5));
    let mut h = Harness::new(cfg);
    h.handle(Event::ManualStart);
    h.handle(Event::TcpCrAcked);
    let a = h.handle(Event::TcpConnectionFails);
    assert_eq!(a, vec![Action::CloseTcp]);
    assert_eq!(h.s.state(), State::Active);
    assert_eq!(h.timer_in(Timer::DelayOpen), None);
    assert_eq!(
        h.timer_in(Timer::ConnectRetry),
        Some(Duration::from_secs(120))
    );
    // ConnectRetry in Active: connect again.
    assert_eq!(h.advance(120), vec![Action::Connect]);
    assert_eq!(h.s.state(), State::Connect);
}

#[test]
fn connect_unexpected_message_goes_idle() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    let a = h.handle(Event::KeepAliveMsg);
    assert_eq!(
        a,
        vec![Action::CloseTcp, Action::Down(DownReason::Unexpected)]
    );
    assert_eq!(h.s.state(), State::Idle);
}

#[test]
fn open_sent_tcp_fails_goes_active() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    assert_eq!(h.handle(Event::TcpConnectionFails), vec![Action::CloseTcp]);
    assert_eq!(h.s.state(), State::Active);
    assert_eq!(h.timer_in(Timer::Hold), None);
    assert_eq!(
        h.timer_in(Timer::ConnectRetry),
        Some(Duration::from_secs(120))
    );
}

#[test]
fn open_sent_hold_expires_sends_code_4() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    assert_eq!(h.advance(239), vec![]);
    let a = h.advance(1);
    assert_failed_with(&h, &a, ErrorCode::HoldTimerExpired, 0);
}

#[test]
fn open_confirm_hold_expires_sends_code_4() {
    let mut h = Harness::new(config());
    h.reach_open_confirm();
    let a = h.advance(90);
    assert_failed_with(&h, &a, ErrorCode::HoldTimerExpired, 0);
    // The hold timer is handled first: no KEEPALIVE after the NOTIFICATION.
    assert!(!a.contains(&Action::Send(Message::Keepalive)), "{a:?}");
}

#[test]
fn established_hold_expires_sends_code_4() {
    let mut h = Harness::new(config());
    h.reach_established();
    assert_eq!(h.advance(30), vec![Action::Send(Message::Keepalive)]);
    assert_eq!(h.advance(30), vec![Action::Send(Message::Keepalive)]);
    let a = h.advance(30);
    assert_failed_with(&h, &a, ErrorCode::HoldTimerExpired, 0);
    assert_eq!(h.s.negotiated(), None);
}

#[test]
fn established_keepalive_cadence_and_hold_restart() {
    let mut h = Harness::new(config());
    h.reach_established();
    for _ in 0..10 {
        assert_eq!(h.advance(29), vec![]);
        assert_eq!(h.advance(1), vec![Action::Send(Message::Keepalive)]);
        // The peer's KEEPALIVE and UPDATE restart the hold timer.
        assert_eq!(h.handle(Event::KeepAliveMsg), vec![]);
        assert_eq!(h.timer_in(Timer::Hold), Some(Duration::from_secs(90)));
    }
    h.advance(15);
    assert_eq!(h.handle(Event::UpdateMsg), vec![]);
    assert_eq!(h.timer_in(Timer::Hold), Some(Duration::from_secs(90)));
    assert_eq!(h.s.state(), State::Established);
}

#[test]
fn established_hold_zero_runs_no_timers() {
    let mut cfg = config();
    cfg.hold_time = 0;
    let mut h = Harness::new(cfg);
    h.reach_established();
    assert_eq!(h.timer_in(Timer::Hold), None);
    assert_eq!(h.timer_in(Timer::Keepalive), None);
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.advance(100_000), vec![]);
    assert_eq!(h.s.state(), State::Established);
}

#[test]
fn open_confirm_negotiates_smaller_hold_time() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    let mut o = peer_open();
    o.hold_time = 9;
    h.handle(Event::BgpOpen(o));
    assert_eq!(h.timer_in(Timer::Hold), Some(Duration::from_secs(9)));
    assert_eq!(h.timer_in(Timer::Keepalive), Some(Duration::from_secs(3)));
    assert_eq!(h.advance(3), vec![Action::Send(Message::Keepalive)]);
}

#[test]
fn any_state_notification_received_goes_idle() {
    let n = Notification::new(ErrorCode::Cease, 2, vec![]);
    type Setup = fn(&mut Harness);
    let setups: [(State, Setup); 5] = [
        (State::Connect, |h| {
            h.handle(Event::ManualStart);
        }),
        (State::Active, |h| {
            h.handle(Event::AutomaticStart { passive: true });
        }),
        (State::OpenSent, Harness::reach_open_sent),
        (State::OpenConfirm, Harness::reach_open_confirm),
        (State::Established, Harness::reach_established),
    ];
    for (state, setup) in setups {
        let mut h = Harness::new(config());
        setup(&mut h);
        assert_eq!(h.s.state(), state);
        let a = h.handle(Event::NotifMsg(n.clone()));
        assert_eq!(
            a,
            vec![
                Action::CloseTcp,
                Action::Down(DownReason::Notification(n.clone()))
            ],
            "in {state:?}"
        );
        assert_eq!(h.s.state(), State::Idle, "from {state:?}");
        assert!(sent_notification(&a).is_none());
    }
}

#[test]
fn open_sent_unexpected_message_sends_fsm_error_1() {
    for ev in [
        Event::KeepAliveMsg,
        Event::UpdateMsg,
        Event::UpdateMsgErr(Notification::new(ErrorCode::Update, 1, vec![])),
        Event::RouteRefreshMsg,
    ] {
        let mut h = Harness::new(config());
        h.reach_open_sent();
        let a = h.handle(ev);
        assert_failed_with(&h, &a, ErrorCode::Fsm, 1);
    }
}

#[test]
fn open_confirm_unexpected_message_sends_fsm_error_2() {
    for ev in [
        Event::UpdateMsg,
        Event::BgpOpen(peer_open()),
        Event::RouteRefreshMsg,
    ] {
        let mut h = Harness::new(config());
        h.reach_open_confirm();
        let a = h.handle(ev);
        assert_failed_with(&h, &a, ErrorCode::Fsm, 2);
    }
}

#[test]
fn established_open_sends_fsm_error_3() {
    let mut h = Harness::new(config());
    h.reach_established();
    let a = h.handle(Event::BgpOpen(peer_open()));
    assert_failed_with(&h, &a, ErrorCode::Fsm, 3);
}

#[test]
fn established_update_error_sends_its_notification() {
    let mut h = Harness::new(config());
    h.reach_established();
    let n = Notification::new(ErrorCode::Update, 1, vec![]);
    let a = h.handle(Event::UpdateMsgErr(n));
    assert_failed_with(&h, &a, ErrorCode::Update, 1);
}

#[test]
fn open_sent_header_error_sends_its_notification() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    let n = Notification::new(ErrorCode::MessageHeader, 1, vec![]);
    let a = h.handle(Event::BgpHeaderErr(n));
    assert_failed_with(&h, &a, ErrorCode::MessageHeader, 1);
}

/// Sends `open` in OpenSent and expects an OPEN Message Error `subcode`.
fn reject(cfg: SessionConfig, open: Open, subcode: u8) -> Vec<Action> {
    let mut h = Harness::new(cfg);
    h.reach_open_sent();
    let a = h.handle(Event::BgpOpen(open));
    assert_failed_with(&h, &a, ErrorCode::Open, subcode);
    a
}

#[test]
fn open_sent_bad_version_sends_unsupported_version() {
    let mut o = peer_open();
    o.version = 5;
    let a = reject(config(), o, 1);
    assert_eq!(sent_notification(&a).unwrap().data, vec![0, 4]);
}

#[test]
fn open_sent_bad_peer_as_sends_bad_peer_as() {
    let mut wrong = peer_open();
    wrong.my_as = 65009;
    wrong.capabilities = vec![Capability::FourOctetAs(65009)];
    reject(config(), wrong, 2);

    // My AS = AS_TRANS without the 4-octet capability.
    let mut cfg = config();
    cfg.peer_as = PeerAs::Any;
    let mut trans = peer_open();
    trans.my_as = AS_TRANS;
    trans.capabilities.clear();
    reject(cfg.clone(), trans, 2);

    // 4-octet AS that needs AS_TRANS in My AS, but My AS is something else.
    let mut inconsistent = peer_open();
    inconsistent.my_as = 100;
    inconsistent.capabilities = vec![Capability::FourOctetAs(4_200_000_000)];
    reject(cfg.clone(), inconsistent, 2);

    // 2-octet-sized capability value differing from My AS.
    let mut differ = peer_open();
    differ.capabilities = vec![Capability::FourOctetAs(PEER_AS + 1)];
    reject(cfg.clone(), differ, 2);

    // AS_TRANS in the capability itself, and AS 0 (RFC 7607).
    let mut cap_trans = peer_open();
    cap_trans.my_as = AS_TRANS;
    cap_trans.capabilities = vec![Capability::FourOctetAs(AS_TRANS.into())];
    reject(cfg.clone(), cap_trans, 2);
    let mut zero = peer_open();
    zero.my_as = 0;
    zero.capabilities.clear();
    reject(cfg, zero, 2);
}

#[test]
fn open_sent_four_octet_peer_in_range_accepted() {
    let mut cfg = config();
    cfg.peer_as = PeerAs::Range(4_200_000_000..=4_200_000_100);
    let mut h = Harness::new(cfg.clone());
    h.reach_open_sent();
    let mut o = peer_open();
    o.my_as = AS_TRANS;
    o.capabilities = vec![Capability::FourOctetAs(4_200_000_050)];
    h.handle(Event::BgpOpen(o.clone()));
    assert_eq!(h.s.state(), State::OpenConfirm);
    assert_eq!(h.s.negotiated().unwrap().peer_as, 4_200_000_050);
    o.capabilities = vec![Capability::FourOctetAs(4_200_000_101)];
    reject(cfg, o, 2);
}

#[test]
fn open_sent_hold_time_one_or_two_sends_unacceptable_hold_time() {
    for hold in [1, 2] {
        let mut o = peer_open();
        o.hold_time = hold;
        reject(config(), o, 6);
    }
}

#[test]
fn open_sent_bad_bgp_id_sends_bad_bgp_identifier() {
    let mut zero = peer_open();
    zero.bgp_id = Ipv4Addr::UNSPECIFIED;
    reject(config(), zero, 3);
    // iBGP peer with our identifier.
    let mut cfg = config();
    cfg.peer_as = PeerAs::Exact(LOCAL_AS);
    let mut same = peer_open();
    same.my_as = u16::try_from(LOCAL_AS).unwrap();
    same.capabilities = vec![Capability::FourOctetAs(LOCAL_AS)];
    same.bgp_id = cfg.local_id;
    reject(cfg, same, 3);
}

#[test]
fn open_sent_ebgp_same_bgp_id_accepted() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    let mut o = peer_open();
    o.bgp_id = h.s.config().local_id;
    h.handle(Event::BgpOpen(o));
    assert_eq!(h.s.state(), State::OpenConfirm);
}

#[test]
fn open_sent_role_mismatch_sends_role_mismatch() {
    let mut cfg = config();
    cfg.role = Some(RoleConfig {
        local: Role::RouteServer,
        strict: true,
    });
    // Strict: no Role capability.
    reject(cfg.clone(), peer_open(), 11);
    // Roles that do not pair.
    let mut o = peer_open();
    o.capabilities.push(Capability::Role(Role::Customer));
    reject(cfg.clone(), o, 11);
    // Conflicting Role capabilities.
    let mut o = peer_open();
    o.capabilities
        .push(Capability::Role(Role::RouteServerClient));
    o.capabilities.push(Capability::Role(Role::Peer));
    reject(cfg.clone(), o, 11);
    // Matching role passes and is reported.
    let mut h = Harness::new(cfg.clone());
    h.reach_open_sent();
    let mut o = peer_open();
    o.capabilities
        .push(Capability::Role(Role::RouteServerClient));
    h.handle(Event::BgpOpen(o));
    assert_eq!(
        h.s.negotiated().unwrap().remote_role,
        Some(Role::RouteServerClient)
    );
    // Not strict: a missing role is accepted.
    cfg.role = Some(RoleConfig {
        local: Role::RouteServer,
        strict: false,
    });
    let mut h = Harness::new(cfg);
    h.reach_open_sent();
    h.handle(Event::BgpOpen(peer_open()));
    assert_eq!(h.s.state(), State::OpenConfirm);
}

#[test]
fn established_manual_stop_sends_admin_shutdown_with_text() {
    let mut h = Harness::new(config());
    h.reach_established();
    let a = h.handle(Event::ManualStop {
        communication: Some("maintenance until 23:00".into()),
    });
    let n = sent_notification(&a).unwrap().clone();
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 2));
    assert_eq!(n.shutdown_communication(), Some("maintenance until 23:00"));
    assert!(a.contains(&Action::Down(DownReason::Stop(Some(n)))));
    assert_eq!(h.s.state(), State::Idle);
    assert_eq!(h.s.connect_retry_counter(), 0);
    // No automatic restart after a manual stop.
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.advance(10_000), vec![]);
}

#[test]
fn established_manual_stop_with_notification_sends_it_and_stays_down() {
    let mut h = Harness::new(config());
    h.reach_established();
    let max_prefix = Notification::new(
        ErrorCode::Cease,
        crate::iana::cease::MAX_PREFIXES,
        vec![0, 1, 1, 0, 0, 0, 3],
    );
    let a = h.handle(Event::ManualStopWith(max_prefix.clone()));
    assert_eq!(sent_notification(&a), Some(&max_prefix));
    assert!(a.contains(&Action::Down(DownReason::Stop(Some(max_prefix)))));
    assert_eq!(h.s.state(), State::Idle);
    assert_eq!(h.s.poll_timeout(), None, "no automatic restart");
    assert_eq!(h.advance(10_000), vec![]);
}

#[test]
fn open_sent_manual_stop_without_text_sends_bare_cease() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    let a = h.handle(Event::ManualStop {
        communication: None,
    });
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode, n.data.len()), (ErrorCode::Cease, 2, 0));
}

#[test]
fn connect_manual_stop_goes_idle_without_notification() {
    let mut h = Harness::new(config());
    h.handle(Event::ManualStart);
    let a = h.handle(Event::ManualStop {
        communication: None,
    });
    assert_eq!(
        a,
        vec![Action::CloseTcp, Action::Down(DownReason::Stop(None))]
    );
}

#[test]
fn established_automatic_stop_sends_given_cease_and_restarts_later() {
    let mut h = Harness::new(config());
    h.reach_established();
    let n = Notification::new(ErrorCode::Cease, 1, vec![0, 1, 1, 0, 0, 0, 100]);
    let a = h.handle(Event::AutomaticStop(n.clone()));
    assert_eq!(sent_notification(&a), Some(&n));
    assert_eq!(h.timer_in(Timer::IdleHold), Some(Duration::from_secs(5)));
    assert_eq!(h.advance(5), vec![Action::Connect]);
}

#[test]
fn open_sent_collision_dump_sends_cease_7() {
    let mut h = Harness::new(config());
    h.reach_open_sent();
    let a = h.handle(Event::OpenCollisionDump);
    assert_failed_with(&h, &a, ErrorCode::Cease, 7);
}

/// Two connections to one peer, both reaching OpenConfirm; the driver
/// resolves the collision and dumps the loser.
fn collide(local_id: [u8; 4], peer_id: [u8; 4]) -> (Harness, Harness, collision::Initiator) {
    let mut cfg = config();
    cfg.local_id = Ipv4Addr::from(local_id);
    let mut outgoing = Harness::new(cfg.clone());
    let mut incoming = Harness::new(cfg.clone());
    let mut o = peer_open();
    o.bgp_id = Ipv4Addr::from(peer_id);
    outgoing.reach_open_sent();
    incoming.handle(Event::AutomaticStart { passive: true });
    incoming.handle(Event::TcpConnectionConfirmed);
    outgoing.handle(Event::BgpOpen(o.clone()));
    assert_eq!(outgoing.s.state(), State::OpenConfirm);
    // The OPEN on the incoming connection meets the outgoing one in
    // OpenConfirm.
    let local = collision::Speaker {
        id: cfg.local_id,
        asn: LOCAL_AS,
    };
    let remote = collision::Speaker {
        id: o.bgp_id,
        asn: PEER_AS,
    };
    let r = collision::resolve(
        local,
        remote,
        collision::Initiator::Local,
        outgoing.s.state(),
    )
    .unwrap();
    incoming.handle(Event::BgpOpen(o));
    let loser = match r.close {
        collision::Initiator::Local => &mut outgoing,
        collision::Initiator::Remote => &mut incoming,
    };
    let a = loser.handle(Event::OpenCollisionDump);
    assert_eq!(sent_notification(&a), Some(&r.notification));
    assert_eq!(loser.s.state(), State::Idle);
    (outgoing, incoming, r.keep)
}

#[test]
fn open_confirm_collision_higher_local_id_keeps_outgoing() {
    let (mut outgoing, incoming, keep) = collide([10, 0, 0, 9], [10, 0, 0, 2]);
    assert_eq!(keep, collision::Initiator::Local);
    assert_eq!(incoming.s.state(), State::Idle);
    assert!(matches!(
        outgoing.handle(Event::KeepAliveMsg).as_slice(),
        [Action::Established(_)]
    ));
}

#[test]
fn open_confirm_collision_lower_local_id_keeps_incoming() {
    let (outgoing, mut incoming, keep) = collide([10, 0, 0, 1], [10, 0, 0, 2]);
    assert_eq!(keep, collision::Initiator::Remote);
    assert_eq!(outgoing.s.state(), State::Idle);
    assert_eq!(incoming.s.state(), State::OpenConfirm);
    assert!(matches!(
        incoming.handle(Event::KeepAliveMsg).as_slice(),
        [Action::Established(_)]
    ));
}

#[test]
fn idle_hold_doubles_per_consecutive_failure_up_to_max() {
    let mut cfg = config();
    cfg.idle_hold = IdleHoldConfig {
        start: Duration::from_secs(5),
        max: Duration::from_secs(30),
        forget: Duration::from_secs(300),
    };
    let mut h = Harness::new(cfg);
    h.handle(Event::ManualStart);
    let mut waits = Vec::new();
    for _ in 0..6 {
        assert_eq!(h.s.state(), State::Connect);
        h.handle(Event::TcpConnectionFails);
        assert_eq!(h.s.state(), State::Idle);
        let wait = h.timer_in(Timer::IdleHold).unwrap();
        waits.push(wait.as_secs());
        assert_eq!(h.advance(wait.as_secs() - 1), vec![]);
        assert_eq!(h.advance(1), vec![Action::Connect]);
    }
    assert_eq!(waits, vec![5, 10, 20, 30, 30, 30]);
    // A manual start resets the damping.
    h.handle(Event::ManualStop {
        communication: None,
    });
    h.handle(Event::ManualStart);
    h.handle(Event::TcpConnectionFails);
    assert_eq!(h.timer_in(Timer::IdleHold), Some(Duration::from_secs(5)));
}

#[test]
fn established_long_enough_forgets_failures() {
    let mut cfg = config();
    cfg.hold_time = 0;
    cfg.idle_hold.forget = Duration::from_secs(60);
    let mut h = Harness::new(cfg);
    h.reach_established();
    h.handle(Event::TcpConnectionFails);
    assert_eq!(h.timer_in(Timer::IdleHold), Some(Duration::from_secs(5)));
    h.advance(5);
    h.handle(Event::TcpCrAcked);
    h.handle(Event::BgpOpen(peer_open()));
    h.handle(Event::KeepAliveMsg);
    // A short Established period: the next wait doubles.
    h.advance(10);
    h.handle(Event::TcpConnectionFails);
    assert_eq!(h.timer_in(Timer::IdleHold), Some(Duration::from_secs(10)));
    h.advance(10);
    h.handle(Event::TcpCrAcked);
    h.handle(Event::BgpOpen(peer_open()));
    h.handle(Event::KeepAliveMsg);
    // A long one: back to the start value.
    h.advance(61);
    h.handle(Event::TcpConnectionFails);
    assert_eq!(h.timer_in(Timer::IdleHold), Some(Duration::from_secs(5)));
}

/// Turns a decoded message into the event the receiving session expects.
fn event_for(msg: Message) -> Event {
    match msg {
        Message::Open(o) => Event::BgpOpen(o),
        Message::Update(_) => Event::UpdateMsg,
        Message::Notification(n) => Event::NotifMsg(n),
        Message::Keepalive => Event::KeepAliveMsg,
        Message::RouteRefresh(_) => Event::RouteRefreshMsg,
    }
}

/// Two sessions wired back to back through the real codec, virtual time.
struct Pair {
    a: Session,
    b: Session,
    now: Instant,
    a_up: bool,
    b_up: bool,
}

impl Pair {
    /// Drains both sessions, delivering bytes across; returns the actions
    /// other than Send/Connect seen on each side.
    fn pump(&mut self) -> (Vec<Action>, Vec<Action>) {
        let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
        for _ in 0..50 {
            let mut progressed = false;
            for side in [0, 1] {
                let (from, to) = if side == 0 {
                    (&mut self.a, &mut self.b)
                } else {
                    (&mut self.b, &mut self.a)
                };
                while let Some(action) = from.poll_action() {
                    progressed = true;
                    match action {
                        Action::Connect => {
                            from.handle(self.now, Event::TcpCrAcked);
                            to.handle(self.now, Event::TcpConnectionConfirmed);
                        }
                        Action::Send(m) => {
                            let mut wire = bytes::BytesMut::new();
                            m.encode(&crate::EncodeCtx::modern(), &mut wire).unwrap();
                            let len = crate::msg::header::peek_len(&wire, 4096).unwrap();
                            assert_eq!(len, Some(wire.len()));
                            let back = Message::decode(&wire, &crate::DecodeCtx::modern()).unwrap();
                            to.handle(self.now, event_for(back));
                        }
                        other => {
                            if matches!(other, Action::Established(_)) {
                                *(if side == 0 {
                                    &mut self.a_up
                                } else {
                                    &mut self.b_up
                                }) = true;
                            }
                            if side == 0 { &mut seen_a } else { &mut seen_b }.push(other);
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        (seen_a, seen_b)
    }

    fn run_for(&mut self, secs: u64) {
        let end = self.now + Duration::from_secs(secs);
        for _ in 0..100_000 {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    self.b.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = end;
    }
}

#[test]
fn pair_over_wire_establishes_keeps_alive_and_shuts_down() {
    let a_cfg = config();
    let mut b_cfg = SessionConfig::new(PEER_AS, Ipv4Addr::new(10, 0, 0, 2), PeerAs::Any);
    b_cfg.passive = true;
    b_cfg.hold_time = 30;
    b_cfg.delay_open = Some(Duration::from_secs(2));
    let mut p = Pair {
        a: Session::new(a_cfg),
        b: Session::new(b_cfg),
        now: Instant::now(),
        a_up: false,
        b_up: false,
    };
    p.b.handle(p.now, Event::ManualStart);
    p.a.handle(p.now, Event::ManualStart);
    p.pump();
    p.run_for(5);
    assert!(p.a_up && p.b_up);
    assert_eq!(p.a.negotiated().unwrap().hold_time, 30);
    assert_eq!(p.b.negotiated().unwrap().peer_as, LOCAL_AS);
    // Ten minutes of keepalives every 10 s keep both hold timers happy.
    p.run_for(600);
    assert_eq!(
        (p.a.state(), p.b.state()),
        (State::Established, State::Established)
    );
    p.a.handle(
        p.now,
        Event::ManualStop {
            communication: Some("bye".into()),
        },
    );
    let (_, seen_b) = p.pump();
    let Some(Action::Down(DownReason::Notification(n))) = seen_b.last() else {
        panic!("{seen_b:?}")
    };
    assert_eq!(n.shutdown_communication(), Some("bye"));
    assert_eq!((p.a.state(), p.b.state()), (State::Idle, State::Idle));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Event> {
        let n = Notification::new(ErrorCode::Cease, 2, vec![]);
        prop_oneof![
            Just(Event::ManualStart),
            Just(Event::ManualStop {
                communication: None
            }),
            any::<bool>().prop_map(|passive| Event::AutomaticStart { passive }),
            Just(Event::AutomaticStop(n.clone())),
            Just(Event::TcpCrAcked),
            Just(Event::TcpConnectionConfirmed),
            Just(Event::TcpConnectionFails),
            (0u16..5, any::<bool>()).prop_map(|(hold, bad)| {
                let mut o = peer_open();
                o.hold_time = hold * 30;
                if bad {
                    o.version = 3;
                }
                Event::BgpOpen(o)
            }),
            Just(Event::BgpHeaderErr(n.clone())),
            Just(Event::OpenCollisionDump),
            Just(Event::NotifMsg(n.clone())),
            Just(Event::KeepAliveMsg),
            Just(Event::UpdateMsg),
            Just(Event::UpdateMsgErr(n)),
            Just(Event::RouteRefreshMsg),
        ]
    }

    proptest! {
        /// Any event sequence at any pace keeps the invariants: Idle runs
        /// at most the idle hold timer, Established has negotiated
        /// parameters, and every fall to Idle is reported once.
        #[test]
        fn any_event_sequence_keeps_invariants(
            steps in proptest::collection::vec((event(), 0u64..200), 0..60),
            delay_open: bool,
        ) {
            let mut cfg = config();
            if delay_open {
                cfg.delay_open = Some(Duration::from_secs(3));
            }
            let mut h = Harness::new(cfg);
            for (ev, wait) in steps {
                let before = h.s.state();
                let mut actions = h.handle(ev);
                actions.extend(h.advance(wait));
                let downs = actions.iter().filter(|a| matches!(a, Action::Down(_))).count();
                prop_assert!(downs <= 2, "{actions:?}");
                if before != State::Idle && h.s.state() == State::Idle {
                    prop_assert!(downs >= 1, "{before:?} -> Idle without Down: {actions:?}");
                }
                match h.s.state() {
                    State::Idle => {
                        for t in [Timer::Hold, Timer::Keepalive, Timer::ConnectRetry, Timer::DelayOpen] {
                            prop_assert!(!h.s.timers().is_running(t), "{t:?} in Idle");
                        }
                    }
                    State::OpenConfirm | State::Established => {
                        prop_assert!(h.s.negotiated().is_some());
                    }
                    _ => {}
                }
                if let Some(t) = h.s.poll_timeout() {
                    prop_assert!(t > h.now, "stale deadline");
                }
            }
        }
    }
}
