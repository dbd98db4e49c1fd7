"""Cluster readers with the real kubernetes client against the test API: values, failures, RBAC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import Metric

from exporter.cluster import readings as readings_module
from exporter.cluster.readings import ClusterReadings
from exporter.compose import build
from exporter.config import parse_config
from exporter.kube.api import RateLimiter
from exporter.kube.rbac import rules
from exporter.runtime import Runtime
from exporter.text import render_text
from exporter.text.cluster import cluster_lines
from lab.coredns_metrics import CorednsMetrics
from lab.kubeapi.cluster import POD_NAMES, FakeCluster
from lab.kubeapi.handlers import parse_path
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import configmap
from tests.kubeapi.api_requests import uncovered
from tests.kubeapi.kube_dns import kube_dns_data, kube_dns_pod

MIB = 1048576
CLUSTER_STEPS = (
    "coredns_pods", "kube_dns_service", "coredns_usage", "corefile", "nodelocal", "kube_proxy",
    "network_policies", "inventory", "services", "statefulsets",
)  # fmt: skip


@pytest.fixture(autouse=True)
def coredns_metrics() -> Iterator[None]:
    """The fake cluster's CoreDNS pods serve their metrics on their IPs, as CoreDNS does."""
    with CorednsMetrics("127.0.20.1"), CorednsMetrics("127.0.20.2"):
        yield


def runtime(kubeconfig: Path, *, mode: str = "cluster", page_size: int = 2, **extra: Any) -> Runtime:
    doc = {
        "mode": mode,
        "interval": "1s",
        "timeout": "200ms",
        "names": [{"name": "example.org."}],
        "paths": {"service": "auto", "pod": "auto", "nodelocal": "auto", "upstream": "auto"},
        "kubernetes": {
            "config": "kubeconfig",
            "kubeconfig": str(kubeconfig),
            "page_size": page_size,
            "qps": 200,
            **extra,
        },
    }
    return build(parse_config(doc), one_shot=True)


def read(rt: Runtime) -> ClusterReadings:
    async def jobs() -> None:
        for job in rt.jobs:
            await job.run()

    asyncio.run(jobs())
    readings = rt.snapshot().cluster
    assert isinstance(readings, ClusterReadings)
    return readings


def failures(rt: Runtime) -> dict[str, str | None]:
    return {name: run.error for name, run in rt.status.runs().items() if not run.ok}


def load(kube_api: KubeAPI) -> FakeCluster:
    return FakeCluster(
        kube_api, ["127.0.20.1", "127.0.20.2"], "127.0.10.10", 5353, ["127.0.40.1:5353"]
    ).load()


def samples(metrics: list[Metric], name: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.values()): s.value for m in metrics for s in m.samples if s.name == name}


def test_readings_match_the_cluster(kube_api: KubeAPI, kubeconfig: Path) -> None:
    load(kube_api)
    rt = runtime(kubeconfig)
    readings = read(rt)
    assert failures(rt) == {}
    assert [p.name for p in readings.live_pods] == list(POD_NAMES)
    first = readings.live_pods[0]
    assert (first.node, first.ip, first.ready, first.restarts, first.version) == (
        "node-1",
        "127.0.20.1",
        True,
        0,
        (1, 11, 1),
    )
    assert (first.resources.cpu_request, first.resources.memory_limit) == (0.1, 170 * MIB)
    assert first.start_time == 1714637643.0  # 2024-05-02T08:14:03Z
    assert readings.service is not None
    assert (readings.service.cluster_ips, readings.service.session_affinity) == (("127.0.10.10",), "None")
    assert readings.corefile is not None
    assert readings.corefile.problems == ()
    assert "log" in readings.corefile.plugins  # from coredns-custom's log.override
    assert readings.custom_keys == ("log.override",)
    assert readings.nodelocal is not None
    assert readings.nodelocal.present
    assert readings.kube_proxy_mode == "ipvs"
    assert readings.usage is not None
    assert {u.pod: (u.cpu_cores, u.memory_bytes) for u in readings.usage.pods} == {
        name: (0.002946532, 17164 * 1024) for name in POD_NAMES
    }
    assert {n.node: (n.cpu_ratio, n.memory_ratio) for n in readings.usage.nodes} == {
        "node-1": (pytest.approx(1.96 / 3.92), pytest.approx(3062564 / 15323960)),
        "node-2": (pytest.approx(3.724 / 3.92), pytest.approx(7661980 / 15323960)),
    }
    assert readings.services is not None
    assert readings.services.tolerate_unready == ("data/etcd",)
    assert [(m.namespace, m.name, m.problem) for m in readings.statefulsets or ()] == [
        ("data", "kafka", "Service kafka-headless does not exist"),
        ("data", "zk", "Service zk is not headless (it has a ClusterIP)"),
    ]
    assert [p.name for p in readings.coredns_policies] == ["allow-dns", "metrics-only"]
    report = rt.report().as_dict()
    assert report["cluster"]["coredns"]["replicas"] == 2
    assert report["discovery"]["targets"]["pod"] == ["127.0.20.1:5353", "127.0.20.2:5353"]


def test_capacity_matches_hand_computed_values(kube_api: KubeAPI, kubeconfig: Path) -> None:
    load(kube_api)
    rt = runtime(kubeconfig, capacity={"cores_per_replica": 4, "nodes_per_replica": 2})
    readings = read(rt)
    capacity = readings.capacity
    assert capacity is not None
    # Schedulable nodes: node-1, node-2 (3920m each) and node-3 (7900m); node-4 is cordoned.
    assert (capacity.nodes, capacity.cores) == (3, pytest.approx(15.74))
    # Pods: 2 CoreDNS + 5 application pods; Services: kube-dns, kubernetes, web, redis, etcd, zk.
    assert (capacity.pods, capacity.services) == (7, 6)
    # max(ceil(15.74 / 4), ceil(3 / 2)) = max(4, 2) = 4, above the minimum of 2.
    assert capacity.linear_replicas == 4
    # (7 + 6) / 1000 + 54 = 54.013 MiB = 56636735.488 bytes.
    assert capacity.memory_recommended_bytes == pytest.approx(56636735.488)
    assert capacity.memory_limit_bytes == 170 * MIB
    metrics = list(rt.registry().collect())
    # Demand: 200 q/s on 6 millicores is far below a replica's 70% of 100m; one replica and one spare.
    assert samples(metrics, "k8s_dns_coredns_recommended_replicas") == {("linear",): 4.0, ("demand",): 2.0}
    assert samples(metrics, "k8s_dns_cluster_nodes") == {(): 3.0}
    assert samples(metrics, "k8s_dns_cluster_cpu_cores") == {(): pytest.approx(15.74)}
    assert samples(metrics, "k8s_dns_cluster_pods") == {(): 7.0}
    assert samples(metrics, "k8s_dns_cluster_services") == {(): 6.0}
    assert samples(metrics, "k8s_dns_coredns_memory_recommended_bytes") == {(): pytest.approx(56636735.488)}
    assert samples(metrics, "k8s_dns_coredns_replicas") == {(): 2.0}
    assert samples(metrics, "k8s_dns_coredns_memory_limit_bytes") == {(p,): 170.0 * MIB for p in POD_NAMES}
    assert samples(metrics, "k8s_dns_leader") == {(): 1.0}


def test_lists_are_paginated_and_counted_cheaply(kube_api: KubeAPI, kubeconfig: Path) -> None:
    load(kube_api)
    kube_api.faults.expire_continues = 1  # the first continue token has expired: the list starts over
    read(runtime(kubeconfig, page_size=2))
    services = [r.params for r in kube_api.requests if r.path == "/api/v1/services"]
    assert all(p["limit"] == "2" for p in services)
    assert sum("continue" in p for p in services) >= 2
    assert [r.status for r in kube_api.requests if r.path == "/api/v1/nodes"][:3] == [200, 410, 200]
    pods = [r.params for r in kube_api.requests if r.path == "/api/v1/pods"]
    assert pods == [{"limit": "1"}]  # one item and remainingItemCount give the count


def test_each_reader_fails_alone_and_recovers(kube_api: KubeAPI, kubeconfig: Path) -> None:
    cluster = load(kube_api)
    kube_api.faults.forbidden.add("/nodes")
    kube_api.faults.absent.add("metrics.k8s.io/v1beta1")
    broken = cluster.pods[POD_NAMES[1]]
    del broken["status"]["containerStatuses"][0]["imageID"]
    kube_api.store.put(broken)
    rt = runtime(kubeconfig)
    readings = read(rt)
    failed = failures(rt)
    assert set(failed) == {"coredns_pods", "coredns_usage", "inventory", "coredns_metrics"}
    assert failed["coredns_metrics"] == "the CoreDNS pods are not read"  # it reads the pods the API lists
    assert failed["inventory"] is not None
    assert failed["inventory"].startswith('403 Forbidden: nodes is forbidden: User "system:serviceaccount')
    assert failed["coredns_usage"] == "metrics.k8s.io is not served (is metrics-server installed?)"
    assert failed["coredns_pods"] is not None
    assert failed["coredns_pods"].startswith("malformed API object: 1 validation error for V1ContainerStatus")
    assert "imageID" in failed["coredns_pods"]
    assert readings.pods is None  # a failed reader contributes nothing, not stale data
    assert readings.errors["inventory"] == failed["inventory"]
    assert readings.service is not None  # the rest keeps working
    assert readings.corefile is not None
    metrics = list(rt.registry().collect())
    success = samples(metrics, "k8s_dns_collector_success")
    assert success[("inventory",)] == 0.0
    assert success[("kube_dns_service",)] == 1.0
    assert samples(metrics, "k8s_dns_coredns_pod_ready") == {}
    kube_api.faults.forbidden.clear()
    kube_api.faults.absent.clear()
    kube_api.store.put(cluster.pods[POD_NAMES[0]] | {"metadata": broken["metadata"]})
    cluster.pods[POD_NAMES[1]]["status"]["containerStatuses"][0]["imageID"] = (
        "registry.k8s.io/coredns/coredns@sha256:0"
    )
    kube_api.store.put(cluster.pods[POD_NAMES[1]])
    readings = read(rt)
    assert failures(rt) == {}
    assert readings.pods is not None
    assert readings.capacity is not None


def test_api_outage_and_recovery(kube_api: KubeAPI, kubeconfig: Path) -> None:
    load(kube_api)
    rt = runtime(kubeconfig, timeout="2s")
    read(rt)
    assert failures(rt) == {}
    with kube_api.outage():
        readings = read(rt)
        failed = failures(rt)
        assert set(failed) >= set(CLUSTER_STEPS) | {"discovery", "endpointslices"}
        assert failed["coredns_pods"] is not None
        assert failed["coredns_pods"].startswith("API server unreachable:")
        assert readings.pods is None
        assert readings.capacity is None
    readings = read(rt)
    assert failures(rt) == {}
    assert readings.capacity is not None


@pytest.mark.parametrize("mode", ["node", "cluster"])
def test_every_request_is_covered_by_the_rbac_rules(
    kube_api: KubeAPI, kubeconfig: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODE_NAME", "node-1")  # as the manifests set it: the NodeLocal pod here is listed
    load(kube_api)
    rt = runtime(kubeconfig, mode=mode)

    async def jobs() -> None:
        for job in rt.jobs:
            await job.run()

    asyncio.run(jobs())
    assert kube_api.requests
    assert uncovered(kube_api.requests, mode) == []
    used = {(r.api_group, r.resource) for r in rules(mode) if r.resource != "leases"}
    seen = set()
    for request in kube_api.requests:
        group_version, _, resource, _ = parse_path(request.path) or ("", None, "", None)
        seen.add((group_version.rsplit("/", 1)[0] if "/" in group_version else "", resource))
    assert used <= seen  # and no rule is there for nothing


def test_the_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(qps=20, burst=2)
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started >= 0.09  # two waits of 1/20 s after the burst


def test_the_corefile_is_fetched_once_and_analysed_once_per_change(
    kube_api: KubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery's ``upstream: auto`` and the cluster readers share one read of the Corefile, and the
    readings (Corefile lint, sizing) are assembled once per change, not per scrape or diagnosis."""
    analysed: list[object] = []
    real = readings_module.analyse

    def counting(*args: Any, **kwargs: Any) -> Any:
        analysed.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(readings_module, "analyse", counting)
    load(kube_api)
    rt = runtime(kubeconfig)
    read(rt)
    corefile_gets = [
        r for r in kube_api.requests if r.method == "GET" and r.path.endswith("/configmaps/coredns")
    ]
    assert len(corefile_gets) == 1
    snapshot = rt.snapshot()
    assert snapshot.discovery is not None
    assert snapshot.discovery.targets["upstream"] == ("127.0.40.1:5353",)
    for _ in range(3):
        rt.snapshot()
        generate_latest(rt.registry())
        rt.report()
    assert len(analysed) == 1
    read(rt)  # the readers store their pieces again: one new assembly, on the next read of the state
    rt.snapshot()
    rt.snapshot()
    assert len(analysed) == 2


# The EKS add-on's two ConfigMaps: `kube-proxy` holds only a kubeconfig, `kube-proxy-config` the
# KubeProxyConfiguration under key `config` (as `kubectl -n kube-system get cm kube-proxy-config -o yaml`
# prints on an EKS cluster; the layout described in the EKS user guide, "kube-proxy" add-on).
EKS_KUBE_PROXY = {
    "kubeconfig": (
        "kind: Config\napiVersion: v1\nclusters:\n- cluster:\n"
        "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n"
        "    server: https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com\n  name: default\n"
    )
}
EKS_KUBE_PROXY_CONFIG = {
    "config": (
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclientConnection:\n"
        '  acceptContentTypes: ""\n  burst: 10\n  contentType: application/vnd.kubernetes.protobuf\n'
        '  kubeconfig: /var/lib/kube-proxy/kubeconfig\n  qps: 5\nclusterCIDR: ""\n'
        "configSyncPeriod: 15m0s\nconntrack:\n  maxPerCore: 32768\n  min: 131072\n"
        "  tcpCloseWaitTimeout: 1h0m0s\n  tcpEstablishedTimeout: 24h0m0s\nenableProfiling: false\n"
        'healthzBindAddress: 0.0.0.0:10256\nhostnameOverride: ""\niptables:\n  masqueradeAll: false\n'
        "  masqueradeBit: 14\n  minSyncPeriod: 0s\n  syncPeriod: 30s\nipvs:\n  excludeCIDRs: null\n"
        '  minSyncPeriod: 0s\n  scheduler: ""\n  syncPeriod: 30s\nkind: KubeProxyConfiguration\n'
        'metricsBindAddress: 0.0.0.0:10249\nmode: "ipvs"\nnodePortAddresses: null\noomScoreAdj: -998\n'
        'portRange: ""\n'
    )
}


def _kube_proxy(
    kube_api: KubeAPI, kubeconfig: Path, *, configmaps: dict[str, dict[str, str]], daemonset: bool
) -> Runtime:
    load(kube_api)
    kube_api.store.delete("v1", "configmaps", "kube-system", "kube-proxy")
    if not daemonset:
        kube_api.store.delete("apps/v1", "daemonsets", "kube-system", "kube-proxy")
    for name, data in configmaps.items():
        kube_api.store.put(configmap(name, data))
    return runtime(kubeconfig)


def test_eks_kube_proxy_config_is_read(kube_api: KubeAPI, kubeconfig: Path) -> None:
    rt = _kube_proxy(
        kube_api,
        kubeconfig,
        configmaps={"kube-proxy": EKS_KUBE_PROXY, "kube-proxy-config": EKS_KUBE_PROXY_CONFIG},
        daemonset=True,
    )
    readings = read(rt)
    assert "kube_proxy" not in failures(rt)
    assert readings.kube_proxy_mode == "ipvs"
    assert rt.status.runs()["kube_proxy"].ok


def test_a_cluster_without_kube_proxy_reads_as_not_applicable(kube_api: KubeAPI, kubeconfig: Path) -> None:
    """Cilium's kube-proxy replacement, OVN-Kubernetes, k3s: no kube-proxy ConfigMap nor DaemonSet."""
    rt = _kube_proxy(kube_api, kubeconfig, configmaps={}, daemonset=False)
    readings = read(rt)
    assert failures(rt) == {}
    assert readings.kube_proxy_mode == "none"
    assert samples(list(rt.registry().collect()), "k8s_dns_kube_proxy_mode_info") == {("none",): 1.0}
    assert "kube-proxy: none" in render_text(rt.report())


def test_kube_proxy_running_without_a_readable_configmap_says_what_to_set(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    rt = _kube_proxy(kube_api, kubeconfig, configmaps={}, daemonset=True)
    readings = read(rt)
    assert readings.kube_proxy_mode is None
    error = failures(rt)["kube_proxy"]
    assert error is not None
    assert (
        "DaemonSet kube-system/kube-proxy runs but none of the ConfigMaps kube-proxy, kube-proxy-config"
        in error
    )
    assert "kubernetes.configmaps.kube_proxy" in error


def test_kube_dns_is_no_coredns_every_container_counts_and_its_configmap_is_read(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    """GKE-style kube-dns: the kubedns tag 1.26.7 is no CoreDNS version, the dnsmasq container's
    restarts and the pod's requests count, and stubDomains / upstreamNameservers are read."""
    load(kube_api)
    store = kube_api.store
    store.delete("v1", "configmaps", "kube-system", "coredns")
    oom = {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2024-05-02T08:14:03Z"}
    for index, name in enumerate(POD_NAMES):
        terminated = {
            "dnsmasq": {**oom, "finishedAt": "2024-05-02T09:00:00Z"},
            "sidecar": {**oom, "reason": "Error", "finishedAt": "2024-05-02T08:30:00Z"},
        }
        store.put(
            kube_dns_pod(
                name,
                node=f"node-{index + 1}",
                ip=f"127.0.20.{index + 1}",
                restarts={"dnsmasq": 3, "sidecar": 1},
                terminated=terminated,
            )
        )
    stubs = {"corp.internal": ["127.0.40.1:5353", "127.0.99.99:5353"], "acme.local": ["127.0.40.2:5353"]}
    store.put(configmap("kube-dns", kube_dns_data(stubs, ["127.0.40.2:5353"])))
    rt = runtime(kubeconfig)
    readings = read(rt)
    assert failures(rt) == {}  # no coredns ConfigMap is no error where kube-dns serves
    assert readings.corefile is None
    first = readings.live_pods[0]
    assert (first.version, first.image, first.containers) == (
        None,
        "registry.k8s.io/dns/k8s-dns-kube-dns:1.26.7",
        ("kubedns", "dnsmasq", "sidecar"),
    )
    assert readings.version is None  # no CoreDNS version rule can fire
    assert (first.restarts, first.last_terminated_reason) == (4, "OOMKilled")  # dnsmasq's, the latest
    resources = first.resources
    assert (resources.cpu_request, resources.memory_request) == (pytest.approx(0.26), 110 * MIB)
    assert resources.memory_limit is None  # dnsmasq and sidecar have none: the pod has no limit
    assert readings.kube_dns is not None
    assert readings.kube_dns.as_dict() == {
        "present": True,
        "stub_domains": {"acme.local": ["127.0.40.2:5353"], "corp.internal": stubs["corp.internal"]},
        "upstream_nameservers": ["127.0.40.2:5353"],
    }
    text = cluster_lines(readings)
    assert text[1].startswith("  kube-dns   2/2 ready on 2 node(s), version unknown")
    assert (
        "  kube-dns   stubDomains acme.local -> 127.0.40.2:5353; corp.internal -> 127.0.40.1:5353, "
        "127.0.99.99:5353; upstreamNameservers 127.0.40.2:5353"
    ) in text
    report = rt.report().as_dict()
    assert report["cluster"]["coredns"]["version"] == "unknown"
    assert report["cluster"]["kube_dns_config"]["stub_domains"]["corp.internal"] == stubs["corp.internal"]
    discovery = report["discovery"]
    assert discovery["targets"]["upstream"] == ["127.0.40.2:5353"]
    assert discovery["upstream_zones"] == [
        {"zone": "acme.local.", "server": "127.0.40.2:5353", "transport": "udp"},
        {"zone": "corp.internal.", "server": "127.0.40.1:5353", "transport": "udp"},
        {"zone": "corp.internal.", "server": "127.0.99.99:5353", "transport": "udp"},
    ]


def test_a_kube_dns_configmap_left_behind_where_coredns_serves_adds_no_upstream(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    """Clusters moved from kube-dns to CoreDNS often keep the old ConfigMap: CoreDNS never reads it,
    so neither its upstreamNameservers nor its stubDomains are probed (they would be named unreachable)."""
    load(kube_api)
    stubs = {"corp.internal": ["127.0.99.99:5353"]}
    kube_api.store.put(configmap("kube-dns", kube_dns_data(stubs, ["127.0.99.98:5353"])))
    rt = runtime(kubeconfig)
    readings = read(rt)
    assert failures(rt) == {}
    assert readings.kube_dns is not None
    assert readings.kube_dns.present  # read and shown, but not what CoreDNS forwards to
    assert not readings.kube_dns_serves
    discovery = rt.report().as_dict()["discovery"]
    assert discovery["targets"]["upstream"] == ["127.0.40.1:5353"]  # the Corefile's forward only
    assert discovery["upstream_zones"] == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"stubDomains": "{corp: [1.2.3.4]}"}, "ConfigMap kube-dns stubDomains is not JSON"),
        ({"stubDomains": '["1.2.3.4"]'}, "ConfigMap kube-dns stubDomains is not a JSON dict"),
        ({"stubDomains": '{"corp": "1.2.3.4"}'}, "ConfigMap kube-dns stubDomains['corp'] is not a list"),
        (
            {"upstreamNameservers": "[1]"},
            "ConfigMap kube-dns upstreamNameservers is not a list of nameservers",
        ),
    ],
)
def test_a_bad_kube_dns_configmap_is_a_reader_error(
    kube_api: KubeAPI, kubeconfig: Path, data: dict[str, str], error: str
) -> None:
    load(kube_api)
    kube_api.store.put(configmap("kube-dns", data))
    rt = runtime(kubeconfig)
    readings = read(rt)
    assert readings.kube_dns is None
    assert failures(rt)["kube_dns_config"].startswith(f"malformed API object: {error}")
    assert readings.corefile is not None  # the other readers go on
