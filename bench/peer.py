"""Peer comparison: this exporter and prometheus-blackbox-exporter probe the same server side by side.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.peer'

The target is bench/delay_server.c (compiled with cc at run time): it answers every A query
``--delay-ms`` after the kernel received it, so the true latency is known; it is measured by
the server's own precise client (median, before and after each run). Both probers ask the same
query (``probe.bench. A``, UDP, no EDNS) at the same rate for ``--seconds``:

- the exporter as deployed: ``python -m exporter serve`` with a node-mode config naming the
  targets on the ``pod`` path (interval 100 ms with one target, 1 s with ten), node readers on;
- blackbox_exporter: ``GET /probe?module=dns_x&target=...`` at the same rate over one kept-alive
  connection, as Prometheus scrapes it.

Per prober: CPU seconds per 1,000 probes (utime + stime from /proc/PID/stat over the window),
peak RSS (VmHWM) and the median latency it reported against the truth. The exporter's
latencies are read from ``/diagnose`` once a second (each probe's ``latency_seconds``, to the
microsecond; the histogram's buckets are too coarse for a median) and its mean from
``k8s_dns_probe_duration_seconds`` sum/count; blackbox's from ``probe_dns_duration_seconds
{phase="request"}`` of every probe. The exporter is also scraped at /metrics every 15 s.
Both run at the same time, so whatever else loads the machine loads both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import blackbox as bb
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

QNAME = "probe.bench."
PORT = 5300


@dataclass(frozen=True)
class Scenario:
    name: str
    targets: int
    rate: float
    """Probes per second, each prober."""

    @property
    def interval(self) -> float:
        return self.targets / self.rate


SCENARIOS = (
    Scenario("1 target, 10 probes/s", 1, 10.0),
    Scenario("10 targets, 10 probes/s", 10, 10.0),
)


@dataclass
class Measured:
    probes: int = 0
    cpu_seconds: float = 0.0
    hwm_kib: int = 0
    latencies: list[float] = field(default_factory=list)
    mean: float | None = None
    failures: int = 0

    def cpu_per_1000(self) -> float:
        return self.cpu_seconds / self.probes * 1000 if self.probes else float("nan")

    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.5) * 1000 if self.latencies else float("nan")


def exporter_config(targets: list[str], interval: float) -> dict[str, Any]:
    return {
        "mode": "node",
        "interval": f"{interval * 1000:.0f}ms",
        "jitter": "0s",
        "timeout": "100ms" if interval <= 0.1 else "1s",
        "names": [{"name": QNAME, "type": "A", "kind": "external", "paths": ["pod"], "transports": ["udp"]}],
        "paths": {"pod": targets},
        "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")},
        "log": {"level": "info", "format": "json"},
    }


def probes_total(text: str) -> int:
    return int(total(text, "k8s_dns_probes_total"))


def histogram_mean(before: str, after: str) -> float | None:
    total = [sample(t, "k8s_dns_probe_duration_seconds_sum") or 0.0 for t in (before, after)]
    count = [sample(t, "k8s_dns_probe_duration_seconds_count") or 0.0 for t in (before, after)]
    return (total[1] - total[0]) / (count[1] - count[0]) if count[1] > count[0] else None


def run_scenario(
    scenario: Scenario, work: Path, binary: Path, seconds: float, delay_us: int
) -> dict[str, Any]:
    addresses = [f"127.0.2.{i}" for i in range(1, scenario.targets + 1)]
    targets = [f"{a}:{PORT}" for a in addresses]
    ours, peer = Measured(), Measured()
    with (
        delay_server(binary, PORT, delay_us, addresses) as server,
        bb.blackbox(work, free_port(), QNAME) as box,
        serve_exporter(exporter_config(targets, scenario.interval), work, free_port()) as exporter,
    ):
        truth_before = server.truth_us()
        time.sleep(3)  # both warm: first rounds done, first probes served
        stop = threading.Event()
        client = bb.ProbeClient(box.port)

        def drive_peer() -> None:
            start, index = time.monotonic(), 0
            while not stop.is_set():
                delay = start + index / scenario.rate - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                    continue
                text = client.probe(targets[index % len(targets)])
                index += 1
                peer.probes += 1
                value = sample(text, "probe_dns_duration_seconds", phase="request")
                if sample(text, "probe_success") == 1 and value is not None:
                    peer.latencies.append(value)
                else:
                    peer.failures += 1

        metrics_before = exporter.metrics()
        ours_before, peer_before = usage(exporter.pid), usage(box.pid)
        driver = threading.Thread(target=drive_peer)
        driver.start()
        with LatencySampler(exporter.url, every=1.0, scrape_every=15.0) as sampler:
            time.sleep(seconds)
        stop.set()
        driver.join()
        ours_after, peer_after = usage(exporter.pid), usage(box.pid)
        metrics_after = exporter.metrics()
        truth_after = server.truth_us()
        ours.probes = probes_total(metrics_after) - probes_total(metrics_before)
        ours.cpu_seconds = ours_after.cpu_seconds - ours_before.cpu_seconds
        ours.hwm_kib = ours_after.hwm_kib
        ours.latencies = sampler.latencies
        ours.failures = sampler.failures
        ours.mean = histogram_mean(metrics_before, metrics_after)
        peer.cpu_seconds = peer_after.cpu_seconds - peer_before.cpu_seconds
        peer.hwm_kib = peer_after.hwm_kib
        peer.mean = sum(peer.latencies) / len(peer.latencies) if peer.latencies else None
    return {
        "scenario": scenario,
        "ours": ours,
        "peer": peer,
        "truth_ms": (truth_before + truth_after) / 2000,
        "truth_span_ms": (truth_before / 1000, truth_after / 1000),
        "held": server.held,
    }


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Peer comparison: k8s-dns-exporter vs prometheus-blackbox-exporter",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.peer"
        f" --seconds {args.seconds:g} --delay-ms {args.delay_ms:g}'`",
        "",
        f"Target: bench/delay_server.c answering after {args.delay_ms:g} ms; both probers side by side "
        f"for {args.seconds:g} s per scenario. Truth: the delay server's own client (kernel receive "
        "stamp, median of 1,000 sequential queries, before and after each run).",
        "",
        "| scenario | prober | probes | CPU s / 1,000 probes | peak RSS MiB | p50 reported ms | truth ms "
        "| p50 error ms | mean reported ms | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        scenario: Scenario = result["scenario"]
        truth = result["truth_ms"]
        for label, measured in (("k8s-dns-exporter", result["ours"]), ("blackbox_exporter", result["peer"])):
            mean = f"{measured.mean * 1000:.3f}" if measured.mean is not None else "-"
            lines.append(
                f"| {scenario.name} | {label} | {measured.probes} | {measured.cpu_per_1000():.3f} "
                f"| {measured.hwm_kib / 1024:.1f} | {measured.p50_ms():.3f} | {truth:.3f} "
                f"| {measured.p50_ms() - truth:+.3f} | {mean} | {measured.failures} |"
            )
    lines += ["", "| scenario | CPU per probe, exporter / blackbox | peak RSS, exporter / blackbox | "]
    lines[-1] += "latency samples (exporter, blackbox) | truth before, after (ms) | server hold p50 (us) |"
    lines.append("|---|---|---|---|---|---|")
    for result in results:
        ours, peer = result["ours"], result["peer"]
        before, after = result["truth_span_ms"]
        lines.append(
            f"| {result['scenario'].name} | {ours.cpu_per_1000() / peer.cpu_per_1000():.2f}x "
            f"| {ours.hwm_kib / peer.hwm_kib:.2f}x | {len(ours.latencies)}, {len(peer.latencies)} "
            f"| {before:.3f}, {after:.3f} | {result['held'].get('held_p50_us', float('nan')):.1f} |"
        )
    lines += ["", f"blackbox_exporter {bb.version()}", "", machine_table()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window per scenario")
    parser.add_argument("--delay-ms", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not bb.available():
        print(
            "error: prometheus-blackbox-exporter is not installed (make bench installs it)", file=sys.stderr
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    binary = build(work)
    results = [
        run_scenario(scenario, work, binary, args.seconds, round(args.delay_ms * 1000))
        for scenario in SCENARIOS
    ]
    text = render(results, args)
    return publish(args.out, "peer.md", text)


if __name__ == "__main__":
    run(main)
