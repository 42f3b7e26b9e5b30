#!/usr/bin/env bash
# The whole Rampart test suite, from a fresh machine: installs what the tests
# need, then runs format, lint, the dependency rule, every test and a fuzz
# smoke run. README.md names this script as the test command; .ci/run calls it.
#
# Environment:
#   RAMPART_SKIP_INSTALL=1   do not apt-get / cargo install anything
#   FUZZ_SECONDS=N           seconds per fuzz target in the smoke run (default 15; 0 skips)
#   RAMPART_FULL_DIFF=1      differential test over every MRT file, not a sample
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

# --- 1. install what the tests need ----------------------------------------
# Real peers for the interop tests (../shared/PEERS.md), bgpdump as an
# independent MRT reader, cpio for the TCP-AO VM's initramfs
# (../shared/tools/aolab), python3-venv for os-ken and StayRTR as the RPKI
# cache (RFC 8210) rampartd's RTR client talks to.
apt_packages=(bgpdump bird2 gobgpd frr exabgp iproute2 cpio python3-venv stayrtr)
install_apt() {
    local missing=()
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    step "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Package installs must not start system services (../shared/PEERS.md).
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

have_nightly() { rustup toolchain list 2>/dev/null | grep -q '^nightly'; }

install_cargo_tools() {
    if have_nightly && ! cargo fuzz --version >/dev/null 2>&1; then
        step "cargo install cargo-fuzz"
        CARGO_TARGET_DIR="${TMPDIR:-/tmp}/rampart-cargo-install" cargo install cargo-fuzz --locked --quiet
    fi
}

# os-ken (the BGP speaker OpenStack's dynamic routing uses) has no Debian
# package: a venv with a pinned release; the MD5 interop test finds it
# through OSKEN_PYTHON.
OSKEN_VENV="${TMPDIR:-/tmp}/rampart-osken-venv"
install_osken() {
    "$OSKEN_VENV/bin/python" -c 'import os_ken' 2>/dev/null && return 0
    step "pip install os-ken (venv $OSKEN_VENV)"
    python3 -m venv "$OSKEN_VENV" && "$OSKEN_VENV/bin/pip" install -q os-ken==4.2.2 ||
        echo "os-ken could not be installed; its test will skip" >&2
}

if [ "${RAMPART_SKIP_INSTALL:-0}" != 1 ]; then
    install_apt
    install_cargo_tools
    install_osken
fi
if [ -x "$OSKEN_VENV/bin/python" ]; then export OSKEN_PYTHON="$OSKEN_VENV/bin/python"; fi

# --- 2. format, lint, dependency rule --------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "rampart-core does no I/O: cargo tree"
forbidden='^(tokio|mio|socket2|compio|compio-[a-z-]+|async-std|smol|nix|io-uring|polling)\b'
core_deps=$(cargo tree -p rampart-core -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
if bad=$(grep -E "$forbidden" <<<"$core_deps"); then
    echo "rampart-core depends on I/O crates: $bad" >&2
    exit 1
fi
echo "ok: $(wc -l <<<"$core_deps") crates, none of them does I/O"

# --- 3. fuzz smoke ----------------------------------------------------------
if [ "${FUZZ_SECONDS:-15}" != 0 ]; then
    if have_nightly && cargo fuzz --version >/dev/null 2>&1 && [ -x scripts/fuzz-smoke.sh ]; then
        step "fuzz smoke (${FUZZ_SECONDS:-15}s per target)"
        FUZZ_SECONDS="${FUZZ_SECONDS:-15}" scripts/fuzz-smoke.sh
    else
        echo "skipping fuzz smoke: needs the nightly toolchain and cargo-fuzz" >&2
    fi
fi

# --- 4. tests -----------------------------------------------------------------
step "cargo test --workspace"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
cargo test --workspace --doc --no-fail-fast 2>&1 | tee -a "$log"
doc_status=${PIPESTATUS[0]}
# rampartd on the epoll backend too: the same tests, compio's poll driver
# instead of io_uring (docs/ARCHITECTURE.md).
# The test binaries the workspace run built are run again: `cargo test -p
# rampartd` alone would unify features differently and build every
# dependency a second time (twice the disk and minutes).
printf '\n==> rampartd tests again with RAMPART_IO_BACKEND=epoll\n'
mapfile -t epoll_bins < <(cargo test --workspace --all-targets --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["profile"]["test"] and m["manifest_path"].endswith("/server/Cargo.toml")
            and m["target"]["kind"][0] in ("lib", "bin", "test")):
        print(m["executable"])')
epoll_status=0
((${#epoll_bins[@]})) || { echo "no rampartd test binaries found" >&2; epoll_status=1; }
for bin in "${epoll_bins[@]}"; do
    (cd server && CARGO_MANIFEST_DIR="$PWD" CARGO_PKG_NAME=rampartd RAMPART_IO_BACKEND=epoll "$bin") 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || epoll_status=1
done
set -e
count() { { grep -oE "$1" "$log" || true; } | awk -v f="$2" '{s+=$f} END {print s+0}'; }
passed=$(count 'test result: [a-zA-Z]+\. [0-9]+ passed' 4)
failed=$(count '[0-9]+ failed;' 1)
ignored=$(count '[0-9]+ ignored;' 1)
echo
echo "cargo: $passed passed, $failed failed, $ignored skipped"
[ "$status" -eq 0 ] && [ "$doc_status" -eq 0 ] && [ "$epoll_status" -eq 0 ]
