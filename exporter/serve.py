"""``serve``: probe on a schedule and answer HTTP until SIGTERM or SIGINT; SIGHUP reloads the config."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from exporter.compose import build
from exporter.config import Config, ConfigError, load_config
from exporter.server import App, Health, HttpServer

log = structlog.get_logger(__name__)

PROBE_JOB = "probe_round"


class Service:
    """The long-running exporter: a scheduler on an asyncio loop, HTTP on a thread."""

    def __init__(
        self,
        config: Config,
        config_path: str | None,
        listen: tuple[str, int],
        adjust: Callable[[Config], Config] = lambda config: config,
    ) -> None:
        self.runtime = build(config)
        self._config_path = config_path
        self._adjust = adjust
        self._listen = listen
        self._stop = asyncio.Event()
        self._scheduler: AsyncIOScheduler | None = None
        self._listen_from_config = listen == config.listen
        """Whether the config file says where to listen (``--listen`` overrides it for good)."""
        self._mode = config.mode
        self._restart_needed: dict[str, object] = {}
        """Settings a reload changed that take a restart, by warning: the value already warned of."""
        health = Health(lambda: self.runtime.config.interval, self.runtime.probes.last_round_end)
        app = App(self.runtime.registry(), self.runtime.report, health)
        self.http = HttpServer(listen[0], listen[1], app)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
        self._scheduler = scheduler
        self._schedule(self.runtime.config)
        background = [asyncio.create_task(task(), name="background") for task in self.runtime.tasks]
        self.http.start()
        scheduler.start()
        log.info(
            "exporter_started",
            listen=f"{self._listen[0]}:{self.http.port}",
            config=self.runtime.config.source,
            interval=self.runtime.config.interval,
        )
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            for task in background:
                task.cancel()
            await _cancel_others()
            self.http.stop()
            log.info("exporter_stopped")

    def _schedule(self, config: Config) -> None:
        self._add(PROBE_JOB, self.runtime.probe_round, config.interval, config.jitter)
        for job in self.runtime.jobs:
            self._add(job.name, job.run, job.interval, job.interval * 0.1)

    def _add(self, name: str, run: Callable[[], Awaitable[object]], interval: float, jitter: float) -> None:
        """Run now, then every ``interval`` plus up to ``jitter``; never two runs at once."""
        assert self._scheduler is not None
        self._scheduler.add_job(
            self._until_stop(name, run),
            IntervalTrigger(seconds=interval, jitter=jitter or None, timezone=UTC),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    def _until_stop(self, name: str, run: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """``run``, ended quietly when the service stops under it (a stop is not a failed job)."""

        async def job() -> None:
            try:
                await run()
            except asyncio.CancelledError:
                if not self._stop.is_set():
                    raise
                log.info("job_interrupted", job=name, reason="stopping")

        return job

    def reload(self) -> None:
        """Load the config file again; on any error keep the running config and say why."""
        if self._config_path is None:
            log.warning("config_reload_skipped", reason="started without a config file")
            return
        try:
            config = self._adjust(load_config(self._config_path))
        except ConfigError as exc:
            self.runtime.status.config_loaded(ok=False)
            log.error(
                "config_reload_failed",
                config=self._config_path,
                error=str(exc),
                action="keeping the running config",
            )
            return
        if self._listen_from_config:
            self._warn_once("config_listen_changed", config.listen, self._listen, "listen address")
        self._warn_once("config_mode_changed", config.mode, self._mode, "mode")
        self.runtime.apply(config)
        self.runtime.status.config_loaded(ok=True)
        self._schedule(config)
        log.info("config_reloaded", config=self._config_path, names=len(config.names))

    def _warn_once(self, event: str, wanted: object, running: object, what: str) -> None:
        """Say once per new value that a setting takes a restart (``running`` is what the process
        started with); reloads that keep the value warned of say nothing more."""
        if wanted == running:
            self._restart_needed.pop(event, None)
        elif self._restart_needed.get(event) != wanted:
            self._restart_needed[event] = wanted
            log.warning(
                event, running=_text(running), config=_text(wanted), note=f"a new {what} takes a restart"
            )

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            if event.job_id == PROBE_JOB:
                self.runtime.probes.skipped()
            log.warning("job_skipped", job=event.job_id, reason="the previous run is still running")
        elif event.exception is not None and not (
            self._stop.is_set() and isinstance(event.exception, asyncio.CancelledError)
        ):
            name = "probe" if event.job_id == PROBE_JOB else event.job_id
            self.runtime.status.record(name, ok=False, duration=0.0, error=str(event.exception))
            log.error(
                "job_failed",
                job=event.job_id,
                error=str(event.exception),
                error_type=type(event.exception).__name__,
            )


def _text(value: object) -> str:
    """A setting as the config writes it (``host:port`` for a listen address)."""
    if isinstance(value, tuple):
        return ":".join(str(part) for part in value)
    return str(value)


async def _cancel_others() -> None:
    current = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not current]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def serve(
    config: Config,
    config_path: str | None,
    listen: tuple[str, int],
    adjust: Callable[[Config], Config] = lambda config: config,
) -> int:
    """Run until stopped. ``adjust`` applies the command line's overrides to every reloaded config."""

    async def main() -> None:
        await Service(config, config_path, listen, adjust).run()

    asyncio.run(main())
    return 0
