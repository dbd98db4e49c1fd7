"""The doctor's per-server lines: FAILING as diagnosis means it, latencies readable below a millisecond."""

from __future__ import annotations

import pytest

from exporter.diagnosis.stats import Tally
from exporter.probe import Reason
from exporter.text.probes import server_lines
from exporter.units import duration
from tests.unit.results import result

POD = "127.0.20.1:5353"


@pytest.mark.parametrize(
    ("failed", "verdict"), [(0, "ok"), (1, "ok"), (2, "ok"), (3, "FAILING"), (4, "FAILING")]
)
def test_failing_is_more_than_half_as_diagnosis_counts(failed: int, verdict: str) -> None:
    group = [
        result("pod", POD, name=f"n{i}.example.org.", reason=Reason.TIMEOUT if i < failed else None)
        for i in range(4)
    ]
    tally = Tally()
    for one in group:
        tally.add(one)
    line = server_lines(group)[1]
    assert line.split()[2:4] == [f"{4 - failed}/4", verdict]
    assert (verdict == "FAILING") == tally.failing  # one definition: the doctor's word is diagnosis's
    assert ("failing: timeout" in line) == bool(failed)  # a failure under the bar is still shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.000412, "412 µs"), (0.0000004, "0 µs"), (0.000999, "999 µs"), (0.001, "1.0 ms"), (0.0234, "23.4 ms")],
)
def test_durations_below_a_millisecond_are_microseconds(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_fast_server_shows_its_median_in_microseconds() -> None:
    group = [result("pod", POD, name=f"n{i}.example.org.", latency=0.0003 + i * 0.0001) for i in range(3)]
    assert server_lines(group)[1].rstrip().endswith("400 µs")
