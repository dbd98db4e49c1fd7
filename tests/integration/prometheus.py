"""A real Prometheus (Debian's) on loopback, scraping what a test points it at."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from lab import LabError, free_port
from lab.servers import die_with_parent, require


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
        log = (self.workdir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                require("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only sets the death signal
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1):  # noqa: S310 - loopback
                    return self
            except OSError:
                time.sleep(0.2)
        raise LabError(
            f"prometheus did not become ready: {(self.workdir / 'prometheus.log').read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)

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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result.get("status") == "success" and result["data"]["result"]:
                return result["data"]["result"]  # type: ignore[no-any-return]
            time.sleep(0.5)
        raise AssertionError(f"no data for {expr} after {timeout}s: {self.query(expr)}")
