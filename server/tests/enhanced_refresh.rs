//! Enhanced route refresh from a speaker (RFC 7313 §4): between its BoRR
//! and EoRR a speaker sends its routes again; at the EoRR rampartd removes
//! the paths it did not send (no withdrawal needed), so the other clients
//! get a withdrawal for those and nothing for the ones sent again. BIRD
//! withdraws what it stops exporting before the EoRR, so it cannot show
//! the sweep; the test plays the speaker over real TCP (BIRD covers the
//! capability and the other direction in `interop_bird`). A speaker that
//! never sends its EoRR has the refresh ended for it after
//! `refresh-stale-time`.

use std::time::Duration;

use rampart_core::cap::Capability;
use rampart_core::msg::{Message, RouteRefresh, RouteRefreshSubtype};
use rampart_core::nlri::{AfiSafi, Ipv4Prefix};
use rampart_tests::harness::raw_peer::{
    A, TwoClients, announces, ipv4, two_clients_with, withdraws,
};
use rampart_tests::harness::{missing_prerequisite, tempdir};

const WAIT: Duration = Duration::from_secs(10);

fn demarcation(subtype: RouteRefreshSubtype) -> Message {
    Message::RouteRefresh(RouteRefresh {
        family: AfiSafi::IPV4_UNICAST,
        subtype,
    })
}

/// A speaker A (enhanced route refresh, `a_conf` in its `[[peer]]`) and a
/// client B; A announced `kept` and `dropped`, then sent a BoRR and `kept`
/// again, and B saw no withdrawal for 2 s.
struct Refreshing {
    clients: TwoClients,
    dir: std::path::PathBuf,
    kept: Ipv4Prefix,
    dropped: Ipv4Prefix,
}

fn refreshing(tag: &str, a_conf: &str) -> Option<Refreshing> {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return None;
    }
    let dir = tempdir(tag);
    let mut clients = two_clients_with(
        tag,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &[Capability::RouteRefresh, Capability::EnhancedRouteRefresh],
        a_conf,
    )
    .unwrap();
    let TwoClients { a, b, rampartd, .. } = &mut clients;
    let kept = ipv4("203.0.113.0/24");
    let dropped = ipv4("198.51.100.0/24");
    a.announce(kept, &[64501], A).unwrap();
    a.announce(dropped, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, dropped));
    assert!(got, "B never got {dropped}\n{}", rampartd.log());

    // BoRR, one route again, nothing for the other: still no withdrawal.
    a.send(&demarcation(RouteRefreshSubtype::BoRR)).unwrap();
    a.announce(kept, &[64501], A).unwrap();
    let (seen, _) = b.updates_until(Duration::from_secs(2), |_| false);
    assert!(
        !seen
            .iter()
            .any(|u| withdraws(u, dropped) || withdraws(u, kept)),
        "a withdrawal before EoRR: {seen:?}"
    );
    Some(Refreshing {
        clients,
        dir,
        kept,
        dropped,
    })
}

impl Refreshing {
    /// Stops rampartd and the namespace, then removes the folder.
    fn finish(self) {
        drop(self.clients);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// B loses `dropped` and keeps `kept`; rampartd holds `kept` alone.
fn assert_swept(r: &mut Refreshing) {
    let Refreshing {
        clients: TwoClients { b, rampartd, .. },
        dir,
        kept,
        dropped,
    } = r;
    let (seen, got) = b.updates_until(WAIT, |u| withdraws(u, *dropped));
    assert!(got, "B never lost {dropped}: {seen:?}\n{}", rampartd.log());
    assert!(!seen.iter().any(|u| withdraws(u, *kept)), "{seen:?}");
    let out = rampart_tests::harness::rampartctl(
        env!("CARGO_BIN_EXE_rampartctl"),
        dir,
        &["show", "routes", "--json"],
    )
    .unwrap();
    let routes: serde_json::Value = serde_json::from_str(&out).unwrap();
    let prefixes: Vec<&str> = routes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["prefix"].as_str())
        .collect();
    assert_eq!(prefixes, vec![kept.to_string()], "{routes}");
}

#[test]
fn paths_not_sent_again_before_eorr_are_removed() {
    let Some(mut r) = refreshing("err-sweep", "") else {
        return;
    };
    // EoRR: the path A did not send again goes, the other stays.
    r.clients
        .a
        .send(&demarcation(RouteRefreshSubtype::EoRR))
        .unwrap();
    assert_swept(&mut r);
    r.finish();
}

#[test]
fn a_missing_eorr_ends_the_refresh_after_refresh_stale_time() {
    // 4 s: past the 2 s in which `refreshing` saw no withdrawal.
    let Some(mut r) = refreshing("err-timeout", "refresh-stale-time = 4\n") else {
        return;
    };
    assert_swept(&mut r);
    let log = r.clients.rampartd.log();
    assert!(log.contains("no EoRR within refresh-stale-time"), "{log}");
    r.finish();
}
