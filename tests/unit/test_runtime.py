"""The runtime's round: the plan is made again only when the config or the targets change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import exporter.runtime
from exporter.compose import build
from exporter.config import parse_config
from exporter.targets.plan import Plan
from tests.unit.running import rounds


def test_the_plan_is_made_once_for_the_same_config_and_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Plan] = []
    real = exporter.runtime.plan

    def counting(*args: object) -> Plan:
        made.append(real(*args))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(exporter.runtime, "plan", counting)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    doc = {
        "timeout": "200ms",
        "names": [{"name": "example.org.", "transports": ["udp"]}],
        "paths": {"service": {"resolv_conf": str(resolv), "port": 9}},
    }
    runtime = build(parse_config(doc))
    rounds(runtime, 3)
    assert len(made) == 1
    resolv.write_text("nameserver 127.0.0.2\n")  # the targets change: a new plan, with the new server
    rounds(runtime, 2)
    assert len(made) == 2
    assert [p.label for p in made[-1]] == ["127.0.0.2:9"]
    runtime.apply(dataclasses.replace(runtime.config, timeout=0.1))  # a reload: a new plan
    rounds(runtime, 1)
    assert len(made) == 3
