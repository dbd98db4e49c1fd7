"""The ``kubernetes`` client as the cluster readers use it: built lazily, rate-limited, paginated.

The client is built on first use and rebuilt after a failure to build (a
kubeconfig that appears later, a token mounted late), so the readers recover
by themselves. Every request waits for a token of a shared bucket (``qps``,
burst ``2 x qps``) and carries the configured timeout. Cluster-wide lists go
by pages of ``page_size`` with ``continue``; a continue token that expired
(410) restarts the list once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import urllib3.exceptions
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from exporter.config import KubernetesConfig


class ApiUnavailable(Exception):
    """The API cannot be used: the client could not be built or the server is unreachable."""


class RateLimiter:
    """A token bucket: ``acquire()`` blocks until a request may go."""

    def __init__(self, qps: float, burst: int) -> None:
        self._rate = qps
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self._rate
            time.sleep(wait)


class ClusterApi:
    def __init__(self, k8s: KubernetesConfig) -> None:
        self._k8s = k8s
        self._client: client.ApiClient | None = None
        self._lock = threading.Lock()
        self.limiter = RateLimiter(k8s.qps, max(1, int(2 * k8s.qps)))
        self.requests = 0

    def api_client(self) -> client.ApiClient:
        with self._lock:
            if self._client is None:
                self._client = _build(self._k8s)
            return self._client

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client())

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client())

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api_client())

    @property
    def policy(self) -> client.PolicyV1Api:
        return client.PolicyV1Api(self.api_client())

    @property
    def coordination(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self.api_client())

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client())

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request, rate-limited and with the timeout; a connection failure raises ApiUnavailable."""
        self.limiter.acquire()
        return self.call_now(method, *args, **kwargs)

    def call_now(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request without waiting for the rate limit: for the Lease, whose two requests per
        retry period must not queue behind the readers' lists (a late renewal loses the Lease)."""
        self.requests += 1
        try:
            return method(*args, _request_timeout=self._k8s.timeout, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiUnavailable(f"API server unreachable: {_reason(exc)}") from None

    def pages(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Every item of a list, fetched ``page_size`` at a time."""
        for attempt in (1, 2):
            token: str | None = None
            items: list[Any] = []
            try:
                while True:
                    page = self.call(method, *args, limit=self._k8s.page_size, _continue=token, **kwargs)
                    items.extend(page.items or [])
                    token = page.metadata._continue if page.metadata else None
                    if not token:
                        break
            except ApiException as exc:
                if exc.status == 410 and token and attempt == 1:
                    continue  # the continue token expired: list again from the start
                raise
            yield from items
            return

    def count(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
        """How many objects a list has, from one item and ``remainingItemCount`` when the server gives it."""
        page = self.call(method, *args, limit=1, **kwargs)
        remaining = page.metadata.remaining_item_count if page.metadata else None
        if remaining is not None or not (page.metadata and page.metadata._continue):
            return len(page.items or []) + (remaining or 0)
        return sum(1 for _ in self.pages(method, *args, **kwargs))


def _build(k8s: KubernetesConfig) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.retries = 1
    try:
        if k8s.config == "in-cluster":
            # The package's config loaders carry no annotations.
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return client.ApiClient(configuration)
        built: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=k8s.kubeconfig,
            context=k8s.context,
            persist_config=False,
            client_configuration=configuration,
        )
        return built
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        raise ApiUnavailable(f"cannot build the Kubernetes client: {exc}") from None


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc).split(": ", 1)[-1][:200]


def describe(exc: BaseException) -> str:
    """One line for a reader's failure: status and message for API errors, the cause otherwise."""
    if isinstance(exc, ApiException):
        message = ""
        if exc.body:
            try:
                message = str(json.loads(exc.body).get("message", ""))
            except (ValueError, AttributeError):
                message = str(exc.body)[:200]
        return f"{exc.status} {exc.reason}" + (f": {message}" if message else "")
    if isinstance(exc, ValueError) and not isinstance(exc, ApiUnavailable):
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = " ".join(str(exc).splitlines()[1:3]).strip()
        return f"malformed API object: {first}" + (f" ({detail})" if detail else "")
    return str(exc) or type(exc).__name__
