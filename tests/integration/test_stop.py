"""SIGTERM in the middle of a round is a clean stop: exit 0, every output line JSON, no error."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import Responder, free_port
from lab.responder import Action, Request
from tests.conftest import REPO, write_config

pytestmark = pytest.mark.lab

STOPS = 20


def _silent(_request: Request) -> Action:
    return None  # every probe waits its whole timeout: a round is always under way


def test_sigterm_during_rounds_stops_cleanly(tmp_path: Path) -> None:
    host = "127.0.78.1"
    with Responder(host, free_port(host), _silent) as silent:
        doc = {
            "listen": "127.0.0.1:0",
            "interval": "2s",
            "timeout": "1500ms",
            "log": {"level": "info", "format": "json"},
            "names": [{"name": f"n{i}.example.org.", "type": "A"} for i in range(4)],
            "paths": {"service": [silent.address], "upstream": [silent.address]},
        }
        config = write_config(tmp_path / "config.yaml", doc)
        rng = random.Random(13)
        for stop in range(STOPS):
            stdout, stderr = tmp_path / f"stop{stop}.out", tmp_path / f"stop{stop}.err"
            seen = len(silent.requests)
            with stdout.open("w") as out, stderr.open("w") as err:
                process = subprocess.Popen(
                    [sys.executable, "-m", "exporter", "serve", "--config", str(config)],
                    stdout=out,
                    stderr=err,
                    cwd=REPO,
                )
            try:
                deadline = time.monotonic() + 20
                while len(silent.requests) == seen:  # the first round is under way
                    assert process.poll() is None, stdout.read_text() + stderr.read_text()
                    assert time.monotonic() < deadline, "no round started"
                    time.sleep(0.02)
                time.sleep(rng.uniform(0, 2.5))  # into the first round or the second
                process.send_signal(signal.SIGTERM)
                code = process.wait(timeout=15)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            lines = stdout.read_text().splitlines() + stderr.read_text().splitlines()
            records = []
            for line in lines:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pytest.fail(f"stop {stop}: a line that is not JSON: {line!r}\n" + "\n".join(lines))
            assert code == 0, lines
            errors = [r for r in records if r.get("level") in ("error", "critical", "exception")]
            assert errors == [], f"stop {stop}: {errors}"
            events = [r.get("event") for r in records]
            assert "exporter_started" in events
            assert events[-1] == "exporter_stopped", events
