"""A real Prometheus (Debian's) on loopback, scraping what a test points it at."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

from lab import LabError, free_port
from lab.servers import die_with_parent, require
from tests.integration.metrics_text import samples

T = TypeVar("T")


def start_ready(argv: list[str], log: Path, url: str) -> subprocess.Popen[bytes]:
    """Start a Prometheus-family server (its log to ``log``) and wait for ``url``/-/ready."""
    process = subprocess.Popen(
        argv,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - only sets the death signal
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1):  # noqa: S310 - loopback
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise LabError(f"{Path(argv[0]).name} did not become ready: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


class Prometheus:
    def __init__(
        self,
        workdir: Path,
        targets: list[dict[str, Any]],
        rule_files: list[Path],
        *,
        scrape_configs: list[dict[str, Any]] | None = None,
    ) -> None:
        """Scrape ``targets`` as job k8s-dns-exporter, or run the given ``scrape_configs`` instead."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": scrape_configs or [{"job_name": "k8s-dns-exporter", "static_configs": targets}],
        }
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        self._process = start_ready(
            [
                require("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            self.workdir / "prometheus.log",
            self.url,
        )
        return self

    def stop(self) -> None:
        stop(self._process)

    def api(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())  # type: ignore[no-any-return]

    def query(self, expr: str) -> dict[str, Any]:
        return self.api("query", query=expr)

    def wait(self, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll an instant query until it returns at least one sample."""
        return self._until(lambda: self._vector(expr), timeout, f"data for {expr}")

    def settle(self, rounds: int = 2, timeout: float = 30) -> None:
        """Wait until every target was scraped, and every rule group evaluated after that scrape,
        ``rounds`` times over from now.

        Queries afterwards see what the targets exposed when this was called, on ``rounds``
        scrapes (a rate has its two samples), and the series recorded from those scrapes.
        """
        for _ in range(rounds):
            self._until(partial(self._scraped_since, time.time()), timeout, "a scrape of every target")
            # What that scrape stored can be queried now: a rule group evaluated at a later instant sees it.
            self._until(
                partial(self._evaluated_since, time.time()), timeout, "an evaluation of every rule group"
            )

    def _vector(self, expr: str) -> list[dict[str, Any]]:
        result = self.query(expr)
        assert result.get("status") == "success", f"{expr}: {result}"
        return result["data"]["result"]  # type: ignore[no-any-return]

    def _scraped_since(self, since: float) -> bool:
        """Every active target has a stored scrape that started after ``since``."""
        targets = self.api("targets")["data"]["activeTargets"]
        scraped = [float(s["value"][1]) for s in self._vector("timestamp(up)")]
        return bool(targets) and len(scraped) == len(targets) and min(scraped) > since

    def _evaluated_since(self, since: float) -> bool:
        """Every rule group finished an evaluation whose query time is after ``since``."""
        groups = self.api("rules")["data"]["groups"]
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:  # noqa: S310 - loopback
            own = response.read().decode()
        evaluated = [v for _, v in samples(own, "prometheus_rule_group_last_evaluation_timestamp_seconds")]
        return bool(groups) and len(evaluated) == len(groups) and min(evaluated) > since

    def _until(self, predicate: Callable[[], T], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")
