#!/usr/bin/env bash
# Rampart demo: build the tools, generate a realistic synthetic full table,
# and summarise it next to a real RouteViews table.
#
#   scripts/demo.sh
#
# Steps:
#   1. cargo build --release -p rampart-loadgen -p rampartd
#      (rampart-loadgen and rampartctl; CARGO_TARGET_DIR is respected,
#      else target/ in the repository)
#   2. rampart-loadgen synth: DEMO_IPV4 IPv4 + DEMO_IPV6 IPv6 prefixes
#      (default 1,000,000 + 200,000) from DEMO_PEERS speakers (default 2),
#      seed DEMO_SEED (default 1), written as MRT TABLE_DUMP_V2 to
#      <target>/demo/
#   3. rampartctl mrt summary on that file, and on a real route-views2 RIB
#      slice from ../shared/data when that directory exists
#
# Every step is bounded by a timeout; any failure exits non-zero.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
ipv4="${DEMO_IPV4:-1000000}"
ipv6="${DEMO_IPV6:-200000}"
peers="${DEMO_PEERS:-2}"
seed="${DEMO_SEED:-1}"
demo_dir="$target_dir/demo"
table="$demo_dir/synth-${ipv4}v4-${ipv6}v6-${peers}peers-seed${seed}.mrt"
data_dir="$root/../shared/data"
real_files=(
    "mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2"
    "mrt/sighops-asinfo/rib6.20260730.1400.first11030pfx.trimmed.bz2"
)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

step "1/3 building rampart-loadgen and rampartctl (release) into $target_dir"
timeout 3600 cargo build --release -p rampart-loadgen -p rampartd \
    || fail "cargo build failed"
loadgen="$target_dir/release/rampart-loadgen"
ctl="$target_dir/release/rampartctl"
[ -x "$loadgen" ] || fail "$loadgen missing after the build"
[ -x "$ctl" ] || fail "$ctl missing after the build"

step "2/3 generating a synthetic table: $ipv4 IPv4 + $ipv6 IPv6 prefixes, $peers peers, seed $seed"
mkdir -p "$demo_dir"
timeout 600 "$loadgen" synth --ipv4 "$ipv4" --ipv6 "$ipv6" --peers "$peers" \
    --seed "$seed" --out "$table" || fail "rampart-loadgen synth failed"
ls -l "$table"

step "3/3 summarising with rampartctl mrt summary"
# A clap command prints a usage line; a placeholder binary prints nothing.
ctl_help="$(timeout 60 "$ctl" mrt summary --help 2>&1 || true)"
if ! grep -qi 'usage' <<<"$ctl_help"; then
    fail "this rampartctl has no 'mrt summary' command yet; the table is at $table"
fi
echo "--- synthetic: $table"
timeout 600 "$ctl" mrt summary "$table" || fail "rampartctl mrt summary failed on $table"
if [ -d "$data_dir" ]; then
    data_dir="$(cd "$data_dir" && pwd)"
    for f in "${real_files[@]}"; do
        if [ -f "$data_dir/$f" ]; then
            echo
            echo "--- real: $data_dir/$f"
            timeout 600 "$ctl" mrt summary "$data_dir/$f" \
                || fail "rampartctl mrt summary failed on $data_dir/$f"
        fi
    done
else
    echo
    echo "(no real data at $data_dir: skipped the real-table summary)"
fi

step "done"
echo "synthetic table: $table"
echo "regenerate:      $loadgen synth --ipv4 $ipv4 --ipv6 $ipv6 --peers $peers --seed $seed --out FILE.mrt"
