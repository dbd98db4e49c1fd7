"""Manifests -> the objects an API server holds once the controllers have run, on the lab's addresses."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.kubeapi.distributions.shapes import Objects, Shape
from lab.kubeapi.nodes import node, node_metrics, pod_metrics
from lab.kubeapi.objects import IMAGE_DIGEST, T0, meta, uid
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import configmap
from lab.topology import DEAD, Lab

MANIFESTS = Path(__file__).resolve().parent / "manifests"
THIS_NODE = "node-1"
CLUSTER_IPS = ("10.96.0.10", "10.43.0.10", "172.30.0.10", "10.233.0.3")
NODE_CACHE_IPS = ("169.254.20.10", "169.254.25.10")
ON_PREMISES = "10.1.0.4"
DNS_PORTS = (53, 5353)


@dataclass
class Loaded:
    """A shape in the test API, and what a correct discovery finds on it (lab addresses)."""

    shape: Shape
    service: str
    pods: list[str]
    nodelocal: str | None
    resolver: str
    """The nameserver of the pods' resolv.conf (lab address)."""
    objects: Objects = field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        return [o["metadata"]["name"] for o in self.objects if o["kind"] == kind]


def manifest_objects(shape: Shape, lab: Lab, *, service_host: str) -> Objects:
    """The shape's manifests, parsed, with the lab's addresses in place of the cluster's."""
    upstreams = [lab.address(r) for r in lab.roles("upstream")]
    node_cache = lab.host(DEAD) if shape.nodelocal in ("lrp", "elsewhere") else lab.servers["nodelocal"].host
    objects: Objects = []
    for name in shape.manifests:
        text = (MANIFESTS / name).read_text()
        for ip in CLUSTER_IPS:
            text = re.sub(rf"\b{re.escape(ip)}\b", service_host, text)
        for ip in NODE_CACHE_IPS:
            text = text.replace(ip, node_cache)
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    for edit in shape.edits:
        edit(objects)
    for obj in objects:  # after the edits, which bring Corefiles of their own (AKS, EKS)
        if obj["kind"] == "ConfigMap":
            obj["data"] = {k: _forwards(v, upstreams) for k, v in obj["data"].items()}
    return objects


def _forwards(text: str, upstreams: list[str]) -> str:
    """CoreDNS's upstreams (the node's resolv.conf, an on-premises server) -> the lab's upstreams."""
    text = re.sub(r"(forward\s+\.\s+)/etc/resolv\.conf", lambda m: m.group(1) + " ".join(upstreams), text)
    for public, lab in zip(("8.8.8.8", "8.8.4.4"), upstreams, strict=False):  # kube-dns upstreamNameservers
        text = text.replace(f'"{public}"', f'"{lab}"')
    return text.replace(ON_PREMISES, upstreams[0])


def load(api: KubeAPI, lab: Lab, shape: Shape, *, service_dead: bool = False) -> Loaded:
    """Put ``shape`` into ``api`` on ``lab``'s addresses; ``service_dead``: the Service VIP reaches nothing."""
    service_host = lab.host(DEAD) if service_dead else lab.servers["service"].host
    objects = manifest_objects(shape, lab, service_host=service_host)
    namespace, service_name = shape.dns
    dns_service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service_name)
    nodes = [f"node-{i}" for i in range(1, shape.nodes + 1)]
    node_objects = [_node(name, i, shape) for i, name in enumerate(nodes, start=1)]
    pods: list[dict[str, Any]] = []
    finished: Objects = []
    for manifest in objects:
        obj = _defaults(manifest)
        if obj["kind"] == "Deployment":
            pods += _deployment_pods(obj)
            _deployment_status(obj)
        elif obj["kind"] == "DaemonSet":
            scheduled = [n for n in node_objects if _selects(obj, n)]
            pods += _daemonset_pods(obj, scheduled)
            _daemonset_status(obj, len(scheduled))
        finished.append(obj)
    dns_pods = [p for p in pods if _matches(dns_service["spec"].get("selector") or {}, p)]
    _pod_ips(pods, dns_pods, lab, shape, nodes)
    _lab_ports(finished, pods, lab.port)
    slices = [s for svc in finished if svc["kind"] == "Service" for s in _slices(svc, pods, shape)]
    extra = [configmap("kube-root-ca.crt", {"ca.crt": "-----BEGIN CERTIFICATE-----\n"}, namespace=namespace)]
    if shape.kube_proxy is not None:
        extra.append(_kube_proxy(*shape.kube_proxy))
    default = {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": meta("kubernetes", "default", labels={"component": "apiserver", "provider": "kubernetes"}),
        "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}], "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {}},
    }  # fmt: skip
    metrics: Objects = []
    if shape.metrics_server:
        metrics += [node_metrics(n, cpu="1200m", memory="3062564Ki") for n in nodes]
        for pod in pods:
            usage = pod_metrics(
                pod["metadata"]["name"],
                cpu="2946532n",
                memory="17164Ki",
                namespace=pod["metadata"]["namespace"],
            )
            usage["metadata"]["labels"] = dict(pod["metadata"]["labels"])
            usage["containers"] = [
                {"name": c["name"], "usage": {"cpu": "2946532n", "memory": "17164Ki"}}
                for c in pod["spec"]["containers"]
            ]
            metrics.append(usage)
    everything = node_objects + finished + pods + slices + extra + [default] + metrics
    for obj in everything:
        if obj["kind"] in _STORED:
            api.store.put(obj)
    lab_port = lab.port
    nodelocal = {
        "here": f"{lab.servers['nodelocal'].host}:{lab_port}",
        "localdns": f"{lab.servers['nodelocal'].host}:{lab_port}",
        "lrp": f"{lab.servers['nodelocal'].host}:{lab_port}",
    }.get(shape.nodelocal)
    resolver = lab.servers["nodelocal"].host if shape.resolver == "nodelocal" else service_host
    return Loaded(
        shape,
        service=f"{service_host}:{lab_port}",
        pods=[f"{p['status']['podIP']}:{lab_port}" for p in dns_pods],
        nodelocal=nodelocal,
        resolver=resolver,
        objects=everything,
    )


def _pod_ips(pods: Objects, dns_pods: Objects, lab: Lab, shape: Shape, nodes: list[str]) -> None:
    """The DNS pods get the lab's pod hosts; with Cilium's LRP, this node's node-cache pod gets the
    lab's node cache; other pod-network pods an address of their node's range."""
    lab_pods = [lab.servers[r].host for r in lab.roles("pod")]
    for pod, host in zip(dns_pods, lab_pods, strict=False):
        pod["status"]["podIP"] = host
        pod["status"]["podIPs"] = [{"ip": host}]
    for index, pod in enumerate(pods):
        if pod in dns_pods or pod["spec"].get("hostNetwork") is True or "podIP" in pod["status"]:
            continue
        ip = f"10.244.{nodes.index(pod['spec']['nodeName']) + 1}.{index + 10}"
        node_cache = pod["metadata"]["labels"].get("k8s-app") == "node-local-dns"
        if shape.nodelocal == "lrp" and node_cache and pod["spec"]["nodeName"] == THIS_NODE:
            ip = lab.servers["nodelocal"].host
        pod["status"]["podIP"] = ip
        pod["status"]["podIPs"] = [{"ip": ip}]


_STORED = {"Node", "Pod", "Service", "ConfigMap", "DaemonSet", "StatefulSet", "Deployment", "EndpointSlice", "NetworkPolicy", "PodMetrics", "NodeMetrics"}  # fmt: skip


def _node(name: str, index: int, shape: Shape) -> dict[str, Any]:
    obj = node(name, address=f"10.0.0.{10 + index}", cpu="4", allocatable_cpu="3920m")
    obj["metadata"]["labels"].update(shape.node_labels.get(name, {}))
    if shape.nodes == 1 or name == "node-1":
        obj["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = ""
    obj["spec"]["podCIDR"] = obj["spec"]["podCIDRs"][0] = f"10.244.{index}.0/24"
    return obj


def _defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server fills in on create: uid, creationTimestamp, generation, spec defaults."""
    obj = copy.deepcopy(obj)
    md = obj["metadata"]
    namespace = md.get("namespace")
    md.update(uid=uid(namespace or "", obj["kind"], md["name"]), creationTimestamp=T0)
    if obj["kind"] in ("Deployment", "DaemonSet"):
        md["generation"] = 1
        spec = obj["spec"]
        spec.setdefault("revisionHistoryLimit", 10)
        spec["template"]["metadata"].setdefault("creationTimestamp", None)
        _pod_spec_defaults(spec["template"]["spec"])
        if obj["kind"] == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy",
                {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            )
            spec["strategy"].setdefault("type", "RollingUpdate")
        else:
            spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
            spec["updateStrategy"].setdefault("type", "RollingUpdate")
            rolling = spec["updateStrategy"].setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
    elif obj["kind"] == "Service":
        spec = obj["spec"]
        ip = spec.get("clusterIP", "10.96.0.11")
        spec["clusterIP"] = ip
        spec.setdefault("clusterIPs", [ip])
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        families = ["IPv6" if ":" in i else "IPv4" for i in spec["clusterIPs"]]
        spec.setdefault("ipFamilies", families)
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec["ports"]:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
        obj["status"] = {"loadBalancer": {}}
    elif obj["kind"] == "NetworkPolicy":
        md["generation"] = 1
    return obj


def _pod_spec_defaults(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("initContainers", []) + spec["containers"]:
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", "IfNotPresent")
        for port in container.get("ports", []):
            port.setdefault("protocol", "TCP")
        for probe in ("livenessProbe", "readinessProbe"):
            if probe in container:
                for key, value in (
                    ("timeoutSeconds", 1),
                    ("periodSeconds", 10),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                ):
                    container[probe].setdefault(key, value)


def _matches(selector: dict[str, str], obj: dict[str, Any]) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _selects(daemonset: dict[str, Any], node_obj: dict[str, Any]) -> bool:
    wanted = daemonset["spec"]["template"]["spec"].get("nodeSelector") or {}
    labels = node_obj["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in wanted.items())


def _pod_hash(obj: dict[str, Any]) -> str:
    return (
        uid(obj["metadata"]["name"], "template")
        .replace("-", "")[:10]
        .translate(str.maketrans("0123456789abcdef", "bcdfghjklmnpqrst"))
    )


def _suffix(*parts: str) -> str:
    return uid(*parts).replace("-", "")[:5].translate(str.maketrans("0123456789abcdef", "2456789bcdfghjkl"))


def _deployment_pods(deployment: dict[str, Any]) -> Objects:
    name, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
    template_hash = _pod_hash(deployment)
    replica_set = f"{name}-{template_hash}"
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": replica_set, "uid": uid(namespace, "ReplicaSet", replica_set), "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    replicas = deployment["spec"]["replicas"]
    nodes = [f"node-{(i % 2) + 1}" for i in range(replicas)]
    return [
        _pod(
            deployment,
            f"{replica_set}-{_suffix(replica_set, str(i))}",
            owner,
            node_name,
            {"pod-template-hash": template_hash},
        )
        for i, node_name in enumerate(nodes)
    ]


def _daemonset_pods(daemonset: dict[str, Any], nodes: Objects) -> Objects:
    name, namespace = daemonset["metadata"]["name"], daemonset["metadata"]["namespace"]
    owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": daemonset["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    revision = _pod_hash(daemonset)
    return [
        _pod(daemonset, f"{name}-{_suffix(namespace, name, n['metadata']['name'])}", owner, n["metadata"]["name"], {"controller-revision-hash": revision, "pod-template-generation": "1"}, node_ip=n["status"]["addresses"][0]["address"])
        for n in nodes
    ]  # fmt: skip


def _pod(
    workload: dict[str, Any],
    name: str,
    owner: dict[str, Any],
    node_name: str,
    extra_labels: dict[str, str],
    *,
    node_ip: str | None = None,
) -> dict[str, Any]:
    namespace = workload["metadata"]["namespace"]
    template = copy.deepcopy(workload["spec"]["template"])
    spec = template["spec"]
    spec["nodeName"] = node_name
    account = spec.get("serviceAccountName", "default")
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    priority = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
    spec["priority"] = priority.get(spec.get("priorityClassName", ""), 0)
    spec.setdefault("tolerations", [])
    spec["tolerations"] += [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]  # fmt: skip
    host_ip = node_ip or f"10.0.0.{10 + int(node_name.rsplit('-', 1)[1])}"
    status: dict[str, Any] = {
        "phase": "Running",
        "conditions": [
            {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": T0}
            for kind in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": T0,
        "containerStatuses": [_container_status(name, c, ready=True) for c in spec["containers"]],
        "qosClass": _qos(spec["containers"]),
    }
    if spec.get("initContainers"):
        status["initContainerStatuses"] = [
            _container_status(name, c, ready=True, done=True) for c in spec["initContainers"]
        ]
    if spec.get("hostNetwork"):
        status["podIP"] = host_ip
        status["podIPs"] = [{"ip": host_ip}]
    labels = {**template["metadata"].get("labels", {}), **extra_labels}
    generate = name.rsplit("-", 1)[0] + "-"
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta(name, namespace, generateName=generate, labels=labels, annotations=template["metadata"].get("annotations") or {}, ownerReferences=[owner]),
        "spec": spec,
        "status": status,
    }  # fmt: skip


def _container_status(
    pod: str, container: dict[str, Any], *, ready: bool, done: bool = False
) -> dict[str, Any]:
    image = container["image"]
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "@" not in image else image.split("@", 1)[0]
    digest = image.split("@", 1)[1] if "@" in image else IMAGE_DIGEST
    container_id = f"cri-o://{uid(pod, container['name']).replace('-', '')}"
    state: dict[str, Any] = (
        {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": T0, "finishedAt": T0, "containerID": container_id}}
        if done
        else {"running": {"startedAt": T0}}
    )  # fmt: skip
    return {
        "name": container["name"],
        "state": state,
        "lastState": {},
        "ready": ready,
        "restartCount": 0,
        "image": image,
        "imageID": f"{repository}@{digest}",
        "containerID": container_id,
        "started": not done,
    }


def _qos(containers: list[dict[str, Any]]) -> str:
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(r.get("limits") and r.get("requests") == r.get("limits") for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def _deployment_status(deployment: dict[str, Any]) -> None:
    n = deployment["spec"]["replicas"]
    deployment["status"] = {
        "observedGeneration": 1, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
        "conditions": [
            {"type": "Available", "status": "True", "lastUpdateTime": T0, "lastTransitionTime": T0, "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "lastUpdateTime": T0, "lastTransitionTime": T0, "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed."},
        ],
    }  # fmt: skip


def _daemonset_status(daemonset: dict[str, Any], scheduled: int) -> None:
    daemonset["status"] = {
        "currentNumberScheduled": scheduled, "numberMisscheduled": 0, "desiredNumberScheduled": scheduled,
        "numberReady": scheduled, "observedGeneration": 1, "updatedNumberScheduled": scheduled, "numberAvailable": scheduled,
    }  # fmt: skip


def _lab_ports(objects: Objects, pods: Objects, port: int) -> None:
    """Every DNS port (53 and 5353: Services, their numeric target ports, DNS containers) -> the lab's."""
    for obj in objects:
        if obj["kind"] == "Service":
            for p in obj["spec"]["ports"]:
                if p["port"] in DNS_PORTS:
                    p["port"] = port
                if p["targetPort"] in DNS_PORTS:
                    p["targetPort"] = port
    for holder in [
        o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "DaemonSet")
    ] + [p["spec"] for p in pods]:
        for container in holder["containers"]:
            for p in container.get("ports", []):
                if p["containerPort"] in DNS_PORTS:
                    p["containerPort"] = port


def _target(pod: dict[str, Any], target: int | str) -> int | None:
    if isinstance(target, int):
        return target
    for container in pod["spec"]["containers"]:
        for p in container.get("ports", []):
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def _slices(service: dict[str, Any], pods: Objects, shape: Shape) -> Objects:
    """The EndpointSlices the endpointslice controller writes for ``service`` (none without a selector)."""
    selector = service["spec"].get("selector")
    if not selector:
        return []
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    members = [p for p in pods if _matches(selector, p) and p["metadata"]["namespace"] == namespace]
    endpoints = [
        (p["status"]["podIP"], p["metadata"]["name"], p["spec"]["nodeName"], "ready") for p in members
    ]
    if (namespace, name) == shape.dns and shape.endpoints:
        endpoints += _more_endpoints(shape.endpoints)
    ports = []
    if members:
        for p in service["spec"]["ports"]:
            target = _target(members[0], p["targetPort"])
            if target is not None:
                ports.append({"name": p.get("name", ""), "protocol": p["protocol"], "port": target})
    families = service["spec"]["ipFamilies"]
    out = []
    for family in families:
        chosen = (
            [e for e in endpoints if (":" in e[0]) == (family == "IPv6")]
            if len(families) == 1
            else _family(endpoints, family)
        )
        for index in range(0, max(len(chosen), 1), 40):
            part = chosen[index : index + 40]
            slice_name = f"{name}-{_suffix(name, family, str(index))}"
            out.append(_slice(slice_name, service, family, part, ports))
    return out


def _family(endpoints: list[tuple[str, str, str, str]], family: str) -> list[tuple[str, str, str, str]]:
    """Dual-stack: each IPv4 pod has an IPv6 address too (the lab answers on IPv4 only)."""
    if family == "IPv4":
        return endpoints
    return [
        (f"fd00:10:244::{i + 1:x}", pod, node_name, state)
        for i, (_, pod, node_name, state) in enumerate(endpoints)
    ]


def _more_endpoints(count: int) -> list[tuple[str, str, str, str]]:
    """Dual-stack's many endpoints: every 10th not ready, every 15th terminating (a rollout)."""
    out = []
    for i in range(count):
        state = "terminating" if i % 15 == 14 else "not-ready" if i % 10 == 9 else "ready"
        out.append(
            (
                f"10.244.{i // 200 + 4}.{i % 200 + 20}",
                f"coredns-5d78c9869d-e{i:04d}",
                f"node-{i % 3 + 1}",
                state,
            )
        )
    return out


def _slice(
    name: str,
    service: dict[str, Any],
    family: str,
    endpoints: list[tuple[str, str, str, str]],
    ports: list[dict[str, Any]],
) -> dict[str, Any]:
    svc, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    labels = {
        **(service["metadata"].get("labels") or {}),
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        "kubernetes.io/service-name": svc,
    }
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": meta(name, namespace, generateName=f"{svc}-", labels=labels, annotations={"endpoints.kubernetes.io/last-change-trigger-time": T0},
                         ownerReferences=[{"apiVersion": "v1", "kind": "Service", "name": svc, "uid": service["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]),
        "addressType": family,
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": {"ready": state == "ready", "serving": state != "not-ready", "terminating": state == "terminating"},
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod, "uid": uid(namespace, pod)},
                "nodeName": node_name,
            }
            for ip, pod, node_name, state in endpoints
        ],
        "ports": ports,
    }  # fmt: skip


def _kube_proxy(name: str, key: str, mode: str) -> dict[str, Any]:
    conf = (
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclusterCIDR: 10.244.0.0/16\n"
        "conntrack:\n  maxPerCore: null\n  min: null\n"
        'ipvs:\n  scheduler: ""\n  strictARP: false\n  udpTimeout: 0s\n'
        f'kind: KubeProxyConfiguration\nmode: "{mode}"\n'
    )
    return configmap(name, {key: conf})
