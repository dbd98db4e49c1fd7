"""One probe round: every name on every server of every path, over every transport.

Probes run concurrently up to ``concurrency`` at once; each has its own
deadline, so a black-holed server costs one timeout per probe and never holds
the round longer than ``ceil(probes / concurrency) x timeout`` (a race probe,
which waits for its parallel and its sequential queries, counts as two).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from exporter.config import Config, NameSpec, Server
from exporter.probe.direct import probe_server
from exporter.probe.race import QTYPES, RACE_PATHS, RaceResult, race_probe
from exporter.probe.resolver import Lookup, lookup
from exporter.probe.result import ProbeResult
from exporter.probe.wire import Query
from exporter.targets import TargetSet

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Round:
    """The results of one round, with when it started and how long it took."""

    started: float
    duration: float
    results: tuple[ProbeResult, ...]
    source_errors: dict[str, str]
    targets: TargetSet | None = None
    """What the round probed: the servers of each path and the resolver's resolv.conf."""
    races: tuple[RaceResult, ...] = ()
    """The A+AAAA race probes of the round (names with ``race: true``)."""


class Prober:
    """Plans and runs probe rounds. Query templates are built once and reused."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._queries: dict[tuple[str, str], Query] = {}

    def query(self, fqdn: str, qtype: str) -> Query:
        key = (fqdn.lower(), qtype)
        query = self._queries.get(key)
        if query is None:
            if len(self._queries) > 4096:  # resolv.conf search lists change rarely; stay bounded
                self._queries.clear()
            query = Query(fqdn, qtype, edns_payload=self._config.edns_payload)
            self._queries[key] = query
        return query

    def probes(self, targets: TargetSet) -> list[Awaitable[ProbeResult]]:
        """Every probe of one round, in a stable order: path, server, name, transport."""
        config = self._config
        planned: list[Awaitable[ProbeResult]] = []
        for path, servers in targets.servers.items():
            for server in servers:
                for spec in config.names:
                    if path not in spec.paths:
                        continue
                    for transport in spec.transports:
                        planned.append(self._direct(path, server, spec, transport))
        if targets.resolver is not None:
            resolver, conf = targets.resolver
            settings = Lookup(
                conf=conf,
                port=resolver.port,
                timeout=config.timeout,
                budget=max(config.timeout, 0.9 * config.interval),
                query_for=self.query,
            )
            for spec in config.names:
                if "resolver" in spec.paths:
                    planned.append(
                        lookup(
                            settings,
                            label=resolver.file,
                            name=spec.name,
                            qtype=spec.qtype,
                            expect=spec.expect,
                        )
                    )
        return planned

    def races(self, targets: TargetSet) -> list[Awaitable[RaceResult]]:
        """The race probes of one round: each ``race`` name once per server of the paths that cross
        the node's conntrack (service, pod, nodelocal), over UDP."""
        names: dict[str, NameSpec] = {}
        for spec in self._config.names:
            if spec.race:
                names.setdefault(spec.fqdn.lower(), spec)
        planned: list[Awaitable[RaceResult]] = []
        for path, servers in targets.servers.items():
            if path not in RACE_PATHS:
                continue
            for server in servers:
                for spec in names.values():
                    if path in spec.paths:
                        planned.append(
                            race_probe(
                                path=path,
                                host=server.host,
                                port=server.port,
                                server_label=str(server),
                                name=spec.name,
                                queries=(self.query(spec.fqdn, QTYPES[0]), self.query(spec.fqdn, QTYPES[1])),
                                timeout=self._config.timeout,
                            )
                        )
        return planned

    def _direct(self, path: str, server: Server, spec: NameSpec, transport: str) -> Awaitable[ProbeResult]:
        return probe_server(
            path=path,
            host=server.host,
            port=server.port,
            server_label=str(server),
            name=spec.name,
            query=self.query(spec.fqdn, spec.qtype),
            expect=spec.expect,
            transport=transport,
            timeout=self._config.timeout,
        )

    async def run(self, targets: TargetSet) -> Round:
        """Run one round against ``targets``."""
        started_wall = time.time()
        started = time.perf_counter()
        limit = asyncio.Semaphore(self._config.concurrency)

        async def bounded(probe: Awaitable[_T]) -> _T:
            async with limit:
                return await probe

        results, races = await asyncio.gather(
            asyncio.gather(*(bounded(p) for p in self.probes(targets))),
            asyncio.gather(*(bounded(r) for r in self.races(targets))),
        )
        return Round(
            started=started_wall,
            duration=time.perf_counter() - started,
            results=tuple(results),
            source_errors=dict(targets.errors),
            targets=targets,
            races=tuple(races),
        )
