"""Helpers to run probe rounds in-process against the lab."""

from __future__ import annotations

import asyncio
from typing import Any

from exporter.compose import build
from exporter.config import parse_config
from exporter.probe import ProbeResult, Round
from exporter.runtime import Runtime


def run_round(doc: dict[str, Any], rounds: int = 1) -> tuple[Runtime, Round]:
    runtime = build(parse_config(doc))

    async def go() -> Round:
        last = None
        for _ in range(rounds):
            last = await runtime.probe_round()
        assert last is not None
        return last

    return runtime, asyncio.run(go())


def by_key(round_: Round) -> dict[tuple[str, str, str, str, str], ProbeResult]:
    return {r.key: r for r in round_.results}


def one(round_: Round, **match: str) -> ProbeResult:
    found = [r for r in round_.results if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]
