//! Enhanced route refresh from a speaker (RFC 7313 §4): between its BoRR
//! and EoRR a speaker sends its routes again; at the EoRR rampartd removes
//! the paths it did not send (no withdrawal needed), so the other clients
//! get a withdrawal for those and nothing for the ones sent again. BIRD
//! withdraws what it stops exporting before the EoRR, so it cannot show
//! the sweep; the test plays the speaker over real TCP (BIRD covers the
//! capability and the other direction in `interop_bird`).

use std::time::Duration;

use rampart_core::cap::Capability;
use rampart_core::msg::{Message, RouteRefresh, RouteRefreshSubtype};
use rampart_core::nlri::AfiSafi;
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

#[test]
fn paths_not_sent_again_before_eorr_are_removed() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("enhanced-refresh");
    let TwoClients {
        mut a,
        mut b,
        rampartd,
        ns,
    } = two_clients_with(
        "err-sweep",
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &[Capability::RouteRefresh, Capability::EnhancedRouteRefresh],
    )
    .unwrap();
    let log = || rampartd.log();
    let kept = ipv4("203.0.113.0/24");
    let dropped = ipv4("198.51.100.0/24");
    a.announce(kept, &[64501], A).unwrap();
    a.announce(dropped, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, dropped));
    assert!(got, "B never got {dropped}\n{}", log());

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
    // EoRR: the path A did not send again goes, the other stays.
    a.send(&demarcation(RouteRefreshSubtype::EoRR)).unwrap();
    let (seen, got) = b.updates_until(WAIT, |u| withdraws(u, dropped));
    assert!(got, "B never lost {dropped}: {seen:?}\n{}", log());
    assert!(!seen.iter().any(|u| withdraws(u, kept)), "{seen:?}");
    let out = rampart_tests::harness::rampartctl(
        env!("CARGO_BIN_EXE_rampartctl"),
        &dir,
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
    drop((a, b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
