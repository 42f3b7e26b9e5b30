#!/usr/bin/env bash
# Rampart demo: rampartd as route server and route reflector on its built-in
# example configuration (`rampartd --example-config`), with BGP speakers from
# rampart-loadgen and a core peer, all on loopback; prints what rampartd
# reflected to the core.
#
#   scripts/demo.sh              speakers announce a generated realistic table
#   scripts/demo.sh --mrt FILE   speakers replay a real MRT RIB dump (TABLE_DUMP_V2,
#                                plain/.gz/.bz2): one speaker per peer of the file
#
# What runs (addresses and ASes are the example config's):
#   rampartd        127.0.0.1 port 1179, AS 64500
#   rs-clients      127.0.1.1-3, AS 65001-65003: a shared synthetic table of
#                   DEMO_IPV4 + DEMO_IPV6 prefixes (default 1,000,000 + 200,000),
#                   every prefix announced by all three, each with its own path
#   rr-clients      127.0.2.1-2, AS 64500: a smaller internal table each
#   with --mrt      127.0.3.1-N, one speaker per peer of FILE (rs-clients)
#   core            127.0.0.2, iBGP: BIRD 2 when installed (installed with
#                   apt-get when missing and possible), else a rampart-loadgen
#                   monitor session
#
# Steps: build (cargo --release), start rampartd, the core and the speakers,
# wait until the core's table stops changing, then print the peers
# (rampartctl show peers), the prefix counts at the core, sample routes with
# their attributes, the convergence time, and an MRT summary of the input.
# Every process started here is stopped by pid on exit. Every wait is bounded.
#
# Environment: DEMO_IPV4, DEMO_IPV6, DEMO_SEED (default 1),
# DEMO_TIMEOUT (seconds to wait for convergence, default 600),
# RAMPART_SKIP_INSTALL=1 (never apt-get), CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mrt_file=""
while (($#)); do
    case "$1" in
        --mrt)
            [ $# -ge 2 ] || { echo "demo: --mrt needs a FILE" >&2; exit 2; }
            mrt_file="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
            shift 2
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -z "$mrt_file" ] || [ -f "$mrt_file" ] || { echo "demo: no such file: $mrt_file" >&2; exit 2; }

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
ipv4="${DEMO_IPV4:-1000000}"
ipv6="${DEMO_IPV6:-200000}"
seed="${DEMO_SEED:-1}"
timeout_s="${DEMO_TIMEOUT:-600}"
run="$target_dir/demo-run"
rs_addr=127.0.0.1
port=1179
core_addr=127.0.0.2

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- processes we start, stopped by pid on exit -----------------------------
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# start NAME LOG CMD...: runs CMD in the background, output to LOG.
start() {
    local name="$1" log="$2"
    shift 2
    "$@" >"$log" 2>&1 &
    pids+=("$!")
    eval "${name}_pid=$!"
}
alive() { kill -0 "$1" 2>/dev/null; }

# --- 1. build ------------------------------------------------------------------
step "1/6 building rampartd, rampartctl and rampart-loadgen (release) into $target_dir"
timeout 3600 cargo build --release -p rampartd -p rampart-loadgen || fail "cargo build failed"
bin="$target_dir/release"
for b in rampartd rampartctl rampart-loadgen; do
    [ -x "$bin/$b" ] || fail "$bin/$b missing after the build"
done
ctl() { timeout 10 "$bin/rampartctl" --socket "$run/rampartd.sock" "$@"; }

# --- 2. the core: BIRD 2, installed when missing --------------------------------
step "2/6 the core peer"
find_bird() { command -v bird || { [ -x /usr/sbin/bird ] && echo /usr/sbin/bird; } || true; }
bird_bin="$(find_bird)"
if [ -z "$bird_bin" ] && [ "${RAMPART_SKIP_INSTALL:-0}" != 1 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    if [ -z "$sudo" ] || $sudo true 2>/dev/null; then
        echo "installing bird2 with apt-get"
        # Package installs must not start system services (../shared/PEERS.md).
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bird2 \
            || echo "apt-get install bird2 failed"
        bird_bin="$(find_bird)"
    fi
fi
birdc_bin="$(dirname "${bird_bin:-/usr/sbin/bird}")/birdc"
if [ -n "$bird_bin" ] && [ -x "$birdc_bin" ]; then
    core_kind=bird
    echo "core: BIRD ($("$bird_bin" --version 2>&1 | head -1)) at $core_addr, iBGP"
else
    core_kind=monitor
    echo "core: no BIRD here; a rampart-loadgen monitor session at $core_addr, iBGP"
fi

# --- 3. rampartd on the example config ----------------------------------------
step "3/6 rampartd on its example config ($run/rampartd.toml)"
rm -rf "$run"
mkdir -p "$run"
"$bin/rampartd" --example-config >"$run/rampartd.toml"
"$bin/rampartd" --check --config "$run/rampartd.toml"
start rampartd "$run/rampartd.log" env -C "$run" "$bin/rampartd" --config rampartd.toml
for _ in $(seq 100); do
    ctl show peers >/dev/null 2>&1 && break
    alive "$rampartd_pid" || { cat "$run/rampartd.log" >&2; fail "rampartd exited"; }
    sleep 0.1
done
ctl show peers >/dev/null || fail "rampartd's control socket does not answer"

birdc() { timeout 30 "$birdc_bin" -s "$run/core/bird.ctl" "$@"; }
if [ "$core_kind" = bird ]; then
    mkdir -p "$run/core"
    cat >"$run/core/bird.conf" <<EOF
router id $core_addr;
protocol device {}
protocol bgp rampart {
  local $core_addr port 11179 as 64500;
  neighbor $rs_addr port $port as 64500;
  connect delay time 1; connect retry time 1; error wait time 1,5;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
EOF
    start bird "$run/core/bird.log" "$bird_bin" -f -c "$run/core/bird.conf" \
        -s "$run/core/bird.ctl" -P "$run/core/bird.pid"
    for _ in $(seq 150); do
        birdc show protocols rampart 2>/dev/null | grep -q Established && break
        alive "$bird_pid" || { cat "$run/core/bird.log" >&2; fail "bird exited"; }
        sleep 0.2
    done
    birdc show protocols rampart | grep -q Established || fail "the core session did not come up"
fi

# --- 4. speakers ----------------------------------------------------------------
loadgen() { "$bin/rampart-loadgen" "$@"; }
# speakers NAME N SOURCE AS TABLE [MONITORS]
speakers() {
    local name="$1" n="$2" source="$3" asn="$4" table="$5" monitors="${6:-0}"
    start "$name" "$run/$name.log" "$bin/rampart-loadgen" run --target "$rs_addr:$port" \
        --target-as 64500 --speakers "$n" --source "$source" --local-as "$asn" \
        --table "$table" --seed "$seed" --monitors "$monitors" --monitor-source "$core_addr" \
        --monitor-as 64500 --hold-after 3600 --timeout "$timeout_s" --quiet
}
monitors=0
[ "$core_kind" = bird ] || monitors=1
t_start=$(date +%s.%N)
if [ -n "$mrt_file" ]; then
    summary="$(timeout 600 "$bin/rampartctl" mrt summary "$mrt_file")" || fail "cannot read $mrt_file"
    grep -q PEER_INDEX_TABLE <<<"$summary" \
        || fail "$mrt_file is not a TABLE_DUMP_V2 RIB dump (rampart-loadgen replays RIB dumps)"
    npeers=$(awk '/^peers /{print $2; exit}' <<<"$summary")
    [ "${npeers:-0}" -ge 1 ] || fail "no peers in $mrt_file"
    [ "$npeers" -le 64 ] || { echo "using the first 64 of $npeers peers"; npeers=64; }
    step "4/6 $npeers speakers (127.0.3.1-$npeers, rs-clients) replay $mrt_file"
    speakers replay "$npeers" 127.0.3.1 65101 "mrt:$mrt_file:per-peer" "$monitors"
else
    step "4/6 speakers: 3 rs-clients share a $ipv4 + $ipv6 prefix table, 2 rr-clients add internal routes"
    speakers rs 3 127.0.1.1 65001 "synth:$ipv4+$ipv6:shared" "$monitors"
    # rr-clients are iBGP (AS 64500): each replays its own small synthetic
    # table written as MRT, whose paths do not start with our AS.
    for k in 1 2; do
        loadgen synth --ipv4 $((ipv4 / 50 + 1)) --ipv6 $((ipv6 / 50 + 1)) --peers 1 \
            --seed $((seed + k)) --out "$run/rr$k.mrt" >/dev/null || fail "rampart-loadgen synth failed"
        speakers "rr$k" 1 "127.0.2.$k" 64500 "mrt:$run/rr$k.mrt"
    done
fi

# --- 5. convergence ---------------------------------------------------------------
step "5/6 waiting for the speakers, then for the core's table to settle (at most ${timeout_s}s)"
# rampart-loadgen encodes its tables first, then opens every session and
# sends: the clock starts when all speaker sessions are Established.
if [ -n "$mrt_file" ]; then
    speaker_addrs=$(for i in $(seq "$npeers"); do echo "127.0.3.$i"; done)
else
    speaker_addrs="127.0.1.1 127.0.1.2 127.0.1.3 127.0.2.1 127.0.2.2"
fi
# show peers columns: peer, as, role, state, uptime, received, accepted, sent.
peers_view() { ctl show peers 2>/dev/null || true; }
speakers_up() {
    peers_view | awk -v want="$(echo $speaker_addrs)" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
        ($1 in need) && $4 == "Established" { up++ }
        END { exit !(up == n) }'
}
speakers_received() {
    peers_view | awk -v want="$(echo $speaker_addrs)" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
        ($1 in need) { s += $6 } END { print s + 0 }'
}
core_count() {
    if [ "$core_kind" = bird ]; then
        birdc show route count 2>/dev/null | awk '/^Total:/ {print $2}'
    else
        peers_view | awk -v a="$core_addr" '$1 == a {print $8}'
    fi
}
deadline=$(($(date +%s) + timeout_s))
check_running() {
    [ "$(date +%s)" -lt "$deadline" ] || { echo; fail "no convergence within ${timeout_s}s (logs in $run)"; }
    for p in "${pids[@]}"; do alive "$p" || { echo; fail "a process exited early (logs in $run)"; }; done
}
until speakers_up; do
    check_running
    sleep 0.2
done
t0=$(date +%s.%N)
echo "  all $(wc -w <<<"$speaker_addrs") speaker sessions are up ($(awk -v a="$t0" -v b="$t_start" 'BEGIN{printf "%.1f", a-b}') s after start, tables encoded)"
last="" last_change=$t0 stable_for=3
while :; do
    now=$(date +%s.%N)
    count="$(core_count || true)"
    count="${count:-0}"
    state="$count/$(speakers_received)"
    if [ "$state" != "$last" ]; then
        last="$state"
        last_change=$now
        printf '\r  core holds %s prefixes' "$count"
    elif [ "$count" -gt 0 ] && awk -v a="$now" -v b="$last_change" -v s=$stable_for 'BEGIN{exit !(a-b>=s)}'; then
        break
    fi
    check_running
    sleep 0.2
done
echo
convergence=$(awk -v a="$last_change" -v b="$t0" 'BEGIN{printf "%.2f", a-b}')

# --- 6. report ----------------------------------------------------------------------
step "6/6 what rampartd reflected"
echo "--- rampartctl --socket $run/rampartd.sock show peers"
ctl show peers
echo
if [ "$core_kind" = bird ]; then
    echo "--- prefixes at the core (birdc show route count, per table)"
    for t in master4 master6; do
        printf '  %-8s %s\n' "$t" "$(birdc show route count table "$t" | awk '/routes for/ {print $1}')"
    done
    echo
    echo "--- sample routes at the core (birdc show route all)"
    # The first routes of each table, then one reflected from an rr-client
    # (ORIGINATOR_ID and CLUSTER_LIST set by rampartd, RFC 4456 §8).
    first_routes() { awk -v max="$1" 'NR>1 && /^[0-9a-f]/ {n++} n>max {exit} NR>1 {print}'; }
    birdc_slow() { timeout 120 "$birdc_bin" -s "$run/core/bird.ctl" "$@"; }
    for t in master4 master6; do
        { birdc_slow show route all table "$t" || true; } | first_routes 2
    done
    if [ -z "$mrt_file" ]; then
        echo "(reflected from an rr-client:)"
        { birdc_slow show route all where "defined(bgp_originator_id)" || true; } | first_routes 1
    fi
else
    echo "--- prefixes at the core: $count (prefixes sent to $core_addr)"
fi
echo
echo "convergence: the core's table stopped changing $convergence s after the speaker sessions came up"
echo "(it held $count prefixes; logs and configs in $run)"

step "the input"
if [ -n "$mrt_file" ]; then
    sed -n '/^family/,/^$/p' <<<"$summary"
    awk '/^peers /,/^$/' <<<"$summary" | head -n 25
else
    echo "3 rs-clients x $((ipv4 + ipv6)) prefixes (synth:$ipv4+$ipv6:shared, seed $seed) and 2 rr-clients:"
    for k in 1 2; do
        timeout 60 "$bin/rampartctl" mrt summary "$run/rr$k.mrt" | sed -n '/^family/,/^$/p'
    done
fi
