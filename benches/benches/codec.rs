//! Criterion bench: UPDATE codec on real data.
//!
//! Input: the RIPE RIS UPDATE stream in
//! `shared/data/mrt/ripe-ncc-bgpdump/updates.et-header.2015.gz` (a full
//! IPv4 table sent by one peer, BGP4MP_ET MESSAGE_AS4 records), read with
//! the core's MRT reader (`rampart_benches::update_bodies`).
//!
//! - `decode_update`: `UpdateView::parse`, iterate every NLRI and
//!   withdrawn prefix, decode the attributes into `PathAttributes`.
//! - `decode_update_owned`: `Update::decode` (the owned form).
//! - `encode_update_packed`: `UpdateBuilder` packing each UPDATE's prefixes
//!   with its attribute set into PDUs.
//!
//! Throughput is in prefixes (announced + withdrawn).

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use rampart_core::attr::PathAttributes;
use rampart_core::msg::update::{Update, UpdateBuilder, UpdateView};
use rampart_core::nlri::{AfiSafi, Nlri};
use rampart_core::{DecodeCtx, EncodeCtx};

/// One UPDATE's announcement, ready for the builder.
struct Announce {
    attrs: PathAttributes,
    nlri: Vec<Nlri>,
    withdrawn: Vec<Nlri>,
}

fn prepare(bodies: &[Vec<u8>], ctx: &DecodeCtx) -> (Vec<Announce>, u64) {
    let mut prefixes = 0u64;
    let mut out = Vec::new();
    for b in bodies {
        let Ok(d) = Update::decode(b, ctx) else {
            continue;
        };
        let u = d.update;
        prefixes += (u.nlri.len() + u.withdrawn.len()) as u64;
        out.push(Announce {
            attrs: u.attrs,
            nlri: u.nlri,
            withdrawn: u.withdrawn,
        });
    }
    (out, prefixes)
}

fn bench(c: &mut Criterion, bodies: &[Vec<u8>]) {
    let ctx = DecodeCtx::modern();
    let (announces, prefixes) = prepare(bodies, &ctx);
    eprintln!(
        "codec bench: {} UPDATEs, {} prefixes (announced + withdrawn)",
        bodies.len(),
        prefixes
    );
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(prefixes));
    // One iteration walks the whole stream (~50 ms): 20 samples suffice.
    g.sample_size(20);
    g.bench_function("decode_update", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for body in bodies {
                let Ok(v) = UpdateView::parse(body, &ctx) else {
                    continue;
                };
                for p in v.withdrawn().chain(v.nlri()) {
                    n += u64::from(p.prefix.len());
                }
                if let Ok(a) = v.decode_attributes(&ctx) {
                    black_box(&a.attrs);
                }
            }
            black_box(n)
        });
    });
    g.bench_function("decode_update_owned", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(Update::decode(body, &ctx).ok());
            }
        });
    });
    let ectx = EncodeCtx::modern();
    // A builder holding the whole table's withdrawals and announcements.
    let filled = || {
        let mut builder = UpdateBuilder::new(ectx.clone());
        for a in &announces {
            builder.withdraw(AfiSafi::IPV4_UNICAST, a.withdrawn.iter().copied());
            if !a.nlri.is_empty() {
                let _ = builder.announce(&a.attrs, AfiSafi::IPV4_UNICAST, a.nlri.iter().copied());
            }
        }
        builder
    };
    g.bench_function("encode_update_packed", |b| {
        b.iter(|| {
            let builder = filled();
            let mut bytes = 0usize;
            for pdu in builder.into_pdu_iter() {
                bytes += pdu.len();
            }
            black_box(bytes)
        });
    });
    // What the daemon's flush does: every PDU back to back in one buffer.
    g.bench_function("encode_update_stream", |b| {
        b.iter(|| {
            let builder = filled();
            black_box(builder.into_stream().len())
        });
    });
    g.finish();
}

fn main() {
    let Some(image) = rampart_benches::read_all("ripe-ncc-bgpdump/updates.et-header.2015.gz")
    else {
        return;
    };
    let bodies = rampart_benches::update_bodies(&image);
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &bodies);
    c.final_summary();
}
