"""Soak: the exporter at 50x the demo config's rate against the lab, sampled for leaks.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.soak --minutes 30'

It starts the loopback lab (lab/) and ``serve`` with examples/lab.yaml, its
interval divided by ``--speedup`` (default 50: 5 s becomes 100 ms, jitter scaled
alike, the 2 s query timeout capped at the interval), and every ``--every`` seconds
records the exporter's RSS, peak RSS, open file descriptors, threads, CPU seconds
and the rounds it completed and skipped.
It writes bench/results/soak.csv and bench/results/soak.md. A leak shows as RSS,
fds or threads that keep climbing after the first minutes; a steady state is flat.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import RESULTS, machine_table, run, sample, serve_exporter, usage
from lab import Lab, free_port

DEMO = Path(__file__).resolve().parent.parent / "examples" / "lab.yaml"
FIELDS = ("elapsed_s", "rss_kib", "hwm_kib", "fds", "threads", "cpu_s", "rounds", "skipped", "probes_failed")


def soak_config(speedup: float) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    interval = _seconds(doc.get("interval", "15s")) / speedup
    doc["interval"] = f"{interval * 1000:.0f}ms"
    doc["jitter"] = f"{interval * 100:.0f}ms"  # 10%, as the demo's default
    # A query may not outlast the round's interval (the config rejects it): cap the timeout there.
    doc["timeout"] = f"{min(_seconds(doc.get('timeout', '2s')), interval) * 1000:.0f}ms"
    doc["paths"]["resolver"]["file"] = str(DEMO.parent / doc["paths"]["resolver"]["file"])
    doc["log"] = {"level": "warning", "format": "json"}
    return doc


def _seconds(text: str) -> float:
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


def from_csv(path: Path) -> list[dict[str, float]]:
    with path.open() as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--speedup", type=float, default=50.0, help="rate multiple of the demo config")
    parser.add_argument("--cpus", default=None, help="pin the exporter (taskset -c), e.g. 1")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="rewrite soak.md from soak.csv")
    args = parser.parse_args(argv)
    doc = soak_config(args.speedup)
    if args.report_only:
        (args.out / "soak.md").write_text(report(from_csv(args.out / "soak.csv"), doc, args))
        return 0
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    rows: list[dict[str, float]] = []
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        Lab(work) as _lab,  # the demo config's addresses: net 0, port 5353
        serve_exporter(doc, work, free_port(), cpus=args.cpus) as exporter,
    ):
        deadline = started + args.minutes * 60
        while True:
            now = time.monotonic()
            text = exporter.metrics()
            reading = usage(exporter.pid)
            failed = sum(
                float(line.rpartition(" ")[2])
                for line in text.splitlines()
                if line.startswith("k8s_dns_probe_success{") and line.endswith(" 0.0")
            )
            rows.append(
                {
                    "elapsed_s": round(now - started, 1),
                    "rss_kib": reading.rss_kib,
                    "hwm_kib": reading.hwm_kib,
                    "fds": reading.fds,
                    "threads": reading.threads,
                    "cpu_s": round(reading.cpu_seconds, 2),
                    "rounds": sample(text, "k8s_dns_probe_rounds_total") or 0,
                    "skipped": sample(text, "k8s_dns_probe_rounds_skipped_total") or 0,
                    "probes_failed": failed,
                }
            )
            _write(args.out, rows, doc, args)
            if now >= deadline:
                break
            time.sleep(min(args.every, max(0.0, deadline - time.monotonic())))
    shutil.rmtree(work, ignore_errors=True)
    print((args.out / "soak.md").read_text())
    return 0


def _write(out: Path, rows: list[dict[str, float]], doc: dict[str, Any], args: argparse.Namespace) -> None:
    with (out / "soak.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "soak.md").write_text(report(rows, doc, args))


def _trend(warm: dict[str, float], last: dict[str, float]) -> list[str]:
    """RSS growth after the warm-up, per hour and per 1,000 rounds."""
    seconds = last["elapsed_s"] - warm["elapsed_s"]
    rounds = last["rounds"] - warm["rounds"]
    if seconds <= 0 or rounds <= 0:
        return []
    grown = last["rss_kib"] - warm["rss_kib"]
    return [
        f"- RSS after the warm-up: {grown:+g} KiB in {seconds / 60:.0f} min, "
        f"{grown / seconds * 3600:+.0f} KiB an hour, {grown / rounds * 1000:+.0f} KiB per 1,000 rounds"
    ]


def report(rows: list[dict[str, float]], doc: dict[str, Any], args: argparse.Namespace) -> str:
    first, last = rows[0], rows[-1]
    # The steady state: from the first sample after 2 minutes (imports, caches and pools warm).
    warm = next((r for r in rows if r["elapsed_s"] >= 120), first)
    span = max(last["elapsed_s"] - first["elapsed_s"], 1e-9)
    rounds = last["rounds"] - first["rounds"]
    lines = [
        "# Soak",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.soak"
        f" --minutes {args.minutes:g}{f' --cpus {args.cpus}' if args.cpus else ''}'`",
        "",
        f"examples/lab.yaml against the loopback lab at {args.speedup:g}x its rate: interval "
        f"{doc['interval']} (jitter {doc['jitter']}, timeout {doc['timeout']}), "
        f"{len(rows)} samples every {args.every:g} s over {span / 60:.1f} min.",
        "",
        "| | first sample | after 2 min | last sample | growth after 2 min |",
        "|---|---|---|---|---|",
    ]
    for key, unit in (("rss_kib", "KiB"), ("hwm_kib", "KiB"), ("fds", ""), ("threads", "")):
        growth = last[key] - warm[key]
        cells = (f"{first[key]:g}", f"{warm[key]:g}", f"{last[key]:g}", f"{growth:+g}")
        lines.append(f"| {key} | " + " | ".join(f"{cell} {unit}".strip() for cell in cells) + " |")
    lines += [
        "",
        f"- rounds completed: {rounds:g} ({rounds / span:.2f}/s), skipped because the previous one still "
        f"ran: {last['skipped'] - first['skipped']:g}",
        f"- CPU: {(last['cpu_s'] - first['cpu_s']) / span * 100:.1f}% of one core on average",
        f"- probes failing at the last sample: {last['probes_failed']:g}",
        f"- open fds: {min(r['fds'] for r in rows):g} to {max(r['fds'] for r in rows):g} (a sample taken "
        "while a round's TCP probes are open counts their sockets)",
        *_trend(warm, last),
        "",
        machine_table(),
        "Every sample: bench/results/soak.csv.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    run(main)
