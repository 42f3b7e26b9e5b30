//! Criterion bench: real tables from MRT into the RIB, the issue #2 bars.
//!
//! - `load/rib_slice_into_adj_in`: the 2026 route-views2 RIB slice (41k
//!   prefixes × 17 full feeds = 679k routes, TABLE_DUMP_V2), already
//!   decompressed in memory: MRT records → RIB entries → attributes interned
//!   by their raw bytes (parsed only on a miss) → Adj-RIB-In. Throughput in
//!   routes; the bar is a full IPv4 table (~1M routes) in under 1 s.
//! - `load/full_table_updates_into_adj_in`: the 2015 full IPv4 table sent
//!   as UPDATEs (577k prefixes): UPDATE view → interned attributes → NLRI
//!   into an Adj-RIB-In.
//! - `load/decode_intern_updates`: the same UPDATEs, decode plus interning
//!   only (no table): the 5 M prefixes/s/core bar.
//!
//! Each iteration starts from an empty interner and table. Missing data
//! files skip the bench with a message.

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use rampart_core::DecodeCtx;
use rampart_core::attr::{MpReachForm, decode_path_attributes};
use rampart_core::mrt::{Body, MrtReader};
use rampart_core::msg::update::UpdateView;
use rampart_core::rib::{AdjRibIn, Interner, Path, PeerId};

/// Loads every RIB entry of a TABLE_DUMP_V2 image into an Adj-RIB-In;
/// returns the routes inserted.
fn load_rib(image: &[u8]) -> (usize, AdjRibIn, Interner) {
    let mut interner = Interner::new();
    let mut adj = AdjRibIn::new();
    let ctx = DecodeCtx::modern();
    let mut routes = 0;
    let mut reader = MrtReader::new(image);
    while let Ok(Some(rec)) = reader.next_record() {
        let Ok(Body::Rib(rib)) = rec.decode() else {
            continue;
        };
        for e in rib.entries().flatten() {
            let set = interner.intern_raw(e.attrs, |raw| {
                let d = decode_path_attributes(raw, &ctx, MpReachForm::MrtAbbreviated).ok()?;
                let mut attrs = d.attrs;
                if let Some(mp) = d.mp_reach {
                    attrs.next_hop = Some(mp.next_hop);
                }
                Some(attrs)
            });
            let (Some(set), Some(peer)) = (set, PeerId::new(u32::from(e.peer_index))) else {
                continue;
            };
            if adj
                .insert(rib.prefix, Path::new(set, peer, e.path_id.unwrap_or(0)))
                .is_ok()
            {
                routes += 1;
            }
        }
    }
    (routes, adj, interner)
}

/// Decodes and interns every UPDATE; with `adj`, inserts its NLRI too.
/// Returns the prefixes seen.
fn ingest(updates: &[Vec<u8>], mut adj: Option<&mut AdjRibIn>) -> usize {
    let ctx = DecodeCtx::modern();
    let mut interner = Interner::new();
    let peer = PeerId::new(1).unwrap_or_else(|| unreachable!());
    let mut prefixes = 0;
    for body in updates {
        let Ok(view) = UpdateView::parse(body, &ctx) else {
            continue;
        };
        let set = interner.intern_raw(view.attr_bytes(), |_| {
            view.decode_attributes(&ctx).ok().map(|d| d.attrs)
        });
        for n in view.nlri() {
            prefixes += 1;
            if let (Some(adj), Some(set)) = (adj.as_deref_mut(), &set) {
                let _ = adj.insert(n.prefix, Path::new(set.clone(), peer, 0));
            }
        }
        prefixes += view.withdrawn().count();
    }
    prefixes
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    if let Some(image) =
        rampart_benches::read_all("sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2")
    {
        let (routes, _, interner) = load_rib(&image);
        eprintln!(
            "rib slice: {routes} routes, {} distinct attribute sets",
            interner.len()
        );
        g.throughput(Throughput::Elements(routes as u64));
        g.bench_function("rib_slice_into_adj_in", |b| {
            b.iter(|| black_box(load_rib(&image).0))
        });
    }
    if let Some(image) = rampart_benches::read_all("ripe-ncc-bgpdump/updates.et-header.2015.gz") {
        let ups = rampart_benches::update_bodies(&image);
        let n = ingest(&ups, None);
        eprintln!("full table: {} UPDATEs, {n} prefixes", ups.len());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("decode_intern_updates", |b| {
            b.iter(|| black_box(ingest(&ups, None)))
        });
        g.bench_function("full_table_updates_into_adj_in", |b| {
            b.iter(|| {
                let mut adj = AdjRibIn::with_capacity(600_000);
                black_box(ingest(&ups, Some(&mut adj)))
            });
        });
    }
    g.finish();
}

criterion::criterion_group!(benches, bench);
criterion::criterion_main!(benches);
