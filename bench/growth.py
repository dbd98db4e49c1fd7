"""Growth: /metrics render time and size, and CPU and memory, as the number of targets grows.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.growth'

Points:

- the demo config, examples/lab.yaml, against the loopback lab (lab/: dnsmasq and unbound);
- the large config: 1 kube-dns Service, 50 CoreDNS pods, 1 NodeLocal cache and 10 upstreams,
  20 names (10 internal, 10 external) over UDP and TCP; and the same with 1 to 200 pods.

The large configs' servers are one unbound (bench-owned config) listening on every address
(127.0.50.x, 127.0.51.x, ...; port 5353) and answering every name with one A record, over UDP
and TCP: each server is a real answer, nothing black-holes. The exporter runs as ``serve``
(node readers on a captured quiet node) at interval 5 s. Per point: the /metrics scrape time
(median of 10 GETs, as Prometheus would time it), its size and series, CPU seconds per round
and peak RSS (VmHWM) after ``--seconds``. Writes bench/results/growth.md and growth.png.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    RESULTS,
    http_get,
    machine_table,
    percentile,
    run,
    serve_exporter,
    stop,
    total,
    usage,
    wait_until,
)
from lab import Lab, free_port
from lab.servers import require
from lab.topology import HEALTHY_NODE

DEMO = Path(__file__).resolve().parent.parent / "examples" / "lab.yaml"
PORT = 5353
PODS = (1, 10, 25, 50, 100, 200)
LARGE_PODS = 50


def addresses(prefix: int, count: int) -> list[str]:
    return [f"127.0.{prefix + i // 250}.{i % 250 + 1}" for i in range(count)]


def large_config(pods: int) -> dict[str, Any]:
    names = [
        {"name": f"svc{i}.default.svc.cluster.local.", "type": "A", "kind": "internal"} for i in range(10)
    ]
    names += [{"name": f"host{i}.example.org.", "type": "A", "kind": "external"} for i in range(10)]
    return {
        "mode": "node",
        "interval": "5s",
        "timeout": "2s",
        "names": names,
        "paths": {
            "service": [f"127.0.49.1:{PORT}"],
            "pod": [f"{a}:{PORT}" for a in addresses(50, pods)],
            "nodelocal": [f"127.0.49.2:{PORT}"],
            "upstream": [f"{a}:{PORT}" for a in addresses(60, 10)],
        },
        "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")},
        "log": {"level": "info", "format": "json"},
    }


@contextmanager
def unbound_everywhere(work: Path, hosts: list[str]) -> Iterator[None]:
    """One unbound answering ``192.0.2.1`` for every name on each of ``hosts``."""
    lines = ["server:", *(f"  interface: {h}@{PORT}" for h in hosts)]
    lines += [
        "  do-daemonize: no",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{work}"',
        f'  pidfile: "{work}/unbound.pid"',
        "  use-syslog: no",
        "  verbosity: 0",
        "  num-threads: 1",
        "  incoming-num-tcp: 10",
        "  outgoing-range: 32",
        "  so-reuseport: no",
        "  access-control: 127.0.0.0/8 allow",
        "  do-ip6: no",
        '  local-zone: "." redirect',
        '  local-data: ". 300 IN A 192.0.2.1"',
        "remote-control:",
        "  control-enable: no",
    ]
    conf = work / "growth-unbound.conf"
    conf.write_text("\n".join(lines) + "\n")
    log = (work / "growth-unbound.log").open("wb")
    process = subprocess.Popen([require("unbound"), "-d", "-c", str(conf)], stdout=log, stderr=log)  # noqa: S603
    try:
        wait_until(lambda: _answers(hosts[0]), 15, "unbound")
        yield
    finally:
        stop(process)
        log.close()


def _answers(host: str) -> bool:
    out = subprocess.run(  # noqa: S603 - dig from dnsutils, at our own loopback server
        [require("dig"), f"@{host}", "-p", str(PORT), "+short", "+tries=1", "+time=1", "probe.bench.", "A"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "192.0.2.1" in out.stdout


def measure(label: str, doc: dict[str, Any], work: Path, seconds: float, targets: int) -> dict[str, Any]:
    with serve_exporter(doc, work, free_port()) as exporter:
        time.sleep(1)
        first_text, first, started = exporter.metrics(), usage(exporter.pid), time.monotonic()
        time.sleep(seconds)
        timings, text = [], ""
        for _ in range(10):
            began = time.perf_counter()
            text = http_get(exporter.url + "/metrics")
            timings.append(time.perf_counter() - began)
        last = usage(exporter.pid)
        elapsed = time.monotonic() - started
    rounds = total(text, "k8s_dns_probe_rounds_total") - total(first_text, "k8s_dns_probe_rounds_total")
    probes = total(text, "k8s_dns_probes_total") - total(first_text, "k8s_dns_probes_total")
    cpu = last.cpu_seconds - first.cpu_seconds
    return {
        "label": label,
        "targets": targets,
        "probes_per_round": probes / rounds if rounds else 0,
        "scrape_ms": percentile(timings, 0.5) * 1000,
        "bytes": len(text.encode()),
        "series": sum(1 for line in text.splitlines() if line and not line.startswith("#")),
        "cpu_per_round": cpu / rounds if rounds else float("nan"),
        "cpu_share": cpu / elapsed,
        "hwm_mib": last.hwm_kib / 1024,
        "rss_mib": last.rss_kib / 1024,
    }


def demo_point(work: Path, seconds: float) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    doc["paths"]["resolver"]["file"] = str(DEMO.parent / doc["paths"]["resolver"]["file"])
    doc["log"] = {"level": "info", "format": "json"}
    with Lab(work):
        targets = sum(len(v) for k, v in doc["paths"].items() if k != "resolver") + 1
        return measure("demo (examples/lab.yaml)", doc, work, seconds, targets)


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Growth: /metrics and resources against the number of targets",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.growth"
        f" --seconds {args.seconds:g}'`",
        "",
        "Large configs: 1 Service + N CoreDNS pods + 1 NodeLocal + 10 upstreams, 20 names, UDP and TCP, "
        "interval 5 s; every server is one unbound on many loopback addresses answering every name (no "
        "black holes). CPU per round is interval-independent; CPU share is at the 5 s interval (demo: its "
        "own 5 s).",
        "",
        "| config | targets | probes/round | /metrics scrape ms (p50) | /metrics KiB | series | CPU s/round "
        "| CPU share | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['targets']} | {r['probes_per_round']:.0f} | {r['scrape_ms']:.1f} "
            f"| {r['bytes'] / 1024:.0f} | {r['series']} | {r['cpu_per_round']:.3f} "
            f"| {r['cpu_share'] * 100:.1f}% | {r['hwm_mib']:.1f} |"
        )
    lines += ["", "![growth](growth.png)", "", machine_table()]
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib  # noqa: PLC0415 - optional: pip install '.[bench]'

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sweep = [r for r in rows if r["label"].startswith("pods")]
    x = [r["targets"] for r in sweep]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (
        ("cpu_per_round", "CPU seconds per round"),
        ("hwm_mib", "peak RSS (MiB)"),
        ("scrape_ms", "/metrics scrape (ms, p50)"),
    )
    for axis, (key, title) in zip(axes, panels, strict=True):
        axis.plot(x, [r[key] for r in sweep], marker="o")
        axis.set_title(title)
        axis.set_xlabel("targets (servers probed)")
        axis.grid(alpha=0.3)
    fig.suptitle("k8s-dns-exporter: 20 names x (1 Service + N pods + 1 NodeLocal + 10 upstreams), UDP+TCP")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per point")
    parser.add_argument("--pods", type=int, nargs="+", default=list(PODS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    rows = [demo_point(work, args.seconds)]
    hosts = ["127.0.49.1", "127.0.49.2", *addresses(50, max(args.pods)), *addresses(60, 10)]
    with unbound_everywhere(work, hosts):
        for pods in args.pods:
            label = f"pods={pods}" + (" (the large config)" if pods == LARGE_PODS else "")
            rows.append(measure(label, large_config(pods), work, args.seconds, pods + 12))
            print(f"{label}: {rows[-1]['scrape_ms']:.1f} ms, {rows[-1]['series']} series", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "growth.md").write_text(render(rows, args))
    plot(rows, args.out / "growth.png")
    shutil.rmtree(work, ignore_errors=True)
    print((args.out / "growth.md").read_text())
    return 0


if __name__ == "__main__":
    run(main)
