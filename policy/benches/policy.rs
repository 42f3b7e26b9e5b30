//! Policy benches: route evaluations per second through an IXP-style import
//! filter, and loading a large (IRR-scale) prefix set.
//!
//! `cargo bench -p rampart-policy --bench policy`

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::attr::{AsPath, Community, NextHop, Origin, PathAttributes};
use rampart_core::mrt::{MrtReader, MrtRoutes};
use rampart_core::nlri::{Ipv4Prefix, Prefix};
use rampart_policy::{RouteContext, load_files, load_str};

fn routes(n: u32) -> Vec<(Prefix, PathAttributes)> {
    (0..n)
        .map(|i| {
            let a = 0x0100_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761) & 0xFFFF_FF00);
            let len = 16 + (i % 9) as u8;
            let p = Prefix::V4(
                Ipv4Prefix::new(Ipv4Addr::from_bits(a), len).unwrap_or_else(|| unreachable!()),
            );
            let attrs = PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence([64501, 64600 + i % 50, 65000 + i % 7]),
                next_hop: Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
                communities: vec![
                    Community::new(64501, (i % 100) as u16),
                    Community::new(0, 1),
                ]
                .into(),
                ..PathAttributes::default()
            };
            (p, attrs)
        })
        .collect()
}

fn eval(c: &mut Criterion) {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/tenant.policy");
    let policy = load_files(&[file]).unwrap_or_else(|d| panic!("{}", d.render()));
    let f = policy
        .filter_id("import-tenant")
        .unwrap_or_else(|| unreachable!());
    let rs = routes(10_000);
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(rs.len() as u64));
    g.bench_function("import-tenant x10k", |b| {
        let mut work = rs.clone();
        b.iter(|| {
            let mut accepted = 0u32;
            for ((p, a), (_, orig)) in work.iter_mut().zip(&rs) {
                a.communities.clone_from(&orig.communities);
                let mut ctx = RouteContext::new(*p, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 64501);
                ctx.peer_role = "rs-client";
                if policy.evaluate(f, &ctx, a) == rampart_policy::Verdict::Accept {
                    accepted += 1;
                }
            }
            black_box(accepted)
        });
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let mut src = String::from("prefix-set irr {\n");
    for i in 0..1_000_000u32 {
        let a = Ipv4Addr::from_bits(i.wrapping_mul(2_654_435_761) & 0xFFFF_FF00);
        let _ = writeln!(src, "  {a}/24 le 32;");
    }
    src.push_str("}\nfilter f { if prefix in irr then accept; }\n");
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("prefix-set 1M entries", |b| {
        b.iter(|| black_box(load_str(&[("irr.policy", &src)]).map(|p| p.test_count())))
    });
    g.finish();
}

/// The RIPE RIS table of 2002-07-22 through `ixp-rs-import`, each route
/// judged as if announced by the peer that recorded it.
fn eval_mrt(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/mrt/ripe-ncc-bgpdump/bview.20020722.2337.gz"
    );
    let Ok(file) = rampart_core::mrt::open_file(path) else {
        eprintln!("skipping the MRT bench: {path} not found (see shared/data/README)");
        return;
    };
    let routes: Vec<_> = MrtRoutes::new(MrtReader::new(file))
        .filter_map(Result::ok)
        .map(|r| {
            (
                r.prefix,
                r.peer.addr,
                r.peer.asn,
                PathAttributes::clone(&r.attrs),
            )
        })
        .collect();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stdlib/ixp-route-server.policy"
    );
    let policy = load_files(&[file]).unwrap_or_else(|d| panic!("{}", d.render()));
    let f = policy
        .filter_id("ixp-rs-import")
        .unwrap_or_else(|| unreachable!());
    let mut work = routes.clone();
    let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (p, addr, asn, a) in &mut work.clone() {
        let v = policy.evaluate(f, &RouteContext::new(*p, *addr, *asn), a);
        let key = match v {
            rampart_policy::Verdict::Accept => "accept".to_owned(),
            rampart_policy::Verdict::Reject(r) => r.to_string(),
        };
        *reasons.entry(key).or_default() += 1;
    }
    eprintln!("{} routes from {path}: {reasons:?}", routes.len());
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(routes.len() as u64));
    g.sample_size(10);
    g.bench_function("ixp-rs-import over bview.20020722", |b| {
        b.iter(|| {
            let mut accepted = 0u32;
            for ((p, addr, asn, a), (_, _, _, orig)) in work.iter_mut().zip(&routes) {
                // Undo the actions that change later verdicts (blackhole next hop).
                a.next_hop = orig.next_hop;
                a.local_pref = orig.local_pref;
                let ctx = RouteContext::new(*p, *addr, *asn);
                if policy.evaluate(f, &ctx, a) == rampart_policy::Verdict::Accept {
                    accepted += 1;
                }
            }
            black_box(accepted)
        });
    });
    g.finish();
}

criterion_group!(benches, eval, eval_mrt, load);
criterion_main!(benches);
