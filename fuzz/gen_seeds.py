#!/usr/bin/env python3
"""Regenerates fuzz/seeds/<target>/: small seed corpora cut from real MRT files.

Usage: python3 fuzz/gen_seeds.py [DATA_DIR]   (default: ../shared/data from the repo root)

Reads a few small files of ../shared/data/mrt (see its README), splits them
into BGP messages, attribute sections, NLRI fields and MRT record runs, keeps
a diverse subset (one per feature signature, capped per target) and writes
each seed as a file named by its SHA-1, as libFuzzer does. Deterministic:
same data, same seeds. The total stays well under 200 KB.

Seed layout per target (the first byte is the selector the target reads,
see fuzz/src/lib.rs):
  update, update_roundtrip  selector | UPDATE body
  attrs                     selector | attribute section (bit 4: MRT form)
  message                   selector | one to three whole messages
  prefix                    0 (IPv4) or 1 (IPv6) | NLRI field
  open                      OPEN body
  capabilities              Capabilities optional parameter value
  mrt                       recovery selector | first records of a file
"""

import bz2
import gzip
import hashlib
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")

UPDATE_FILES = [
    "mrt/ripe-ncc-bgpdump/updates.20100722.2015.gz",
    "mrt/ripe-ncc-bgpdump/updates.20160811.1600.gz",
    "mrt/ripe-ncc-bgpdump/updates.20070211.0141.gz",
    "mrt/ripe-ncc-bgpdump/updates.nlri_mask_trailing_bits.gz",
    "mrt/bgpkit-parser/examples-local_only-updates.bz2",
    "mrt/mrtparse-samples/bird-mrtdump_bgp",
    "mrt/mrtparse-samples/bird6-mrtdump_bgp",
    "mrt/mrtparse-samples/bird_bgp",
    "mrt/mrtparse-samples/bird6_bgp",
    "mrt/mrtparse-samples/openbgpd_bgp",
    "mrt/mrtparse-samples/quagga_bgp",
]
RIB_FILES = [
    "mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2",
    "mrt/sighops-asinfo/rib6.20260730.1400.first11030pfx.trimmed.bz2",
    "mrt/ripe-ncc-bgpdump/bview.ipv4_unicast_add_path.gz",
    "mrt/ripe-ncc-bgpdump/bview.ipv6_unicast_add_path.gz",
]
MRT_FILES = UPDATE_FILES + RIB_FILES + [
    "mrt/mrtparse-samples/bird-mrtdump_rib",
    "mrt/mrtparse-samples/bird6-mrtdump_rib",
    "mrt/mrtparse-samples/openbgpd_rib_table",
    "mrt/mrtparse-samples/openbgpd_rib_table-mp",
    "mrt/mrtparse-samples/openbgpd_rib_table-v2",
    "mrt/mrtparse-samples/quagga_rib",
    "mrt/ripe-ncc-bgpdump/updates.20020722.2238.gz",
]

CAP = {"update": 60, "update_roundtrip": 60, "attrs": 80, "message": 60,
       "prefix": 40, "open": 30, "capabilities": 30, "mrt": 30}
MAX_SEED = 4096          # bytes per seed
MAX_RECORDS = 200_000    # records read per file


def open_any(path, limit=None):
    if path.endswith(".gz"):
        f = gzip.open(path, "rb")
    elif path.endswith(".bz2"):
        f = bz2.open(path, "rb")
    else:
        f = open(path, "rb")
    with f:
        return f.read(limit) if limit else f.read()


def records(data):
    off, n = 0, 0
    while off + 12 <= len(data) and n < MAX_RECORDS:
        ts, typ, sub, ln = struct.unpack(">IHHI", data[off:off + 12])
        body = data[off + 12:off + 12 + ln]
        if len(body) < ln:
            return
        yield off, typ, sub, body, data[off:off + 12 + ln]
        off += 12 + ln
        n += 1


# BGP4MP subtypes: (as4, add_path) for message subtypes (RFC 6396, RFC 8050).
MSG_SUBTYPES = {1: (False, False), 4: (True, False), 6: (False, False), 7: (True, False),
                8: (False, True), 9: (True, True), 10: (False, True), 11: (True, True)}


def bgp4mp_messages(data):
    for _, typ, sub, body, _ in records(data):
        if typ not in (16, 17) or sub not in MSG_SUBTYPES:
            continue
        if typ == 17:
            body = body[4:]
        as4, add_path = MSG_SUBTYPES[sub]
        p = 8 if as4 else 4
        if len(body) < p + 4:
            continue
        afi = struct.unpack(">H", body[p + 2:p + 4])[0]
        p += 4 + (8 if afi == 1 else 32)
        msg = body[p:]
        if len(msg) >= 19:
            yield as4, add_path, msg


def selector(as4, add_path):
    return (1 if as4 else 0) | (6 if add_path else 0)


def attr_types(section):
    out, p = [], 0
    while p + 3 <= len(section):
        fl, tc = section[p], section[p + 1]
        if fl & 0x10:
            if p + 4 > len(section):
                break
            ln, h = struct.unpack(">H", section[p + 2:p + 4])[0], 4
        else:
            ln, h = section[p + 2], 3
        out.append(tc)
        p += h + ln
    return tuple(sorted(set(out)))


class Seeds:
    def __init__(self):
        self.seeds = {t: {} for t in CAP}
        self.sigs = {t: set() for t in CAP}

    def add(self, target, sig, data):
        if len(data) > MAX_SEED or len(self.seeds[target]) >= CAP[target]:
            return
        if sig in self.sigs[target]:
            return
        self.sigs[target].add(sig)
        self.seeds[target][hashlib.sha1(data).hexdigest()] = data

    def write(self):
        if os.path.isdir(OUT):
            shutil.rmtree(OUT)
        total = 0
        for t, seeds in self.seeds.items():
            d = os.path.join(OUT, t)
            os.makedirs(d)
            for name, data in sorted(seeds.items()):
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
                total += len(data)
            print(f"{t:17} {len(seeds):3} seeds")
        print(f"total {total} bytes")


def from_updates(s, data, fname):
    pending = []
    for as4, add_path, msg in bgp4mp_messages(data):
        sel = selector(as4, add_path)
        mtype = msg[18]
        body = msg[19:]
        pending.append(msg)
        if len(pending) > 3:
            pending.pop(0)
        s.add("message", (fname, mtype, len(pending)), bytes([sel]) + b"".join(pending))
        if mtype == 1 and len(body) >= 10:
            s.add("open", (fname, len(body)), body)
            p, plen = 10, body[9]
            params = body[10:10 + plen]
            q = 0
            while q + 2 <= len(params):
                ptype, pl = params[q], params[q + 1]
                if ptype == 2:
                    val = params[q + 2:q + 2 + pl]
                    s.add("capabilities", (fname, val[:1], len(val)), val)
                q += 2 + pl
        if mtype != 2 or len(body) < 4:
            continue
        wl = struct.unpack(">H", body[:2])[0]
        al = struct.unpack(">H", body[2 + wl:4 + wl])[0] if len(body) >= 4 + wl else 0
        section = body[4 + wl:4 + wl + al]
        nlri = body[4 + wl + al:]
        types = attr_types(section)
        sig = (as4, add_path, types, wl > 0, len(nlri) > 0)
        for t in ("update", "update_roundtrip"):
            s.add(t, sig, bytes([sel]) + body)
        s.add("attrs", ("u", as4, add_path, types), bytes([sel]) + section)
        if nlri and not add_path:
            s.add("prefix", ("v4", len(nlri) // 8), b"\x00" + nlri)


def from_ribs(s, data, fname):
    for _, typ, sub, body, _ in records(data):
        if typ != 13 or sub not in (2, 4, 8, 10):
            continue
        add_path = sub in (8, 10)
        p = 4
        plen = body[p]
        pfx = body[p:p + 1 + (plen + 7) // 8]
        p += len(pfx)
        if sub in (4, 10):
            s.add("prefix", ("v6", plen), b"\x01" + pfx)
        cnt = struct.unpack(">H", body[p:p + 2])[0]
        p += 2
        for _ in range(cnt):
            p += 2 + 4 + (4 if add_path else 0)
            al = struct.unpack(">H", body[p:p + 2])[0]
            section = body[p + 2:p + 2 + al]
            p += 2 + al
            s.add("attrs", ("rib", sub, attr_types(section)), bytes([0x11]) + section)


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
    if not os.path.isdir(data_dir):
        sys.exit(f"data directory {data_dir} not found")
    s = Seeds()
    for f in UPDATE_FILES:
        from_updates(s, open_any(os.path.join(data_dir, f)), f)
    for f in RIB_FILES:
        from_ribs(s, open_any(os.path.join(data_dir, f), 4 << 20), f)
    for i, f in enumerate(MRT_FILES):
        data = open_any(os.path.join(data_dir, f), 1 << 20)
        run = b""
        for _, _, _, _, raw in records(data):
            if len(run) + len(raw) > MAX_SEED:
                break
            run += raw
        if run:
            s.add("mrt", f, bytes([i % 2]) + run)
    s.write()


if __name__ == "__main__":
    main()
