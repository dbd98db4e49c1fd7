"""Memory of the node agent: peak RSS with the demo config, and what the imports cost.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.memory'

1. ``serve`` with examples/lab.yaml (the demo config, every path of the loopback lab) for
   ``--seconds``: peak RSS (VmHWM) and RSS at the end.
2. A fresh interpreter importing, one after the other, what ``serve`` loads: the RSS after
   each step shows what the memory is made of (module code and data, not probe state).

bench/node_memory.py measures node mode with API discovery (with and without the kubernetes
client loaded) and cluster mode.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import RESULTS, machine_table, publish, run, serve_exporter, usage
from lab import Lab, free_port

DEMO = Path(__file__).resolve().parent.parent / "examples" / "lab.yaml"
GOAL_MIB = 45.0
STEPS: tuple[tuple[str, str], ...] = (
    ("interpreter", "pass"),
    ("prometheus_client", "import prometheus_client, prometheus_client.core, prometheus_client.exposition"),
    ("dnspython", "import dns.message, dns.rdatatype, dns.rcode, dns.rrset, dns.name"),
    ("structlog", "import structlog"),
    ("apscheduler", "from apscheduler.schedulers.asyncio import AsyncIOScheduler"),
    ("PyYAML", "import yaml"),
    (
        "exporter (serve, runtime, every module node mode loads)",
        "import exporter.cli, exporter.serve, exporter.runtime",
    ),
    ("kubernetes client (cluster mode only)", "import kubernetes.client, kubernetes.watch"),
)
PROBE = """
import json, sys
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
out = []
for label, code in json.loads(sys.argv[1]):
    exec(code)
    out.append((label, rss()))
print(json.dumps(out))
"""


def import_steps() -> list[tuple[str, int]]:
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE, json.dumps(STEPS)], capture_output=True, text=True, check=True
    ).stdout
    return [(label, int(kib)) for label, kib in json.loads(out)]


def demo_agent(seconds: float) -> dict[str, float]:
    doc: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    doc["paths"]["resolver"]["file"] = str(DEMO.parent / doc["paths"]["resolver"]["file"])
    doc["log"] = {"level": "info", "format": "json"}
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    with Lab(work), serve_exporter(doc, work, free_port()) as exporter:
        time.sleep(seconds)
        exporter.metrics()
        reading = usage(exporter.pid)
    return {"hwm": reading.hwm_kib / 1024, "rss": reading.rss_kib / 1024, "threads": reading.threads}


def render(agent: dict[str, float], steps: list[tuple[str, int]], args: argparse.Namespace) -> str:
    verdict = "met" if agent["hwm"] <= GOAL_MIB else "missed"
    lines = [
        "# Node agent memory",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.memory"
        f" --seconds {args.seconds:g}'`",
        "",
        f"`serve` with examples/lab.yaml against the loopback lab for {args.seconds:g} s: **peak RSS "
        f"{agent['hwm']:.1f} MiB** (RSS at the end {agent['rss']:.1f} MiB, {agent['threads']:.0f} threads); "
        f"goal <= {GOAL_MIB:g} MiB: {verdict}.",
        "",
        "What it is made of: a fresh interpreter importing what `serve` loads, step by step.",
        "",
        "| step | RSS after MiB | added MiB |",
        "|---|---|---|",
    ]
    previous = 0
    for label, kib in steps:
        lines.append(f"| {label} | {kib / 1024:.1f} | {(kib - previous) / 1024:+.1f} |")
        previous = kib
    node_imports = dict(steps)["exporter (serve, runtime, every module node mode loads)"]
    lines += [
        "",
        f"Imports alone make {node_imports / 1024:.1f} MiB of the agent's {agent['hwm']:.1f} MiB peak; the "
        "rest is probe state, the event loop, the HTTP thread and allocator slack.",
        "",
        machine_table(),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    agent = demo_agent(args.seconds)
    text = render(agent, import_steps(), args)
    return publish(args.out, "memory.md", text)


if __name__ == "__main__":
    run(main)
