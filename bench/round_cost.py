"""The cost of a probe round in CPU instructions, split into what every round costs and what each probe adds.

Run inside a loopback-only network namespace, from the repository root (needs valgrind):

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.round_cost --against a14357c'

CPU seconds of a process that wakes ten times a second say little on a virtual machine: a
round that costs 0.5 ms back to back costs about 2 ms after a 100 ms sleep here, and the
spread between two runs is larger than a change to the round. Instructions do not move
with the machine's load: ``valgrind --tool=callgrind`` counts every user-space instruction
the interpreter executes. The node agent as deployed (node readers on a captured node,
diagnosis, JSON logs) runs rounds of 1 probe and of 10 probes against a real DNS server of
the lab (unbound, outside valgrind); each count is the difference between 120 and 20
rounds, so start-up cancels out. A round of ``n`` probes costs ``F + n x p``: ``F``, the
fixed cost of a round, and ``p``, the cost of a probe, follow from the two.

``--against REV`` measures the same on a checkout of ``REV`` (a git worktree made for the
run, with this venv): the two side by side in one run, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import REPO, RESULTS, publish, run
from lab import Lab

ROUNDS = (20, 120)
PROBES = (1, 10)
NET = 63

_DRIVER = """
import asyncio, os, sys
sys.path.insert(0, os.getcwd())
from exporter.config import parse_config
from exporter.logs import configure_logging
try:
    from exporter.compose import build
except ImportError:  # before the composition root
    from exporter.runtime import Runtime as build
rounds, probes, server, node = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
configure_logging("info", "json", stream=open(os.devnull, "w"))
names = [{"name": "example.org.", "transports": ["udp"], "paths": ["pod"]}] + [
    {"name": f"www{i}.example.org.", "transports": ["udp"], "paths": ["pod"], "expect": {"rcode": "NXDOMAIN"}}
    for i in range(probes - 1)
]
doc = {"interval": "1s", "timeout": "500ms", "names": names, "paths": {"pod": [server]},
       "node": {"procfs": node + "/proc", "rootfs": node + "/root"}}
runtime = build(parse_config(doc))
async def main():
    for _ in range(rounds):
        await runtime.probe_round()
asyncio.run(main())
"""
"""Runs ``rounds`` rounds of ``probes`` probes; works on this tree and on older ones."""


def instructions(tree: Path, rounds: int, probes: int, server: str) -> int:
    node = tree / "tests" / "fixtures" / "node" / "healthy"
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is needed: apt-get install valgrind")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as driver:
        driver.write(_DRIVER)
    try:
        result = subprocess.run(  # noqa: S603 - valgrind on this venv's python, on loopback
            [
                valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
                sys.executable, driver.name, str(rounds), str(probes), server, str(node),
            ],
            cwd=tree, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(driver.name)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_round(tree: Path, probes: int, server: str) -> float:
    few, many = (instructions(tree, rounds, probes, server) for rounds in ROUNDS)
    return (many - few) / (ROUNDS[1] - ROUNDS[0])


def fit(tree: Path, server: str) -> tuple[float, float, float, float]:
    """Instructions per round of 1 and of 10 probes, and the fixed and per-probe costs."""
    one, ten = (per_round(tree, n, server) for n in PROBES)
    probe = (ten - one) / (PROBES[1] - PROBES[0])
    return one, ten, one - probe, probe


def git(*args: str) -> None:
    found = shutil.which("git")
    if found is None:
        raise RuntimeError("git is needed for --against")
    subprocess.run([found, *args], cwd=REPO, check=True, capture_output=True)  # noqa: S603 - this repository


def revision_tree(rev: str, work: Path) -> Path:
    tree = work / "against"
    git("worktree", "add", "--detach", str(tree), rev)
    return tree


def report(rows: list[tuple[str, tuple[float, float, float, float]]], against: str | None) -> str:
    lines = [
        "# The cost of a probe round, in instructions",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.round_cost"
        + (f" --against {against}" if against else "")
        + "'`",
        "",
        "User-space instructions counted by `valgrind --tool=callgrind` for the node agent as deployed "
        "(node readers on the captured healthy node, diagnosis, JSON logs) probing one unbound of the lab; "
        f"each figure is the difference between {ROUNDS[1]} and {ROUNDS[0]} rounds. A round of n probes "
        "costs F + n x p.",
        "",
        "| tree | per round, 1 probe | per round, 10 probes | fixed per round (F) | per probe (p) |",
        "|---|---|---|---|---|",
    ]
    for label, (one, ten, fixed, probe) in rows:
        lines.append(f"| {label} | {one:,.0f} | {ten:,.0f} | {fixed:,.0f} | {probe:,.0f} |")
    if len(rows) == 2:
        (_, new), (_, old) = rows
        lines += [
            "",
            f"This tree against `{against}`: fixed cost per round {new[2] / old[2]:.2f}x, "
            f"per probe {new[3] / old[3]:.2f}x, a round of 1 probe {new[0] / old[0]:.2f}x, "
            f"of 10 probes {new[1] / old[1]:.2f}x.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.round_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="REV", help="also measure this git revision, side by side")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="round-cost-"))
    rows = []
    with Lab(net=NET) as lab:
        server = lab.address("upstream-1")
        rows.append(("this tree", fit(REPO, server)))
        if args.against:
            tree = revision_tree(args.against, work)
            try:
                rows.append((f"`{args.against}`", fit(tree, server)))
            finally:
                git("worktree", "remove", "--force", str(tree))
    return publish(args.out, "round_cost.md", report(rows, args.against))


if __name__ == "__main__":
    run(main)
