"""Discovery through the stdlib client: list + one selector-scoped watch, churn, 410, 403, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exporter.compose import credentials
from exporter.config import Server, parse_config
from exporter.kube.credentials import CredentialsError, from_kubeconfig, in_cluster
from exporter.kube.lite import ApiError, LiteClient
from exporter.status import Status
from exporter.targets.discovery import KubernetesDiscovery
from exporter.targets.locate import locate
from lab.kubeapi.cluster import POD_NAMES, SLICE, FakeCluster
from lab.kubeapi.server import KubeAPI

PODS = ["127.0.20.1", "127.0.20.2"]
UPSTREAMS = ["127.0.40.1:5353", "127.0.40.2:5353"]


def make(
    kube_api: KubeAPI, kubeconfig: Path, **paths: Any
) -> tuple[KubernetesDiscovery, Status, FakeCluster]:
    cluster = FakeCluster(kube_api, list(PODS), "127.0.10.10", 5353, UPSTREAMS).load()
    doc = {
        "names": [{"name": "example.org."}],
        "paths": paths or {"service": "auto", "pod": "auto", "nodelocal": "auto", "upstream": "auto"},
        "kubernetes": {"config": "kubeconfig", "kubeconfig": str(kubeconfig), "timeout": "2s"},
    }
    config = parse_config(doc)
    status = Status()
    client = LiteClient(lambda: credentials(config.kubernetes), timeout=2.0)
    return KubernetesDiscovery(config, client, status, watch_slices=False), status, cluster


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pods(discovery: KubernetesDiscovery) -> set[str]:
    try:
        return {str(s) for s in discovery("pod")}
    except RuntimeError:
        return set()


def test_every_path_is_discovered(kube_api: KubeAPI, kubeconfig: Path) -> None:
    discovery, status, _ = make(kube_api, kubeconfig)
    asyncio.run(discovery.refresh())
    assert discovery("service") == (Server("127.0.10.10", 5353),)
    assert discovery("pod") == (Server("127.0.20.1", 5353), Server("127.0.20.2", 5353))
    assert discovery("nodelocal") == (Server("169.254.20.10", 53),)
    assert discovery("upstream") == (Server("127.0.40.1", 5353), Server("127.0.40.2", 5353))
    assert status.runs()["discovery"].ok
    readings = discovery.readings().as_dict()
    assert readings["targets"]["pod"] == ["127.0.20.1:5353", "127.0.20.2:5353"]
    assert readings["coredns_endpoints"][0] == {
        "server": "127.0.20.1:5353",
        "pod": POD_NAMES[0],
        "node": "node-1",
        "ready": True,
    }
    assert readings["nodelocal_present"] is True
    # Without its DaemonSet, NodeLocal is off.
    kube_api.store.delete("apps/v1", "daemonsets", "kube-system", "node-local-dns")
    asyncio.run(discovery.refresh())
    assert discovery("nodelocal") == ()


def test_the_watch_follows_pod_churn_with_one_selector_scoped_watch(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    discovery, _, cluster = make(kube_api, kubeconfig, pod="auto")
    kube_api.bookmark_every = 0.2

    async def scenario() -> None:
        watch = asyncio.create_task(discovery.watch())
        await discovery.refresh()  # locates the Service: the watch starts on its EndpointSlices
        try:
            await until(lambda: pods(discovery) == {"127.0.20.1:5353", "127.0.20.2:5353"}, what="first list")
            cluster.remove_pod(1)
            await until(lambda: pods(discovery) == {"127.0.20.1:5353"}, what="the deleted pod to go")
            assert discovery.slices is not None
            removed = discovery.slices.removed_since(0)
            assert [str(s) for s, _ in removed] == ["127.0.20.2:5353"]
            kube_api.store.put(
                cluster.slice(
                    [("127.0.20.1", POD_NAMES[0], "node-1"), ("127.0.20.3", "coredns-new", "node-3")]
                )
            )
            await until(lambda: pods(discovery) == {"127.0.20.1:5353", "127.0.20.3:5353"}, what="the new pod")
            kube_api.store.delete("discovery.k8s.io/v1", "endpointslices", "kube-system", SLICE)  # DELETED
            await until(lambda: discovery("pod") == (), what="the slice to go")
            kube_api.store.put(cluster.slice())  # ADDED
            await until(lambda: len(pods(discovery)) == 2, what="the slice to come back")
            watch_request = kube_api.watches("endpointslices")[0]
            sent = watch_request.bookmarks
            await until(lambda: watch_request.bookmarks >= sent + 3, what="three more bookmarks on the watch")
        finally:
            watch.cancel()

    asyncio.run(scenario())
    watches = kube_api.watches("endpointslices")
    assert len(watches) == 1
    assert watches[0].params["labelSelector"] == "kubernetes.io/service-name=kube-dns"
    assert watches[0].params["allowWatchBookmarks"] == "true"
    lists = [r for r in kube_api.requests if r.path.endswith("/endpointslices") and "watch" not in r.params]
    assert len(lists) == 1
    assert all(
        r.path.startswith("/apis/discovery.k8s.io/v1/namespaces/kube-system/") for r in lists + watches
    )


def test_410_gone_lists_again(kube_api: KubeAPI, kubeconfig: Path) -> None:
    discovery, _, cluster = make(kube_api, kubeconfig, pod="auto")

    async def scenario() -> None:
        watch = asyncio.create_task(discovery.watch())
        await discovery.refresh()
        try:
            await until(lambda: len(pods(discovery)) == 2, what="first list")
            # A change the watch never sees as an event, then the history is compacted away:
            # only a new list can learn of it.
            kube_api.store.put(cluster.slice([("127.0.20.9", "coredns-z", "node-3")]), emit=False)
            kube_api.compact()
            await until(lambda: pods(discovery) == {"127.0.20.9:5353"}, what="the relist")
        finally:
            watch.cancel()

    asyncio.run(scenario())
    lists = [r for r in kube_api.requests if r.path.endswith("/endpointslices") and "watch" not in r.params]
    assert len(lists) == 2


def test_forbidden_outage_and_recovery_are_data(kube_api: KubeAPI, kubeconfig: Path) -> None:
    discovery, status, cluster = make(kube_api, kubeconfig, pod="auto", service="auto")
    kube_api.faults.forbidden.add("discovery.k8s.io/endpointslices")

    async def scenario() -> None:
        await discovery.refresh()
        run = status.runs()["endpointslices"]
        assert not run.ok
        assert run.error is not None
        assert run.error.startswith("403 Forbidden: endpointslices.discovery.k8s.io is forbidden")
        with pytest.raises(RuntimeError, match="DNS pod endpoints not listed yet: 403 Forbidden"):
            discovery("pod")
        assert discovery("service") == (Server("127.0.10.10", 5353),)  # the rest keeps working
        kube_api.faults.forbidden.clear()
        watch = asyncio.create_task(discovery.watch())
        try:
            await until(lambda: len(pods(discovery)) == 2, what="recovery from 403")
            assert status.runs()["endpointslices"].ok
            with kube_api.outage():
                await until(lambda: not status.runs()["endpointslices"].ok, what="the outage to be noticed")
                assert pods(discovery) == {"127.0.20.1:5353", "127.0.20.2:5353"}  # last known kept
                cluster.remove_pod(0)
            await until(
                lambda: pods(discovery) == {"127.0.20.2:5353"}, timeout=20, what="recovery after the outage"
            )
            assert status.runs()["endpointslices"].ok
        finally:
            watch.cancel()
        kube_api.stop()
        await discovery.refresh()
        assert discovery("service") == (Server("127.0.10.10", 5353),)  # last good answer kept
        run = status.runs()["discovery"]
        assert not run.ok
        assert run.error is not None
        assert run.error.startswith(f"service: 0 unreachable: {kube_api.url}")

    asyncio.run(scenario())


def test_malformed_slices_are_skipped_and_reported(kube_api: KubeAPI, kubeconfig: Path) -> None:
    discovery, status, cluster = make(kube_api, kubeconfig, pod="auto")
    broken = cluster.slice()
    broken["metadata"]["name"] = "kube-dns-broken"
    del broken["endpoints"][0]["addresses"]
    kube_api.store.put(broken)
    asyncio.run(discovery.refresh())
    assert pods(discovery) == {"127.0.20.1:5353", "127.0.20.2:5353"}
    run = status.runs()["endpointslices"]
    assert not run.ok
    assert run.error is not None
    assert "EndpointSlice kube-dns-broken: KeyError('addresses')" in run.error


def test_wrong_token_is_an_api_error(kube_api: KubeAPI, tmp_path: Path) -> None:
    kubeconfig = kube_api.kubeconfig(tmp_path / "kc", token="not-the-token")  # noqa: S106 - a wrong one on purpose
    client = LiteClient(lambda: from_kubeconfig(str(kubeconfig)), timeout=2.0)
    with pytest.raises(ApiError, match="401 Unauthorized: Unauthorized"):
        asyncio.run(client.get("/api/v1/namespaces/kube-system/services/kube-dns"))


def test_credentials_from_kubeconfig_and_service_account(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443/', certificate-authority-data: 'LS0tLQ=='}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n"
    )
    (tmp_path / "token").write_text("abc\n")
    creds = from_kubeconfig(str(kubeconfig))
    assert creds.server == "https://10.0.0.1:6443"
    assert creds.ca_file is not None
    assert Path(creds.ca_file).read_bytes() == b"----"
    assert creds.bearer() == "abc"
    exec_user = kubeconfig.read_text().replace("{tokenFile: token}", "{exec: {command: aws}}")
    kubeconfig.write_text(exec_user)
    with pytest.raises(CredentialsError, match="logs in through 'exec', which is not supported here"):
        from_kubeconfig(str(kubeconfig))
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("sa-token")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    creds = in_cluster(env, str(account))
    assert (creds.server, creds.bearer(), creds.ca_file) == (
        "https://[fd00::1]:443",
        "sa-token",
        str(account / "ca.crt"),
    )
    with pytest.raises(CredentialsError, match="not in a pod"):
        in_cluster({}, str(account))


def test_a_watch_back_after_an_outage_is_a_success_without_any_change(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    """An API server restart on a quiet cluster: no EndpointSlice changes, so no event follows the
    re-established watch; the watch being accepted again is what says the collector works."""
    discovery, status, _ = make(kube_api, kubeconfig, pod="auto")

    async def scenario() -> None:
        watch = asyncio.create_task(discovery.watch())
        try:
            await until(lambda: len(pods(discovery)) == 2, what="first list")
            watches = len(kube_api.watches("endpointslices"))
            with kube_api.outage():
                await until(lambda: not status.runs()["endpointslices"].ok, what="the outage to be noticed")
            await until(
                lambda: len(kube_api.watches("endpointslices")) > watches, timeout=20, what="a new watch"
            )
            await until(
                lambda: status.runs()["endpointslices"].ok, timeout=5, what="success after the new watch"
            )
            assert status.runs()["endpointslices"].error is None
            assert pods(discovery) == {"127.0.20.1:5353", "127.0.20.2:5353"}
        finally:
            watch.cancel()

    asyncio.run(scenario())
    lists = [r for r in kube_api.requests if r.path.endswith("/endpointslices") and "watch" not in r.params]
    assert len(lists) == 1, "recovered by the watch alone, without listing again"


@pytest.mark.parametrize(
    "paths",
    [
        {"service": "auto", "pod": "auto", "upstream": "auto"},
        {"service": "auto", "upstream": "auto"},
    ],
    ids=["pods discovered", "no pod path"],
)
def test_the_cost_models_watch_count_is_the_watches_discovery_opens(
    kube_api: KubeAPI, kubeconfig: Path, paths: dict[str, str]
) -> None:
    """bench/fleet_cost.py's API watches come from ``watches_slices``; here they are counted on the API."""
    discovery, _, _ = make(kube_api, kubeconfig, **paths)

    async def scenario() -> None:
        watch = asyncio.create_task(discovery.watch())
        try:
            await discovery.refresh()
            if discovery.watches_slices:
                await until(lambda: kube_api.watches("endpointslices"), what="the watch")
            else:
                await asyncio.sleep(0.5)  # time for a watch that should not come
        finally:
            watch.cancel()

    asyncio.run(scenario())
    assert len(kube_api.watches("endpointslices")) == int(discovery.watches_slices)
    assert discovery.watches_slices == ("pod" in paths)


@pytest.mark.parametrize(
    ("nameservers", "gets"),
    [
        (("169.254.20.10",), 1),  # NodeLocal's link-local address: no ClusterIP can match it
        (("127.0.10.10",), 1),  # the configured Service's own ClusterIP
        (("10.9.9.9",), 4),  # matches none: every well-known name is tried for one that does
    ],
    ids=["node cache", "its ClusterIP", "an unknown address"],
)
def test_locating_asks_for_more_services_only_while_a_nameserver_could_still_match(
    kube_api: KubeAPI, kubeconfig: Path, nameservers: tuple[str, ...], gets: int
) -> None:
    """At 5,000 nodes every agent locates the DNS on each refresh: a pod resolving through a node
    cache (kubelet's clusterDNS on 169.254.20.10) must not cost four Service reads, three of them 404s."""
    FakeCluster(kube_api, list(PODS), "127.0.10.10", 5353, UPSTREAMS).load()
    config = parse_config(
        {
            "names": [{"name": "example.org."}],
            "paths": {"service": "auto"},
            "kubernetes": {"config": "kubeconfig", "kubeconfig": str(kubeconfig), "timeout": "2s"},
        }
    )
    client = LiteClient(lambda: credentials(config.kubernetes), timeout=2.0)
    location = asyncio.run(locate(client, config.kubernetes, nameservers))
    assert (location.namespace, location.service) == ("kube-system", "kube-dns")
    reads = [r for r in kube_api.requests if "/services/" in r.path]
    assert len(reads) == gets, [r.path for r in reads]
    # The steady state: the one located before is asked first, and it stands.
    asyncio.run(locate(client, config.kubernetes, nameservers, known=location))
    assert len([r for r in kube_api.requests if "/services/" in r.path]) == gets + 1
