"""What every benchmark shares: /proc readings of a process, the exporter as a real ``serve``
process, HTTP on loopback, and the machine's description for the results tables."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    """One reading of a process from /proc."""

    cpu_seconds: float
    """utime + stime, the process's own threads (children not included)."""
    rss_kib: int
    hwm_kib: int
    """VmHWM: the peak resident set size so far."""
    threads: int
    fds: int


def usage(pid: int) -> Usage:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3; utime and stime are fields 14 and 15.
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    kib = lambda key: int(status[key].split()[0])  # noqa: E731 - "1234 kB" -> 1234
    return Usage(
        cpu_seconds=cpu,
        rss_kib=kib("VmRSS"),
        hwm_kib=kib("VmHWM"),
        threads=int(status["Threads"]),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
    )


def http_get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
        body: bytes = response.read()
    return body.decode()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Served:
    """A running ``python -m exporter serve`` and its base URL."""

    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def metrics(self) -> str:
        return http_get(self.url + "/metrics")


class LatencySampler:
    """Reads every probe's latency from the exporter's ``/diagnose`` every ``every`` seconds, on a thread.

    /diagnose lists the last round's probes with ``latency_seconds`` to the microsecond (the
    histogram's buckets are too coarse for a median); a probe seen twice counts once.
    ``scrape_every``: also GET /metrics that often, as Prometheus would.
    """

    def __init__(self, url: str, every: float, scrape_every: float | None = None) -> None:
        self.url = url
        self.every = every
        self.scrape_every = scrape_every
        self.seen: dict[tuple[str, str, float], float | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-sampler")

    def __enter__(self) -> LatencySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = last_scrape = time.monotonic()
        while not self._stop.wait(self.every):
            if self.scrape_every is not None and time.monotonic() - last_scrape >= self.scrape_every:
                http_get(self.url + "/metrics")
                last_scrape = time.monotonic()
            for probe in json.loads(http_get(self.url + "/diagnose"))["probes"]:
                if probe["timestamp"] >= started:
                    self.seen[(probe["server"], probe["name"], probe["timestamp"])] = probe["latency_seconds"]

    @property
    def latencies(self) -> list[float]:
        return [v for v in self.seen.values() if v is not None]

    @property
    def failures(self) -> int:
        return sum(1 for v in self.seen.values() if v is None)


@contextmanager
def serve_exporter(
    doc: dict[str, Any], workdir: Path, port: int, *, cpus: str | None = None, ready: bool = True
) -> Iterator[Served]:
    """Write ``doc`` (with ``listen`` on ``port``), run ``serve`` on it, SIGTERM it afterwards.

    ``cpus`` pins the process (``taskset -c``) as it execs, so the pid is the exporter's own.
    """
    config = workdir / f"exporter-{port}.yaml"
    config.write_text(yaml.safe_dump({**doc, "listen": f"127.0.0.1:{port}"}, sort_keys=False))
    command: Sequence[str] = [sys.executable, "-m", "exporter", "serve", "--config", str(config)]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    log = (workdir / f"exporter-{port}.log").open("wb")
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    served = Served(process, f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: http_get(served.url + "/healthz") is not None, 30, "the exporter's listener")
        if ready:
            wait_until(lambda: http_get(served.url + "/readyz") is not None, 30, "the first round")
        yield served
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition (labels matched as given)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{", 1)[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


def total(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in a Prometheus text exposition."""
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " ")
    )


def publish(out: Path, filename: str, text: str) -> int:
    """Write one benchmark's results to ``out/filename`` and print them; the exit code (0)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / filename).write_text(text)
    print(text)
    return 0


def run(main: Callable[[], int]) -> None:
    """A benchmark's entry point: SIGTERM stops it through its ``finally`` blocks (servers stopped)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    versions = {
        dist: _version(dist) for dist in ("dnspython", "prometheus-client", "structlog", "apscheduler")
    }
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        **versions,
    }


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_table() -> str:
    rows = "\n".join(f"| {key} | {value} |" for key, value in machine().items())
    return "| machine | |\n|---|---|\n" + rows + "\n"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
