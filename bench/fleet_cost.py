"""The fleet's cost, from plans: CoreDNS queries per second, API watches, series in Prometheus, and the
node agents' CPU and memory, for 10 to 5,000 nodes and P in {2, 10, N} CoreDNS pods.

Run from the repository root (no query is sent):

    .venv/bin/python -m bench.fleet_cost

For each case the shipped node config's round is planned as ``bench/cost_model.py`` plans it
(the round's share of pods and upstreams, the node's own pod first). Queries come from the plan.
Series come from the plan too: every planned probe is recorded as an answer into the exporter's
own probe state, with the node readings of a quiet node's files (tests/fixtures/node/healthy),
and the exporter's /metrics collector renders it; the samples are counted. CPU and memory are the
measured footprint of the shipped node agent (bench/results/footprint.md: peak RSS and millicores
at its 30 s interval), CPU scaled by the planned probes against the probes of the measured round;
memory does not follow the plan (it is the interpreter and its imports), so it is the same figure.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import time
from pathlib import Path

from prometheus_client import generate_latest

from bench.common import REPO, RESULTS, publish, run
from bench.cost_model import (
    AGENT_NODE,
    KNOWN_NAMESPACES,
    Case,
    answers,
    deployed,
    on_coredns,
    round_targets,
    watches,
)
from exporter.config import Config, KubernetesConfig, NodeConfig, load_config
from exporter.diagnosis.engine import upstream_comparisons
from exporter.node.part import node_part
from exporter.probe.engine import Round
from exporter.probe.race import RaceResult
from exporter.probe.result import ProbeResult
from exporter.runtime import Runtime
from exporter.status import Status
from exporter.targets import TargetSet
from exporter.targets.plan import Kind, Plan, plan
from lab.topology import HEALTHY_NODE

NODES = (10, 100, 1_000, 5_000)
MEASURED_PROBES = 19
"""Probes a round of the shipped node config made when bench/results/footprint.md was measured
(P = 2, no upstream path: tests/fixtures/golden/node.doctor.txt of that time)."""


@dataclasses.dataclass(frozen=True)
class Footprint:
    rss_mib: float
    millicores: float


def footprint(path: Path = RESULTS / "footprint.md") -> Footprint:
    """The node agent's measured peak RSS and millicores after its first round."""
    row = re.search(
        r"^\| node \| ([\d.]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \|$", path.read_text(), re.MULTILINE
    )
    if row is None:
        raise ValueError(f"{path}: no node row")
    return Footprint(float(row.group(1)), float(row.group(2)))


def series(config: Config, rounds: list[tuple[TargetSet, Plan]]) -> int:
    """Samples the agent's /metrics has after ``rounds`` (the diagnosis window) in which every probe
    answered: what the last round probed, the node readings, the upstream comparison, the rest."""
    quiet = dataclasses.replace(
        config,
        kubernetes=KubernetesConfig(),
        node=NodeConfig(str(HEALTHY_NODE / "proc"), str(HEALTHY_NODE / "root")),
    )
    status = Status()
    part = node_part(quiet, status)
    runtime = Runtime(quiet, [part], status, node=AGENT_NODE)

    async def sample() -> None:  # the node readers' own hook: read the node's files
        for hook in part.before_round:
            await hook()

    for targets, planned in rounds:
        asyncio.run(sample())
        results = tuple(
            ProbeResult(
                p.path,
                p.label,
                p.name,
                p.qtype,
                p.transport,
                None,
                "NOERROR",
                0.002,
                ("192.0.2.1",),
                1,
                connect=0.0005 if p.transport == "tcp" else None,
            )
            for p in planned
            if p.kind is not Kind.RACE
        )
        races = tuple(RaceResult(p.path, p.label, p.name, (), ()) for p in planned.of(Kind.RACE))
        round_ = Round(time.time(), 0.01, results, {}, targets, races, planned)
        runtime.probes.record(round_)
        for after in part.after_round:
            after(round_)
    runtime.findings.set((), upstream_comparisons(runtime.observations()))
    for name in ("probe", "targets"):
        status.record(name, ok=True, duration=0.01)
    text = generate_latest(runtime.registry()).decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def report(args: argparse.Namespace) -> str:
    config = load_config(args.node_config)
    namespace = deployed("DaemonSet", "metadata.namespace", "default")
    measured = footprint()
    replicas = int(deployed("Deployment", "spec.replicas", 1))
    has_records = answers(config.cluster_domain, KNOWN_NAMESPACES | {namespace})
    lines = [
        "# Fleet cost, from plans",
        "",
        "`.venv/bin/python -m bench.fleet_cost`",
        "",
        f"The node agents of `{args.node_config.relative_to(REPO)}` (interval {config.interval:g} s, "
        f"pods_per_round {config.pods_per_round}, upstreams_per_round {config.upstreams_per_round}, "
        f"{args.upstreams} upstreams, no NodeLocal DNSCache), one per node, plus the cluster instance's "
        f"{replicas} replicas' watches. Agent CPU: {measured.millicores:g} millicores measured for "
        f"{MEASURED_PROBES} probes a round, scaled by the planned probes; memory: {measured.rss_mib:g} MiB "
        "peak measured (bench/results/footprint.md).",
        "",
        "| nodes | P | queries/s on CoreDNS | API watches | series per agent | series in Prometheus (agents) "
        "| agent CPU: each / all (cores) | agent memory: each / all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for nodes in args.nodes:
        for pods in (2, 10, None):
            case = Case(pods, nodelocal=False)
            window = []
            for index in range(config.diagnosis.window):
                targets = round_targets(
                    config,
                    case,
                    upstreams=args.upstreams,
                    namespace=namespace,
                    nodes=nodes,
                    round_index=index,
                )
                window.append((targets, plan(config, targets)))
            planned = window[-1][1]
            queries = {p: 0 for p in ("service", "pod", "resolver")}
            for probe in planned:
                if probe.path in queries:
                    queries[probe.path] += probe.queries(has_records)
            qps = nodes * on_coredns(queries, False) / config.interval
            per_agent = series(config, window)
            millicores = measured.millicores * len(planned) / MEASURED_PROBES
            lines.append(
                f"| {nodes:,} | {'N' if pods is None else pods} | {qps:,.1f} | "
                f"{nodes * watches(config) + replicas:,} | {per_agent} | {nodes * per_agent:,} | "
                f"{millicores:.2f} m / {nodes * millicores / 1000:,.2f} | "
                f"{measured.rss_mib:g} MiB / {nodes * measured.rss_mib / 1024:,.1f} GiB |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--node-config", type=Path, default=REPO / "deploy/base/config/node.yaml")
    parser.add_argument("--nodes", type=int, nargs="+", default=list(NODES))
    parser.add_argument("--upstreams", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    return publish(args.out, "fleet_cost.md", report(args))


if __name__ == "__main__":
    run(main)
