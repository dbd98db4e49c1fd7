"""Run one round's :class:`~exporter.targets.plan.Plan`: every planned probe, through one signature.

Every kind of probe is ``probe(planned, settings) -> result`` (:data:`PROBES`), so
the engine knows no kind by name. Probes run concurrently up to ``concurrency``
at once; each has its own deadline, so a black-holed server costs one timeout per
probe and never holds the round longer than ``ceil(probes / concurrency) x timeout``
(a race probe, which waits for its parallel and its sequential queries, counts as two).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from exporter.config import Config
from exporter.probe import direct, race, resolver
from exporter.probe.race import RaceResult
from exporter.probe.result import ProbeResult
from exporter.probe.settings import Settings
from exporter.probe.wire import Query
from exporter.targets import TargetSet
from exporter.targets.plan import Kind, Plan, PlannedProbe

Outcome = ProbeResult | RaceResult
PROBES: dict[Kind, Callable[[PlannedProbe, Settings], Awaitable[Outcome]]] = {
    Kind.DIRECT: direct.probe,
    Kind.LOOKUP: resolver.probe,
    Kind.RACE: race.probe,
}
"""Each kind of planned probe and what runs it."""
_MAX_TEMPLATES = 4096
"""Query templates kept; resolv.conf search lists change rarely, so this stays bounded."""


@dataclass(frozen=True, slots=True)
class Round:
    """The results of one round, with when it started and how long it took."""

    started: float
    duration: float
    results: tuple[ProbeResult, ...]
    source_errors: dict[str, str]
    targets: TargetSet | None = None
    """What the round probed: the servers of every hop and the resolver's resolv.conf."""
    races: tuple[RaceResult, ...] = ()
    """The A+AAAA race probes of the round (names with ``race: true``)."""
    plan: Plan | None = None
    """What the round set out to probe, with the reason for each target."""


class Prober:
    """Runs plans. Query templates are built once and reused across rounds."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._queries: dict[tuple[str, str], Query] = {}
        self._settings = Settings(
            timeout=config.timeout, budget=max(config.timeout, 0.9 * config.interval), query=self.query
        )

    def query(self, fqdn: str, qtype: str) -> Query:
        key = (fqdn.lower(), qtype)
        query = self._queries.get(key)
        if query is None:
            if len(self._queries) > _MAX_TEMPLATES:
                self._queries.clear()
            query = Query(fqdn, qtype, edns_payload=self._config.edns_payload)
            self._queries[key] = query
        return query

    async def run(self, plan: Plan, targets: TargetSet) -> Round:
        """Run every probe of ``plan`` (made from ``targets``) once."""
        started_wall = time.time()
        started = time.perf_counter()
        limit = asyncio.Semaphore(self._config.concurrency)

        async def bounded(planned: PlannedProbe) -> Outcome:
            async with limit:
                return await PROBES[planned.kind](planned, self._settings)

        outcomes = await asyncio.gather(*(bounded(p) for p in plan))
        return Round(
            started=started_wall,
            duration=time.perf_counter() - started,
            results=tuple(o for o in outcomes if isinstance(o, ProbeResult)),
            source_errors=dict(targets.errors),
            targets=targets,
            races=tuple(o for o in outcomes if isinstance(o, RaceResult)),
            plan=plan,
        )
