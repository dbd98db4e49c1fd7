"""Scale: how many probes per second one agent sustains on one core before its latency error passes 1 ms.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.scale'

The exporter (``serve``, node mode, node readers on) runs pinned to CPU 0 (``taskset -c 0``);
the delay server (bench/delay_server.c, ``--delay-ms`` 2) runs pinned to the other CPU and
answers on 1,000 loopback addresses. Each step probes ``--names`` names on as many servers
as the rate needs, once a second (interval 1 s, no jitter), for ``--seconds``. A step is
sustained when the exporter ran at least 95% of the planned probes, none failed, and the
median latency it reported is within ``--limit-ms`` of the truth (the delay server's own
client, before each step). Latencies are read from ``/diagnose`` (every probe of the last
round, to the microsecond) every 2 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS,
    LatencySampler,
    machine_table,
    percentile,
    publish,
    run,
    sample,
    serve_exporter,
    total,
    usage,
)
from bench.delay import build, delay_server
from lab import free_port
from lab.topology import HEALTHY_NODE

PORT = 5300
ADDRESSES = [f"127.0.{net}.{host}" for net in range(3, 7) for host in range(1, 251)]
"""1,000 loopback addresses the delay server answers on."""
RATES = (250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000)


def config(servers: list[str], names: int) -> dict[str, Any]:
    return {
        "mode": "node",
        "interval": "1s",
        "jitter": "0s",
        "timeout": "1s",
        "concurrency": 64,
        "names": [
            {
                "name": f"probe{i}.bench.",
                "type": "A",
                "kind": "external",
                "paths": ["pod"],
                "transports": ["udp"],
            }
            for i in range(names)
        ],
        "paths": {"pod": servers},
        "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")},
        "log": {"level": "info", "format": "json"},
    }


def step(rate: int, names: int, seconds: float, work: Path, truth_ms: float) -> dict[str, Any]:
    count = max(1, rate // names)
    servers = ADDRESSES[:count]
    planned = count * names
    with serve_exporter(config([f"{s}:{PORT}" for s in servers], names), work, free_port(), cpus="0") as exp:
        time.sleep(3)
        text_before, before, started = exp.metrics(), usage(exp.pid), time.monotonic()
        with LatencySampler(exp.url, every=2.0) as sampler:
            time.sleep(seconds)
        text_after, after = exp.metrics(), usage(exp.pid)
        elapsed = time.monotonic() - started
    ran = total(text_after, "k8s_dns_probes_total") - total(text_before, "k8s_dns_probes_total")
    ok = sampler.latencies
    failures = "k8s_dns_probe_failures_total"
    failed = total(text_after, failures) - total(text_before, failures) + sampler.failures
    skipped = (sample(text_after, "k8s_dns_probe_rounds_skipped_total") or 0) - (
        sample(text_before, "k8s_dns_probe_rounds_skipped_total") or 0
    )
    p50 = percentile(ok, 0.5) * 1000 if ok else float("nan")
    p90 = percentile(ok, 0.9) * 1000 if ok else float("nan")
    achieved = ran / elapsed
    return {
        "rate": planned,
        "achieved": achieved,
        "cpu": (after.cpu_seconds - before.cpu_seconds) / elapsed,
        "p50": p50,
        "p90": p90,
        "error": p50 - truth_ms,
        "failed": int(failed),
        "skipped": int(skipped),
        "hwm": after.hwm_kib,
        "sustained": achieved >= 0.95 * planned and failed == 0 and abs(p50 - truth_ms) <= 1.0,
    }


def render(rows: list[dict[str, Any]], truth_ms: float, args: argparse.Namespace) -> str:
    best = max((r["rate"] for r in rows if r["sustained"]), default=0)
    lines = [
        "# Scale: probes per second on one core",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.scale"
        f" --seconds {args.seconds:g}'`",
        "",
        f"The exporter on CPU 0 alone (`taskset -c 0`), the delay server ({args.delay_ms:g} ms) on CPU 1; "
        f"{args.names} names x N servers on the pod path, one round a second, UDP. Truth "
        f"{truth_ms:.3f} ms (median before the steps).",
        "",
        f"**Sustained: {best} probes/s** (the highest step with >= 95% of the planned probes run, none "
        f"failed, median error <= {args.limit_ms:g} ms).",
        "",
        "| planned probes/s | ran probes/s | CPU 0 busy | p50 ms | p90 ms | p50 error ms | failed | "
        "rounds skipped | peak RSS MiB | sustained |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rate']} | {r['achieved']:.0f} | {r['cpu'] * 100:.0f}% | {r['p50']:.3f} | {r['p90']:.3f} "
            f"| {r['error']:+.3f} | {r['failed']} | {r['skipped']} | {r['hwm'] / 1024:.1f} "
            f"| {'yes' if r['sustained'] else 'no'} |"
        )
    lines += ["", machine_table()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per step")
    parser.add_argument("--delay-ms", type=float, default=2.0)
    parser.add_argument("--names", type=int, default=20)
    parser.add_argument("--limit-ms", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    binary = build(work)
    rows: list[dict[str, Any]] = []
    with delay_server(binary, PORT, round(args.delay_ms * 1000), ADDRESSES, cpus="1") as server:
        truth_ms = server.truth_us() / 1000
        for rate in RATES:
            row = step(rate, args.names, args.seconds, work, truth_ms)
            rows.append(row)
            print(f"{row['rate']}/s: ran {row['achieved']:.0f}/s, error {row['error']:+.3f} ms", flush=True)
            if not row["sustained"] and len([r for r in rows if not r["sustained"]]) >= 2:
                break  # two steps past the limit: the ramp has found it
    text = render(rows, truth_ms, args)
    return publish(args.out, "scale.md", text)


if __name__ == "__main__":
    run(main)
