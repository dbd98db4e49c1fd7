"""Shared fixtures: the lab, the test Kubernetes API, configs for them, and the exporter as a real process."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import Lab, free_port
from lab.kubeapi.certs import TLSFiles, make_tls
from lab.kubeapi.server import KubeAPI

REPO = Path(__file__).resolve().parent.parent
_next_net = iter(range(1, 250))
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto


def _loopback_only(address: object) -> None:
    """Fail the test at once if it tries to reach anything but loopback (or a unix socket)."""
    if isinstance(address, tuple) and address:
        host = str(address[0]).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise AssertionError(
                f"a test tried to reach {host!r} by name; tests use loopback addresses"
            ) from None
        if not ip.is_loopback:
            raise AssertionError(
                f"a test tried to reach {address!r}: tests may only reach 127.0.0.0/8 and ::1"
            )


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _loopback_only(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _loopback_only(address)
    return _real_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _loopback_only(args[-1])
    return _real_sendto(self, data, *args)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the test process, every connect and sendto goes to loopback or the test fails.

    The test command also runs pytest in a network namespace that has only loopback;
    this names the offending address instead of a bare "network unreachable".
    """
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", _guarded_sendto)


@pytest.fixture(scope="session")
def shared_lab() -> Iterator[Lab]:
    """A healthy lab shared by tests that only read from it (never stop its servers)."""
    with Lab(net=0) as lab:
        yield lab


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A lab of its own, on a fresh 127.<net>.0.0/16, that the test may break.

    Parametrize it indirectly to shape it: ``@pytest.mark.parametrize("lab", [{"pods": 3}],
    indirect=True)``.
    """
    options: dict[str, Any] = getattr(request, "param", {})
    with Lab(net=next(_next_net), **options) as lab:
        yield lab


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A test CA and a server certificate for 127.0.0.1, made once per session."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def kube_api(tls: TLSFiles) -> Iterator[KubeAPI]:
    """An HTTPS Kubernetes API of its own, empty until the test loads objects into it."""
    with KubeAPI(tls) as api:
        yield api


@pytest.fixture
def kubeconfig(kube_api: KubeAPI, tmp_path: Path) -> Path:
    return kube_api.kubeconfig(tmp_path / "kubeconfig")


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m exporter ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@dataclass
class Exporter:
    """A ``serve`` process and its base URL."""

    process: subprocess.Popen[str]
    url: str
    config: Path
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        return http_get(self.url + path)

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        assert status == 200, body
        return body

    def wait_for(self, predicate: Any, timeout: float = 20, what: str = "condition") -> Any:
        """Poll ``predicate()`` until it returns a truthy value (the exporter works on a schedule)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError(f"exporter exited with {self.process.returncode}: {self.output()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_exporter(tmp_path: Path) -> Iterator[Any]:
    """Start ``serve`` with a config document; wait until it is ready; SIGTERM it afterwards."""
    started: list[Exporter] = []

    def start(
        doc: dict[str, Any], *, ready: bool = True, name: str = "config.yaml", args: tuple[str, ...] = ()
    ) -> Exporter:
        port = free_port()
        doc = {**doc, "listen": f"127.0.0.1:{port}"}
        config = write_config(tmp_path / name, doc)
        log = tmp_path / f"{name}.log"
        with log.open("w") as out:  # a file, not a pipe: a full pipe would block the exporter
            process = subprocess.Popen(
                [sys.executable, "-m", "exporter", "serve", "--config", str(config), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=REPO,
            )
        exporter = Exporter(process, f"http://127.0.0.1:{port}", config, log)
        started.append(exporter)
        exporter.wait_for(lambda: _answers(exporter), what="the HTTP listener")
        if ready:
            exporter.wait_for(lambda: exporter.get("/readyz")[0] == 200, what="the first round")
        return exporter

    yield start
    for exporter in started:
        exporter.stop()


def _answers(exporter: Exporter) -> bool:
    try:
        return exporter.get("/healthz")[0] in (200, 503)
    except OSError:
        return False
