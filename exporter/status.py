"""How each collector and the config load last fared, for ``k8s_dns_collector_success``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CollectorRun:
    ok: bool
    duration: float
    error: str | None
    timestamp: float


class Status:
    """Thread-safe record of collector runs and of the config's last load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, CollectorRun] = {}
        self.config_ok = True
        self.config_loaded_at = time.time()
        self.config_error: str | None = None

    def record(self, name: str, *, ok: bool, duration: float, error: str | None = None) -> None:
        with self._lock:
            self._runs[name] = CollectorRun(ok, duration, error, time.time())

    def forget(self, name: str) -> None:
        with self._lock:
            self._runs.pop(name, None)

    def runs(self) -> dict[str, CollectorRun]:
        with self._lock:
            return dict(self._runs)

    def config_loaded(self, *, ok: bool, error: str | None = None) -> None:
        with self._lock:
            self.config_ok = ok
            self.config_error = error
            if ok:
                self.config_loaded_at = time.time()
