"""Run a runtime's rounds in-process, against a port where nothing listens (rounds end at once)."""

from __future__ import annotations

import asyncio

from exporter.runtime import Runtime

CLOSED = "127.0.0.1:9"
"""Nothing listens here: a probe fails at once (port unreachable), so rounds are quick."""


def rounds(runtime: Runtime, count: int) -> None:
    async def run() -> None:
        for _ in range(count):
            await runtime.probe_round()

    asyncio.run(run())
