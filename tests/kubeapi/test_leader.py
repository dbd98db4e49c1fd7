"""Lease election between two instances: one leads, handover on release and on expiry, 409 on races."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from exporter.config import KubernetesConfig, parse_config
from exporter.kube.api import ClusterApi
from exporter.kube.leader import LeaderElector
from exporter.status import Status
from lab.kubeapi.server import KubeAPI

LEASE = ("coordination.k8s.io/v1", "leases", "kube-system", "k8s-dns-exporter")


def settings(kubeconfig: Path, identity: str) -> KubernetesConfig:
    doc = {
        "mode": "cluster",
        "names": [{"name": "example.org."}],
        "paths": {"pod": "auto"},
        "kubernetes": {
            "config": "kubeconfig",
            "kubeconfig": str(kubeconfig),
            "timeout": "2s",
            "qps": 100,
            "lease": {
                "duration": "2s",
                "renew_deadline": "1500ms",
                "retry_period": "200ms",
                "identity": identity,
            },
        },
    }
    return parse_config(doc).kubernetes


def elector(
    kubeconfig: Path,
    identity: str,
    changes: list[tuple[str, bool]] | None = None,
    *,
    status: Status | None = None,
    api: ClusterApi | None = None,
) -> LeaderElector:
    """A candidate; pass ``status`` or ``api`` to keep a hand on what it records and calls."""
    k8s = settings(kubeconfig, identity)

    def changed(leading: bool) -> None:
        if changes is not None:
            changes.append((identity, leading))

    return LeaderElector(api or ClusterApi(k8s), k8s.lease, status or Status(), on_change=changed)


class Watcher:
    """Samples both candidates every 20 ms: two leaders at once would be caught."""

    def __init__(self, *candidates: LeaderElector) -> None:
        self.candidates = candidates
        self.both = 0
        self.samples = 0

    async def run(self) -> None:
        while True:
            leading = [c for c in self.candidates if c.leading]
            self.samples += 1
            self.both += len(leading) > 1
            await asyncio.sleep(0.02)


async def until(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_one_leader_and_handover_on_release(kube_api: KubeAPI, kubeconfig: Path) -> None:
    changes: list[tuple[str, bool]] = []
    api_b = ClusterApi(settings(kubeconfig, "exporter-b"))
    a, b = elector(kubeconfig, "exporter-a", changes), elector(kubeconfig, "exporter-b", changes, api=api_b)
    watcher = Watcher(a, b)

    async def scenario() -> float:
        watch = asyncio.create_task(watcher.run())
        task_a = asyncio.create_task(a.run())
        await until(lambda: a.leading, 5, "a to lead")
        task_b = asyncio.create_task(b.run())
        # b keeps trying and must stay a standby: five attempts (one Lease read each) go by, the sixth begins.
        await until(lambda: api_b.requests >= 6, 5, "five attempts by b")
        assert not b.leading
        assert b.holder == "exporter-a"
        task_a.cancel()  # a stops cleanly and empties the Lease
        await asyncio.gather(task_a, return_exceptions=True)
        took = await until(lambda: b.leading, 5, "b to take over")
        task_b.cancel()
        watch.cancel()
        await asyncio.gather(task_b, watch, return_exceptions=True)
        return took

    took = asyncio.run(scenario())
    assert took < 1.5  # released: no need to wait out the 2 s lease
    assert watcher.samples > 50
    assert watcher.both == 0
    assert changes == [
        ("exporter-a", True),
        ("exporter-a", False),
        ("exporter-b", True),
        ("exporter-b", False),
    ]
    lease = kube_api.store.get(*LEASE)
    assert lease is not None
    assert lease["spec"]["leaseTransitions"] == 1
    assert lease["spec"].get("holderIdentity") is None  # b released it too


def test_handover_when_the_leader_dies_without_releasing(kube_api: KubeAPI, kubeconfig: Path) -> None:
    a, b = elector(kubeconfig, "exporter-a"), elector(kubeconfig, "exporter-b")
    a.release = lambda: None  # type: ignore[method-assign]  # a crash: nothing is released
    watcher = Watcher(a, b)

    async def scenario() -> tuple[float, bool]:
        watch = asyncio.create_task(watcher.run())
        task_a = asyncio.create_task(a.run())
        await until(lambda: a.leading, 5, "a to lead")
        task_b = asyncio.create_task(b.run())
        await until(lambda: b.holder == "exporter-a", 5, "b to see a hold the lease")
        task_a.cancel()
        await asyncio.gather(task_a, return_exceptions=True)
        a_stopped = not a.leading
        took = await until(lambda: b.leading, 6, "b to take over an expired lease")
        task_b.cancel()
        watch.cancel()
        await asyncio.gather(task_b, watch, return_exceptions=True)
        return took, a_stopped

    took, a_stopped = asyncio.run(scenario())
    assert a_stopped
    assert 1.0 <= took <= 4.0  # about the 2 s lease duration, seen on b's own clock
    assert watcher.both == 0


def test_the_leader_steps_down_when_it_cannot_renew(kube_api: KubeAPI, kubeconfig: Path) -> None:
    status = Status()
    a = elector(kubeconfig, "exporter-a", status=status)

    async def scenario() -> tuple[float, str | None]:
        task = asyncio.create_task(a.run())
        await until(lambda: a.leading, 5, "a to lead")
        kube_api.stop()
        took = await until(lambda: not a.leading, 5, "a to step down")
        error = status.runs()["leader_election"].error
        kube_api.start()
        await until(lambda: a.leading, 5, "a to lead again")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return took, error

    took, error = asyncio.run(scenario())
    assert took <= 2.0  # the 1.5 s renew deadline, shorter than the lease
    assert error is not None
    assert error.startswith("API server unreachable:")


def test_a_race_for_the_lease_gives_409_to_the_loser(kube_api: KubeAPI, kubeconfig: Path) -> None:
    api, status = ClusterApi(settings(kubeconfig, "exporter-b")), Status()
    a, b = elector(kubeconfig, "exporter-a"), elector(kubeconfig, "exporter-b", status=status, api=api)
    assert a.try_once()
    a.release()  # the lease is free now: both may take it
    stale = api.call(api.coordination.read_namespaced_lease, "k8s-dns-exporter", "kube-system")
    assert a.try_once()  # a wins the race
    real_call = api.call_now

    def call(method: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(method, "__name__", "") == "read_namespaced_lease":
            return stale  # b read the lease just before a wrote it
        return real_call(method, *args, **kwargs)

    api.call_now = call  # type: ignore[method-assign]
    assert not b.try_once()
    assert not b.leading
    puts = [r.status for r in kube_api.requests if r.method == "PUT"]
    assert puts[-1] == 409
    lease = kube_api.store.get(*LEASE)
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "exporter-a"
    assert status.runs()["leader_election"].ok  # a lost race is not an error


def test_lease_requests_do_not_queue_behind_the_readers(kube_api: KubeAPI, kubeconfig: Path) -> None:
    """The readers' lists share a token bucket; the Lease must not wait for it, or a long list
    (all pods of a large cluster, page by page) would make the leader miss its renewals."""
    k8s = dataclasses.replace(settings(kubeconfig, "exporter-a"), qps=0.5)
    api = ClusterApi(k8s)
    for _ in range(2):
        api.limiter.acquire()  # the readers spent the whole burst: their next request waits 2 s
    candidate = elector(kubeconfig, "exporter-a", api=api)
    started = time.monotonic()
    assert candidate.try_once()  # read, then create: two requests at once
    assert candidate.try_once()  # read, then renew
    assert time.monotonic() - started < 1.0
    assert candidate.leading
    started = time.monotonic()
    api.call(api.coordination.read_namespaced_lease, k8s.lease.name, k8s.lease.namespace)
    assert time.monotonic() - started > 1.0  # a reader's request still waits for its token
