"""Cluster cost model: probe QPS on CoreDNS and API watches for 10 to 5,000 nodes, from the shipped configs.

Run inside a loopback-only network namespace, from the repository root:

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.cost_model'

Nothing is hard-coded per round and no query is sent: the shipped configs
(deploy/base/config/node.yaml and cluster.yaml, or ``--node-config`` / ``--cluster-config``)
are loaded with the exporter's config loader, every target source is replaced by
stand-in servers of the same count, and the exporter plans one round
(exporter/targets/plan.py), the plan its prober runs. The plan counts the queries: a
direct probe sends one, a race probe four, a resolver lookup one per search-list
candidate until a name has records of its type. Stand-ins per path:

============  =================================================================
path          servers
============  =================================================================
static list   as many as listed
resolv_conf   the pod's nameservers: 1 (ClusterFirst: the kube-dns ClusterIP) on the node
              agent; ``--upstreams`` on the cluster instance (dnsPolicy: Default)
service auto  1 (the kube-dns Service)
pod auto      P (every CoreDNS pod)
nodelocal     1 with NodeLocal DNSCache, 0 without
upstream auto ``--upstreams``
resolver      the pod's resolv.conf: ``search <ns>.svc.cluster.local svc.cluster.local
              cluster.local``, ``options ndots:5``; a name has A records when it is
              ``<service>.<namespace>.svc.cluster.local`` or outside the cluster domain,
              and no AAAA records (a cluster without IPv6)
============  =================================================================

Which queries reach CoreDNS: ``service`` and ``pod`` always; ``resolver`` without NodeLocal
DNSCache (with it the pod's queries go to the node's cache, which sends CoreDNS only its
misses); ``nodelocal`` and ``upstream`` never directly. Watches and API requests follow
exporter/compose.py: the same classes decide whether an EndpointSlice watch exists.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.common import REPO, RESULTS, publish, run
from exporter.config import AUTO, Config, ConfigError, ResolvConfTargets, Server, load_config
from exporter.hops import HOPS
from exporter.resolvconf import parse_resolv_conf
from exporter.status import Status
from exporter.targets import TargetSet
from exporter.targets.discovery import KubernetesDiscovery
from exporter.targets.plan import plan
from exporter.targets.selection import share

NODES = (10, 100, 1_000, 5_000)
CORE_PATHS = ("service", "pod")
"""Paths whose queries CoreDNS answers itself (the resolver path joins them without NodeLocal)."""
KNOWN_NAMESPACES = frozenset({"default", "kube-system"})
AGENT_NODE = "node-1"


@dataclasses.dataclass(frozen=True)
class Case:
    pods: int | None
    """CoreDNS pods; ``None``: one on every node (OpenShift's dns-default DaemonSet), P = N."""
    nodelocal: bool

    @property
    def label(self) -> str:
        pods = "N" if self.pods is None else self.pods
        return f"P={pods}, {'with' if self.nodelocal else 'without'} NodeLocal DNSCache"

    def count(self, nodes: int) -> int:
        return nodes if self.pods is None else self.pods


def exists(qname: str, cluster_domain: str, namespaces: frozenset[str]) -> bool:
    """A name a cluster answers: ``<service>.<namespace>.svc.<domain>``, or any name outside the domain."""
    name = qname.rstrip(".").lower()
    suffix = "." + cluster_domain.lower()
    if not (name + ".").endswith(suffix + ".") and name != cluster_domain:
        return True
    labels = name[: -len(suffix)].split(".") if name.endswith(suffix) else []
    return len(labels) == 3 and labels[2] == "svc" and labels[1] in namespaces


def answers(cluster_domain: str, namespaces: frozenset[str]) -> Callable[[str, str], bool]:
    """Whether a name has records of a type: every existing name has A records, none has AAAA."""

    def has_records(qname: str, qtype: str) -> bool:
        return qtype != "AAAA" and exists(qname, cluster_domain, namespaces)

    return has_records


def stand_in_counts(config: Config, case: Case, upstreams: int, nodes: int) -> dict[str, int]:
    """How many servers each direct path knows in a cluster of ``case`` with ``nodes`` nodes."""
    auto = {"service": 1, "pod": case.count(nodes), "nodelocal": int(case.nodelocal), "upstream": upstreams}
    counts: dict[str, int] = {}
    for path, spec in config.paths.direct().items():
        if spec == AUTO:
            counts[path] = auto[path]
        elif isinstance(spec, ResolvConfTargets):
            counts[path] = 1 if config.mode == "node" else upstreams
        else:
            counts[path] = len(spec)
    return counts


def stand_ins(counts: dict[str, int]) -> dict[str, tuple[Server, ...]]:
    """Stand-in servers, path -> servers: the plan names them; nothing is sent to them."""
    return {
        path: tuple(Server(f"127.0.{100 + net}.{i}") for i in range(1, count + 1))
        for net, (path, count) in enumerate(sorted(counts.items()), start=1)
    }


def round_targets(
    config: Config, case: Case, *, upstreams: int, namespace: str, nodes: int, round_index: int = 0
) -> TargetSet:
    """The targets one round of ``config`` probes in a cluster of ``case``: the round's share, as the agent
    on a node that hosts the first CoreDNS pod takes it (with P = N every node hosts one)."""
    servers = stand_ins(stand_in_counts(config, case, upstreams, nodes))
    resolver = None
    if config.paths.resolver is not None:
        # The pod's nameserver: the kube-dns ClusterIP, else (ClusterFirst with NodeLocal) the cache.
        first = servers.get("nodelocal") if case.nodelocal else None
        nameserver = (first or servers.get("service") or (Server("127.0.101.250"),))[0]
        domain = config.cluster_domain
        conf = parse_resolv_conf(
            f"nameserver {nameserver.host}\n"
            f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
            "options ndots:5\n"
        )
        resolver = (config.paths.resolver, conf)
    pods = servers.get("pod", ())
    placement = {pods[0]: AGENT_NODE} if pods else {}
    return share(
        TargetSet(servers=servers, resolver=resolver),
        config,
        round_index,
        placement=placement,
        node=AGENT_NODE,
    )


def one_round(config: Config, case: Case, *, upstreams: int, namespace: str, nodes: int) -> dict[str, int]:
    """Queries one round of ``config`` sends in a cluster of ``case``, by path (see :func:`round_targets`)."""
    targets = round_targets(config, case, upstreams=upstreams, namespace=namespace, nodes=nodes)
    has_records = answers(config.cluster_domain, KNOWN_NAMESPACES | {namespace})
    counts: dict[str, int] = {}
    for probe in plan(config, targets):
        counts[probe.path] = counts.get(probe.path, 0) + probe.queries(has_records)
    return counts


def on_coredns(by_path: dict[str, int], nodelocal: bool) -> int:
    paths = CORE_PATHS if nodelocal else (*CORE_PATHS, "resolver")
    return sum(by_path.get(p, 0) for p in paths)


def watches(config: Config) -> int:
    """EndpointSlice watches one instance opens, decided by the discovery code itself."""
    auto = any(spec == AUTO for spec in config.paths.direct().values())
    cluster = config.mode == "cluster"
    if not config.kubernetes.enabled or not (auto or cluster):
        return 0
    discovery = KubernetesDiscovery(config, client=None, status=Status(), watch_slices=cluster)  # type: ignore[arg-type]
    return int(discovery.watches_slices)


def api_requests_per_second(config: Config) -> float:
    """Requests besides watches: discovery GETs every ``refresh``; in cluster mode readers and the Lease."""
    k8s = config.kubernetes
    if not k8s.enabled:
        return 0.0
    auto = {p for p, spec in config.paths.direct().items() if spec == AUTO}
    # In cluster mode upstream: auto takes the Corefile the readers fetch: no GET of its own.
    fetched = {"service", "nodelocal"} | ({"upstream"} if config.mode == "node" else set())
    rate = len(auto & fetched) / k8s.refresh
    if config.mode == "cluster":
        from exporter.cluster.jobs import CLUSTER_STEPS, inventory_steps  # noqa: PLC0415 - loads kubernetes

        rate += (
            len(CLUSTER_STEPS) / k8s.interval + len(inventory_steps(k8s.sample_pods)) / k8s.inventory_interval
        )
        rate += 2 / k8s.lease.retry_period  # the leader reads the Lease and writes it back
    return rate


def deployed(kind: str, field: str, default: Any) -> Any:
    """A value from the shipped manifests in deploy/base (the DaemonSet's namespace, the replicas)."""
    for name in ("node-agent.yaml", "cluster.yaml"):
        for doc in yaml.safe_load_all((REPO / "deploy" / "base" / name).read_text()):
            if doc and doc.get("kind") == kind:
                node: Any = doc
                for key in field.split("."):
                    node = node.get(key) if isinstance(node, dict) else None
                return default if node is None else node
    return default


@dataclasses.dataclass(frozen=True)
class ClusterInstance:
    """The cluster Deployment's share: only the Lease holder probes; every replica watches."""

    replicas: int
    queries: dict[str, int]
    interval: float
    watches: int
    api_rate: float
    about: str

    @property
    def coredns_qps(self) -> float:
        return on_coredns(self.queries, False) / self.interval if self.interval else 0.0


def cluster_instance(args: argparse.Namespace, namespace: str) -> ClusterInstance:
    replicas = int(deployed("Deployment", "spec.replicas", 1))
    try:
        config = load_config(args.cluster_config)
    except ConfigError as exc:
        about = (
            f"`{_rel(args.cluster_config)}` does not load ({exc.field}: {exc.reason}); its share is left out"
        )
        return ClusterInstance(replicas, {}, 0.0, 0, 0.0, about)
    queries = one_round(
        config,
        Case(args.pods[0], False),
        upstreams=args.upstreams,
        namespace=namespace,
        nodes=max(args.nodes),
    )
    about = (
        f"`{_rel(args.cluster_config)}` (interval {config.interval:g} s, paths: {_paths(config)}): "
        f"one leader of {replicas} replicas probes, {sum(queries.values())} queries a round "
        f"({_by(queries)}), "
        f"{on_coredns(queries, False)} of them to CoreDNS"
    )
    return ClusterInstance(
        replicas, queries, config.interval, watches(config), api_requests_per_second(config), about
    )


def model(args: argparse.Namespace) -> str:
    node = load_config(args.node_config)
    namespace = deployed("DaemonSet", "metadata.namespace", "default")
    cases = [Case(p, nl) for p in (*args.pods, None) for nl in (False, True)]
    rounds = {
        (c, n): one_round(node, c, upstreams=args.upstreams, namespace=namespace, nodes=n)
        for c in cases
        for n in args.nodes
    }
    cluster = cluster_instance(args, namespace)
    domain = node.cluster_domain
    lines = [
        "# Cluster cost model",
        "",
        "`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.cost_model'`",
        "",
        f"Derived at run time from `{_rel(args.node_config)}` (node agent: interval {node.interval:g} s, "
        f"{len(node.names)} names, paths: {_paths(node)}) by counting the exporter's plan of one round "
        f"against stand-in servers (no query sent); the agent's pod resolv.conf: "
        f"`search {namespace}.svc.{domain} svc.{domain} {domain}`, `ndots:5`; "
        f"{args.upstreams} upstream servers. Cluster instance: "
        f"{cluster.about}.",
        "",
        *_per_round(rounds, node.pods_per_round),
        *_load(rounds, node, cluster, args.nodes),
        *_api(node, cluster, args.nodes),
    ]
    return "\n".join(lines)


def _per_round(rounds: dict[tuple[Case, int], dict[str, int]], budget: int) -> list[str]:
    paths = [p for p in HOPS if any(p in r for r in rounds.values())]
    largest = max(n for _, n in rounds)
    lines = [
        "## Queries per node agent and round, by path",
        "",
        f"Each round probes at most {budget} CoreDNS pods (pods_per_round), the node's own first; "
        f"P=N is counted at N = {largest:,}.",
        "",
        "| case | " + " | ".join(paths) + " | total | on CoreDNS |",
        "|---|" + "---|" * (len(paths) + 2),
    ]
    for (case, nodes), by_path in rounds.items():
        if nodes != largest:
            continue
        cells = " | ".join(str(by_path.get(p, 0)) for p in paths)
        total = sum(by_path.values())
        lines.append(f"| {case.label} | {cells} | {total} | {on_coredns(by_path, case.nodelocal)} |")
    return lines


def _load(
    rounds: dict[tuple[Case, int], dict[str, int]], node: Config, cluster: ClusterInstance, nodes: list[int]
) -> list[str]:
    cases = list(dict.fromkeys(case for case, _ in rounds))
    lines = [
        "",
        "## Probe load on CoreDNS (queries per second: every node agent plus the cluster instance)",
        "",
        "| nodes | " + " | ".join(case.label for case in cases) + " |",
        "|---|" + "---|" * len(cases),
    ]
    for count in nodes:
        qps = [
            count * on_coredns(rounds[c, count], c.nodelocal) / node.interval + cluster.coredns_qps
            for c in cases
        ]
        lines.append(f"| {count:,} | " + " | ".join(f"{q:,.1f}" for q in qps) + " |")
    lines += [
        "",
        "With NodeLocal DNSCache the resolver path's queries go to the node's cache; CoreDNS sees only its "
        "misses (at most one per name and TTL per node), not counted above. In NodeLocal's iptables mode the "
        "cache also answers the kube-dns ClusterIP on the node, so the service path would reach the cache "
        "too: the figures are an upper bound.",
    ]
    return lines


def _api(node: Config, cluster: ClusterInstance, nodes: list[int]) -> list[str]:
    node_watches, node_rate = watches(node), api_requests_per_second(node)
    lines = [
        "",
        "## Kubernetes API",
        "",
        f"Per node agent: {node_watches} EndpointSlice watch(es), {node_rate * 60:.2f} other requests a "
        f"minute. Per cluster replica: {cluster.watches} watch(es); the leader {cluster.api_rate * 60:.1f} "
        "requests a minute (readers, lists and the Lease; pagination and watch re-establishment not "
        "counted).",
        "",
        "| nodes | watches (agents + cluster replicas) | other API requests/s |",
        "|---|---|---|",
    ]
    for count in nodes:
        total = count * node_watches + cluster.replicas * cluster.watches
        lines.append(f"| {count:,} | {total:,} | {count * node_rate + cluster.api_rate:,.2f} |")
    lines.append("")
    return lines


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _paths(config: Config) -> str:
    parts = []
    for path, spec in config.paths.direct().items():
        if spec != ():
            kind = (
                "auto" if spec == AUTO else "resolv_conf" if isinstance(spec, ResolvConfTargets) else "static"
            )
            parts.append(f"{path} ({kind})")
    if config.paths.resolver is not None:
        parts.append("resolver")
    return ", ".join(parts)


def _by(by_path: dict[str, int]) -> str:
    return ", ".join(f"{p} {n}" for p, n in by_path.items()) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost_model", description=__doc__.split("\n")[0])
    parser.add_argument("--node-config", type=Path, default=REPO / "deploy/base/config/node.yaml")
    parser.add_argument("--cluster-config", type=Path, default=REPO / "deploy/base/config/cluster.yaml")
    parser.add_argument("--pods", type=int, nargs="+", default=[2, 10], help="CoreDNS pods (P)")
    parser.add_argument("--nodes", type=int, nargs="+", default=list(NODES))
    parser.add_argument("--upstreams", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = model(args)
    return publish(args.out, "cost_model.md", text)


if __name__ == "__main__":
    run(main)
