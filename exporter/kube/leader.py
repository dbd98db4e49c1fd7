"""Leader election on a ``coordination.k8s.io`` Lease, so one cluster instance reports at a time.

The rules are client-go's: a candidate takes the Lease when it is free or when
its holder has not renewed it for ``duration`` (timed on the candidate's own
clock from the moment it last saw the Lease change, so clock skew between
nodes does not matter); the holder renews every ``retry_period`` and stops
leading once it could not renew for ``renew_deadline``, which is shorter than
``duration``, so two instances never lead at once. Writes carry the Lease's
resourceVersion: of two candidates racing, the API server accepts one and
answers 409 Conflict to the other. On shutdown the leader empties the Lease so
a standby takes over at once.

(``kubernetes.leaderelection`` is not used: it binds the process-wide default
client, blocks a thread with no way to stop it, and exits the process on a bad
setting.)
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from exporter.config import LeaseConfig
from exporter.kube.api import ApiUnavailable, ClusterApi, describe
from exporter.status import Status

log = structlog.get_logger(__name__)

STATUS = "leader_election"


def default_identity() -> str:
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{secrets.token_hex(4)}"


class LeaderElector:
    def __init__(
        self,
        api: ClusterApi,
        lease: LeaseConfig,
        status: Status,
        *,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._lease = lease
        self._status = status
        self._on_change = on_change
        self._clock = clock
        self.identity = lease.identity or default_identity()
        self._renewed: float | None = None
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._was_leading = False
        self.holder: str | None = None

    @property
    def leading(self) -> bool:
        """True while the last renewal is younger than ``renew_deadline``."""
        return self._renewed is not None and self._clock() - self._renewed < self._lease.renew_deadline

    async def run(self) -> None:
        """Acquire or renew every ``retry_period`` (jittered) until cancelled; release on the way out."""
        try:
            while True:
                await asyncio.to_thread(self.try_once)
                self._notice()
                await asyncio.sleep(self._lease.retry_period * (1 + 0.2 * random.random()))  # noqa: S311
        finally:
            if self.leading:
                await asyncio.shield(asyncio.to_thread(self.release))
            self._renewed = None
            self._notice()

    def try_once(self) -> bool:
        """One acquire-or-renew attempt; True if this instance holds the Lease afterwards."""
        started = time.perf_counter()
        try:
            held = self._attempt()
        except (ApiException, ApiUnavailable, ValueError) as exc:
            self._status.record(STATUS, ok=False, duration=time.perf_counter() - started, error=describe(exc))
            return False
        self._status.record(STATUS, ok=True, duration=time.perf_counter() - started)
        if held:
            self._renewed = self._clock()
        elif self.holder not in (None, self.identity):
            self._renewed = None  # someone else holds it: stop at once
        return held

    def release(self) -> None:
        """Give the Lease up (empty holder, 1 s duration) so a standby need not wait for it to expire."""
        api, lease = self._api, self._lease
        try:
            current = api.call_now(api.coordination.read_namespaced_lease, lease.name, lease.namespace)
            if current.spec is None or current.spec.holder_identity != self.identity:
                return
            current.spec.holder_identity = None
            current.spec.lease_duration_seconds = 1
            current.spec.renew_time = datetime.now(UTC)
            api.call_now(api.coordination.replace_namespaced_lease, lease.name, lease.namespace, current)
            log.info("leader_released", identity=self.identity, lease=f"{lease.namespace}/{lease.name}")
        except (ApiException, ApiUnavailable, ValueError) as exc:
            log.warning("leader_release_failed", error=describe(exc))

    def _attempt(self) -> bool:
        api, lease = self._api, self._lease
        now = datetime.now(UTC)
        try:
            current = api.call_now(api.coordination.read_namespaced_lease, lease.name, lease.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return self._create(now)
        spec = current.spec or client.V1LeaseSpec()
        holder = spec.holder_identity or ""
        self.holder = holder or None
        record = (holder, spec.renew_time, spec.acquire_time, spec.lease_duration_seconds)
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock()
        duration = spec.lease_duration_seconds or math.ceil(lease.duration)
        if holder and holder != self.identity and self._clock() - self._observed_at < duration:
            return False
        mine = holder == self.identity
        current.spec = client.V1LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=math.ceil(lease.duration),
            acquire_time=spec.acquire_time if mine and spec.acquire_time else now,
            renew_time=now,
            lease_transitions=(spec.lease_transitions or 0) + (0 if mine else 1),
        )
        try:
            api.call_now(api.coordination.replace_namespaced_lease, lease.name, lease.namespace, current)
        except ApiException as exc:
            if exc.status == 409:
                return False  # another candidate wrote first; read again next period
            raise
        self.holder = self.identity
        return True

    def _create(self, now: datetime) -> bool:
        api, lease = self._api, self._lease
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=lease.name, namespace=lease.namespace),
            spec=client.V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=math.ceil(lease.duration),
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            api.call_now(api.coordination.create_namespaced_lease, lease.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False  # created by another candidate meanwhile
            raise
        self.holder = self.identity
        return True

    def _notice(self) -> None:
        leading = self.leading
        if leading == self._was_leading:
            return
        self._was_leading = leading
        lease = f"{self._lease.namespace}/{self._lease.name}"
        if leading:
            log.info("leader_elected", identity=self.identity, lease=lease)
        else:
            log.warning("leader_lost", identity=self.identity, lease=lease, holder=self.holder)
        if self._on_change is not None:
            self._on_change(leading)
