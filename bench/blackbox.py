"""prometheus-blackbox-exporter, the peer prober: started on loopback with one DNS module."""

from __future__ import annotations

import http.client
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import http_get, stop, wait_until

BINARY = "/usr/bin/prometheus-blackbox-exporter"
MODULE = "dns_x"


def available() -> bool:
    return Path(BINARY).exists() or shutil.which("prometheus-blackbox-exporter") is not None


def version() -> str:
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    text = out.stdout or out.stderr
    return text.split("\n", 1)[0].replace("blackbox_exporter, version ", "").strip()


@dataclass
class Blackbox:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid


def module(qname: str, timeout: str = "2s") -> dict[str, object]:
    """The DNS module the peer probes with: the exporter's query (A over UDP, RD, no EDNS)."""
    return {
        "prober": "dns",
        "timeout": timeout,
        "dns": {
            "query_name": qname,
            "query_type": "A",
            "transport_protocol": "udp",
            "preferred_ip_protocol": "ip4",
            "ip_protocol_fallback": False,
            "valid_rcodes": ["NOERROR"],
        },
    }


@contextmanager
def blackbox(workdir: Path, port: int, qname: str, *, cpus: str | None = None) -> Iterator[Blackbox]:
    config = workdir / "blackbox.yml"
    config.write_text(yaml.safe_dump({"modules": {MODULE: module(qname)}}))
    command = [
        BINARY,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    log = (workdir / "blackbox.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/metrics"), 30, "blackbox_exporter")
        yield Blackbox(process, port)
    finally:
        stop(process)
        log.close()


class ProbeClient:
    """GET /probe the way Prometheus does: one kept-alive connection, one request per scrape."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def probe(self, target: str) -> str:
        path = f"/probe?module={MODULE}&target={target}"
        try:
            self._connection.request("GET", path)
            return self._connection.getresponse().read().decode()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            self._connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
            self._connection.request("GET", path)
            return self._connection.getresponse().read().decode()
