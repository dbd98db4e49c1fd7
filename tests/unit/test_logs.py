"""With JSON logs every line the process writes is JSON: library loggers and uncaught exceptions too."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import logging, threading
from exporter.logs import configure_logging
configure_logging("info", "json")
logging.getLogger("apscheduler.executors.default").error("job raised", exc_info=ValueError("inner"))
logging.getLogger("asyncio").warning("slow callback")
logging.getLogger("urllib3").info("below the library level: not shown")
thread = threading.Thread(target=lambda: 1 / 0, name="worker")
thread.start()
thread.join()
raise RuntimeError("nothing caught this")
"""


def test_every_line_is_json_with_json_format() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr == ""
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["level"], r["event"]) for r in records] == [
        ("error", "job raised"),
        ("warning", "slow callback"),
        ("critical", "uncaught_exception"),
        ("critical", "uncaught_exception"),
    ]
    assert records[0]["logger"] == "apscheduler.executors.default"
    assert "ValueError: inner" in records[0]["exception"]
    assert records[2]["thread"] == "worker"
    assert "ZeroDivisionError" in records[2]["exception"]
    assert "RuntimeError: nothing caught this" in records[3]["exception"]
    assert all("timestamp" in r for r in records)
