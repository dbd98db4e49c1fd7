"""The long fuzz run: every hypothesis test (tests/unit/test_fuzz.py, test_wire.py) at a large example count.

Run from the repository root (``bench/fuzz.sh`` runs it in a loopback-only network namespace):

    K8S_DNS_FUZZ_EXAMPLES=20000 .venv/bin/python -m bench.fuzz

The tests read ``K8S_DNS_FUZZ_EXAMPLES`` (unset in the test pass, so CI keeps its bounded counts).
Hypothesis' statistics give the examples each test ran; bench/results/fuzz.md records them
with the time and the outcome.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO, RESULTS, machine_table, run

TESTS = ("tests/unit/test_fuzz.py", "tests/unit/test_wire.py")
HEADER = re.compile(r"^(tests/\S+::\S+):\s*$")
PHASE = re.compile(r"during (\w+) phase \(([\d.]+) seconds\)")
COUNTS = re.compile(r"(\d+) passing(?: examples?)?, (\d+) failing(?: examples?)?,(?: and)? (\d+) invalid")


def parse(stats: str) -> dict[str, dict[str, float]]:
    """Per test: passing, failing and invalid examples and seconds over all phases."""
    tests: dict[str, dict[str, float]] = {}
    current: dict[str, float] | None = None
    for line in stats.splitlines():
        if header := HEADER.match(line.strip()):
            current = tests.setdefault(
                header.group(1), dict.fromkeys(("passing", "failing", "invalid", "seconds"), 0)
            )
        elif current is not None and (phase := PHASE.search(line)):
            current["seconds"] += float(phase.group(2))
        elif current is not None and (counts := COUNTS.search(line)):
            current["passing"] += int(counts.group(1))
            current["failing"] += int(counts.group(2))
            current["invalid"] += int(counts.group(3))
    return tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("K8S_DNS_FUZZ_EXAMPLES", "20000")))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    env = {**os.environ, "K8S_DNS_FUZZ_EXAMPLES": str(args.examples)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=0"]
    command += ["--hypothesis-show-statistics", "-m", "not lab", *TESTS]
    started = time.monotonic()
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.monotonic() - started
    tests = parse(run.stdout)
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    lines = [
        "# Long fuzz run",
        "",
        f"`bench/fuzz.sh {args.examples}` (that is `K8S_DNS_FUZZ_EXAMPLES={args.examples} python -m "
        "bench.fuzz` in a loopback-only network namespace)",
        "",
        f"pytest: `{summary}` in {elapsed / 60:.1f} min (exit {run.returncode}). The test pass runs the "
        "same tests at 300 to 500 examples each.",
        "",
        "| test | passing examples | failing | invalid (filtered) | seconds |",
        "|---|---|---|---|---|",
    ]
    for name, c in sorted(tests.items()):
        short = name.removeprefix("tests/unit/")
        lines.append(
            f"| {short} | {c['passing']:.0f} | {c['failing']:.0f} | {c['invalid']:.0f} | {c['seconds']:.1f} |"
        )
    passing = sum(c["passing"] for c in tests.values())
    lines += [
        "",
        f"{len(tests)} hypothesis tests, {passing:,.0f} passing examples in all.",
        "",
        machine_table(),
    ]
    if run.returncode != 0:
        lines += ["## Failures", "", "```", run.stdout[-6000:], "```", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return run.returncode


if __name__ == "__main__":
    run(main)
