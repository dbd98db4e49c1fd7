"""/healthz and /readyz: ready after the first round; live while rounds keep finishing, judged by the
interval in force (a reloaded config may change it)."""

from __future__ import annotations

import time

from exporter.server import Health


def test_ready_after_the_first_round_and_live_by_the_interval_in_force() -> None:
    interval = [30.0]
    last_end: list[float | None] = [None]
    health = Health(lambda: interval[0], lambda: last_end[0])
    assert health.ready() == (False, "waiting for the first probe round")
    assert health.live() == (True, "ok")  # nothing ran yet: not dead, only not ready
    last_end[0] = time.time() - 120  # four intervals of 30 s late is still live (five allowed)
    assert health.ready() == (True, "ok")
    assert health.live() == (True, "ok")
    interval[0] = 10.0  # a reload shortened the interval: 120 s is now more than five intervals
    live, why = health.live()
    assert not live
    assert why.startswith("no probe round finished for 12")
    interval[0] = 5.0  # at least a minute, whatever the interval
    last_end[0] = time.time() - 50
    assert health.live() == (True, "ok")
