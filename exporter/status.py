"""How each collector and the config load last fared, for ``k8s_dns_collector_success``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import NamedTuple


class CollectorRun(NamedTuple):
    """One run of a collector (recorded several times a round: a tuple, cheap to make)."""

    ok: bool
    duration: float
    error: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class StatusView:
    """A copy of the status, for one scrape or one report."""

    runs: dict[str, CollectorRun]
    """Collector name -> its last run."""
    config_ok: bool
    config_loaded_at: float


class Status:
    """Thread-safe record of collector runs and of the config's last load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, CollectorRun] = {}
        self._config_ok = True
        self._config_loaded_at = time.time()

    def record(self, name: str, *, ok: bool, duration: float, error: str | None = None) -> None:
        with self._lock:
            self._runs[name] = CollectorRun(ok, duration, error, time.time())

    def forget(self, name: str) -> None:
        with self._lock:
            self._runs.pop(name, None)

    def runs(self) -> dict[str, CollectorRun]:
        with self._lock:
            return dict(self._runs)

    def config_loaded(self, *, ok: bool) -> None:
        with self._lock:
            self._config_ok = ok
            if ok:
                self._config_loaded_at = time.time()

    def view(self) -> StatusView:
        with self._lock:
            return StatusView(dict(self._runs), self._config_ok, self._config_loaded_at)
