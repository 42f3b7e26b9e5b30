//! Sessions over IPv6 transport: speakers and a monitor on their own
//! fd00:198:18::/64 addresses in a namespace, BIRD 2 listening on
//! fd00:198:18::1; IPv6 prefixes with the speakers' own next hops.

use std::time::Duration;

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir, wait_for};

mod common;

const SPEAKERS: [&str; 2] = ["fd00:198:18::101", "fd00:198:18::102"];
const MONITOR: &str = "fd00:198:18::201";

fn bird_config() -> String {
    let mut s = String::from(
        "router id 198.18.0.1;\nprotocol device {}\n\
         template bgp rsc {\n  local fd00:198:18::1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  passive on;\n  ipv6 { import all; export all; };\n}\n",
    );
    for (i, a) in SPEAKERS.iter().enumerate() {
        s.push_str(&format!(
            "protocol bgp sp{i} from rsc {{ neighbor {a} as {}; }}\n",
            65_001 + i
        ));
    }
    s.push_str(&format!(
        "protocol bgp mon from rsc {{ neighbor {MONITOR} as 4200000001; }}\n"
    ));
    s
}

#[test]
fn sessions_over_ipv6_transport_deliver_ipv6_prefixes() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP sessions_over_ipv6_transport_deliver_ipv6_prefixes: {why}");
        return;
    }
    let dir = tempdir("loadgen-ipv6");
    let ns = Netns::new("lgipv6").unwrap();
    for a in SPEAKERS.iter().chain([&MONITOR]) {
        ns.add_v6(a).unwrap();
    }
    let bird = Bird::start(&ns, &dir, &bird_config()).unwrap();
    let child = common::spawn(
        &ns,
        "[fd00:198:18::1]:179",
        &[
            "--source",
            SPEAKERS[0],
            "--monitor-source",
            MONITOR,
            "--monitors",
            "1",
            "--speakers",
            "2",
            "--table",
            "synth:0+400",
            "--next-hop-self",
            "--timeout",
            "20",
            "--connect-timeout",
            "20",
            "--hold-after",
            "3",
        ],
    );
    // BIRD holds them (while the sessions are held up) with the speakers'
    // IPv6 addresses as next hops.
    let routes = wait_for("BIRD to hold 800 routes", Duration::from_secs(20), || {
        (bird.route_count() == Some(800)).then_some(())?;
        bird.birdc("show route all").ok()
    });
    let rep = common::report(child);
    assert!(rep.ok, "{rep:#?}\n{}", bird.log());
    assert_eq!(rep.expected_prefixes, 800);
    assert_eq!(
        rep.sessions_failed + rep.sessions_down,
        0,
        "{:?}",
        rep.errors
    );
    let routes = routes.unwrap_or_else(|e| panic!("{e}: {}", bird.log()));
    assert!(
        routes.contains(SPEAKERS[0]) && routes.contains(SPEAKERS[1]),
        "{routes}"
    );
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
