#!/usr/bin/env bash
# Every benchmark whose figures the README quotes, with the README's arguments, in one
# run: `sudo bench/all.sh [LOG]` (root for the veth pairs of the live benches).
#
# The README's figures are what one run of this script printed (its log names the
# commit, the time and the machine's load); re-run it to check them on your machine.
# Each bench compares headerwatch with the reference tool inside the same run and
# prints ratios, so the figures that matter do not depend on this VM's speed.
# Takes about 20 minutes on a 2-CPU VM; run it on a machine with nothing else busy,
# since the split scan and the live benches need both CPUs. Needs what the benches
# need: `apt-get install tshark jq tcpdump tcpreplay tmux wrk iproute2`, and mitmproxy
# in /opt/mitmproxy as .ci/run installs it.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
py="${PYTHON:-$root/.venv/bin/python}"

# What the benches need, checked before 20 minutes of them: a bench that cannot start
# leaves its lines out of the log (on a fresh machine the latency bench wanted pytest
# and the live bench tcpreplay).
missing=""
for tool in tshark editcap jq tcpdump tcpreplay tmux wrk ip; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -x /opt/mitmproxy/bin/mitmdump ] || missing="$missing /opt/mitmproxy/bin/mitmdump"
"$py" -c 'import pytest' >/dev/null 2>&1 || missing="$missing pytest-in-$py"
[ "$(id -u)" = 0 ] || missing="$missing root"
if [ -n "$missing" ]; then
    echo "bench/all.sh: missing:$missing (apt-get install tshark jq tcpdump tcpreplay tmux wrk iproute2; pip install -e '.[test]' in the venv; mitmproxy as .ci/run installs it; run as root)" >&2
    exit 2
fi

log="${1:-$here/out/all-$(git -C "$root" rev-parse --short HEAD).log}"
mkdir -p "$(dirname "$log")"
unset PYTHONDONTWRITEBYTECODE  # a cold import each run would be measured as the tool's

run() {
    # One bench: its command line, start time and load average, then its output.
    echo
    echo "=== $* ($(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "$@" 2>&1
    echo "=== exit $? at $(date -u '+%H:%M:%S UTC')"
}

{
    echo "bench/all.sh on $(git -C "$root" rev-parse HEAD)$(git -C "$root" diff --quiet || echo ' (with local changes)')"
    echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $($py -VV | head -1)"
    cd "$root" || exit 2
    # Offline scans against tshark and jq (README: Scanning, Suricata and Zeek).
    run "$py" bench/scan_bench.py --repeat 2
    run "$py" bench/scan_bench.py --pcapng --sizes 50000s,20000a,20000p --repeat 2
    run "$py" bench/phone_cost.py
    run "$py" bench/canary_bench.py
    run "$py" bench/engine_log_bench.py
    run "$py" bench/memory_bench.py
    # Live capture on veth pairs against tcpdump, and the dashboard's latency.
    run "$py" bench/latency_bench.py
    run "$py" bench/ui_bench.py --rates 10,200,2000 --step 6
    run "$py" bench/live_bench.py --rates 20000,40000 --seconds 45
    # The lab parts under wrk (README: mitmproxy add-on, reflector).
    run "$py" bench/mitmproxy_addon_bench.py
    run "$py" bench/reflect_bench.py
} | tee "$log"
echo "log: $log"
