"""Cluster readers and the Lease: a read that finishes after leadership was lost stores nothing."""

from __future__ import annotations

import threading
from typing import Any, cast

from exporter.cluster.jobs import Readers
from exporter.cluster.readers.context import Context
from exporter.cluster.readings import ClusterState
from exporter.config import KubernetesConfig
from exporter.config.model import CapacityConfig
from exporter.kube.api import ClusterApi
from exporter.status import Status


class Lease:
    """Stands in for the elector and the wiring: ``lose()`` is what losing the Lease does."""

    def __init__(self, state: ClusterState, status: Status, guard: threading.Lock) -> None:
        self.held = True
        self.state, self.status, self.guard = state, status, guard

    def leading(self) -> bool:
        return self.held

    def lose(self) -> None:
        self.held = False
        with self.guard:
            self.state.clear()
            self.status.forget("slow")


def _readers() -> tuple[Readers, Lease, ClusterState, Status]:
    state, status, guard = ClusterState(CapacityConfig()), Status(), threading.Lock()
    lease = Lease(state, status, guard)
    ctx = Context(cast(ClusterApi, None), KubernetesConfig(), state)
    return Readers(ctx, status, lease.leading, guard), lease, state, status


def test_a_read_that_outlives_the_lease_stores_neither_data_nor_status() -> None:
    readers, lease, state, status = _readers()

    def slow(_: Context) -> Any:
        lease.lose()  # the Lease goes while the read is in flight
        return ("pod",)

    readers.run_steps((("slow", slow),))
    assert state.get("slow") is None
    assert "slow" not in status.runs(), "no status may claim a reading that is not there"


def test_a_failing_read_after_the_loss_records_no_failure_either() -> None:
    readers, lease, _, status = _readers()

    def broken(_: Context) -> Any:
        lease.lose()
        raise RuntimeError("connection reset")

    readers.run_steps((("slow", broken),))
    assert "slow" not in status.runs()


def test_while_leading_readings_and_statuses_are_stored() -> None:
    readers, _, state, status = _readers()
    readers.run_steps((("slow", lambda _: ("pod",)),))
    assert state.get("slow") == ("pod",)
    assert status.runs()["slow"].ok is True
