//! Criterion bench: UPDATE codec on real data.
//!
//! Input: the RIPE RIS UPDATE stream in
//! `shared/data/mrt/ripe-ncc-bgpdump/updates.et-header.2015.gz` (a full
//! IPv4 table sent by one peer, BGP4MP_ET MESSAGE_AS4 records). A tiny
//! record walker here extracts the UPDATE bodies; the MRT module proper
//! lives elsewhere.
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
use std::io::Read;
use std::path::Path;

use criterion::{Criterion, Throughput};
use rampart_core::attr::PathAttributes;
use rampart_core::msg::update::{Update, UpdateBuilder, UpdateView};
use rampart_core::nlri::{AfiSafi, Nlri};
use rampart_core::{DecodeCtx, EncodeCtx};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/mrt/ripe-ncc-bgpdump/updates.et-header.2015.gz"
);

/// BGP4MP_ET (RFC 6396 §4.4): MRT type 17.
const BGP4MP_ET: u16 = 17;
/// BGP4MP_MESSAGE_AS4 and BGP4MP_MESSAGE_AS4_LOCAL subtypes.
const MESSAGE_AS4: [u16; 2] = [4, 7];

/// UPDATE bodies (after the 19-byte BGP header) from MESSAGE_AS4 records.
fn load_updates(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut raw)?;
    let mut out = Vec::new();
    let mut rest = raw.as_slice();
    while let Some((hdr, tail)) = rest.split_first_chunk::<12>() {
        let kind = u16::from_be_bytes([hdr[4], hdr[5]]);
        let subtype = u16::from_be_bytes([hdr[6], hdr[7]]);
        let len = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        let Some((rec, next)) = tail.split_at_checked(len) else {
            break;
        };
        rest = next;
        if kind != BGP4MP_ET || !MESSAGE_AS4.contains(&subtype) {
            continue;
        }
        // microseconds (4), peer AS (4), local AS (4), ifindex (2), AFI (2)
        let Some(afi) = rec.get(14..16) else { continue };
        let ip_len = if afi == [0, 2] { 16 } else { 4 };
        let Some(msg) = rec.get(16 + 2 * ip_len..) else {
            continue;
        };
        // BGP header: marker (16), length (2), type (1) = 2 for UPDATE.
        if msg.get(18) == Some(&2)
            && let Some(body) = msg.get(19..)
        {
            out.push(body.to_vec());
        }
    }
    Ok(out)
}

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
    g.bench_function("encode_update_packed", |b| {
        b.iter(|| {
            let mut builder = UpdateBuilder::new(ectx.clone());
            for a in &announces {
                builder.withdraw(AfiSafi::IPV4_UNICAST, a.withdrawn.iter().copied());
                if !a.nlri.is_empty() {
                    let _ =
                        builder.announce(&a.attrs, AfiSafi::IPV4_UNICAST, a.nlri.iter().copied());
                }
            }
            let mut bytes = 0usize;
            for pdu in builder.into_pdu_iter() {
                bytes += pdu.len();
            }
            black_box(bytes)
        });
    });
    g.finish();
}

fn main() {
    let path = Path::new(DATA);
    let bodies = match load_updates(path) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) | Err(_) => {
            eprintln!(
                "codec bench skipped: real data not found at {} (see shared/data/README.md)",
                path.display()
            );
            return;
        }
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &bodies);
    c.final_summary();
}
