#!/usr/bin/env bash
# Side-by-side route-server benchmark: the same rampart-loadgen scenario
# against rampartd, BIRD 2, GoBGP and FRR, each alone in its own network
# namespace, one after the other; prints one table.
#
#   sudo scripts/bench-compare.sh                                  # bgperf, all daemons
#   sudo scripts/bench-compare.sh --scenario bgperf,fanout,compete,churn,sessions
#   sudo scripts/bench-compare.sh --scenario churn --churn-rate 500 --churn-duration 30
#   sudo scripts/bench-compare.sh --scenario bgperf --speakers 2 --table synth:500000
#   sudo scripts/bench-compare.sh --daemons rampartd,bird --json
#   sudo scripts/bench-compare.sh --daemons rampartd,bird --repeat 5   # median of 5 rounds
#
# Needs root (network namespaces). Installs bird2, gobgpd and frr with
# apt-get when missing (services kept from starting). Every process it
# starts is stopped by pid; configs, logs and each run's report.json stay
# under --dir (default /tmp/rampart-compare). All flags: rampart-loadgen
# compare --help.
#
# churn adds columns: per-change propagation latency at the monitors
# (p50/p99/max ms; each re-announcement carries a large community
# 4294967000:SPEAKER:SEQ, withdrawals are matched by prefix), changes
# missed of expected, and the target's CPU seconds during churn.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p rampartd -p rampart-loadgen
bin="${CARGO_TARGET_DIR:-target}/release"
exec "$bin/rampart-loadgen" compare --rampartd "$bin/rampartd" "$@"
