#!/bin/sh
# The long fuzz run: every hypothesis test at EXAMPLES examples each (default 20000), in a
# network namespace with only loopback. Writes bench/results/fuzz.md.
#   bench/fuzz.sh [EXAMPLES]
set -eu
cd "$(dirname "$0")/.."
examples="${1:-20000}"
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python3
if [ "$(id -u)" = 0 ]; then unshare="unshare -n"; else unshare="unshare -rn"; fi
exec $unshare sh -c "ip link set lo up && K8S_DNS_FUZZ_EXAMPLES=$examples exec $python -m bench.fuzz"
