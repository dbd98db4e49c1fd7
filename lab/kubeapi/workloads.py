"""Services, EndpointSlices, ConfigMaps, DaemonSets, StatefulSets and NetworkPolicies."""

from __future__ import annotations

from typing import Any

from lab.kubeapi.objects import NS, T0, meta, uid


def service(
    name: str,
    *,
    namespace: str = "default",
    cluster_ip: str = "10.96.12.34",
    port: int = 80,
    affinity: str = "None",
    annotations: dict[str, str] | None = None,
    selector: dict[str, str] | None = None,
    dns: bool = False,
    publish_not_ready: bool = False,
) -> dict[str, Any]:
    """A ClusterIP Service (``cluster_ip="None"``: headless); ``dns`` gives it kube-dns's three ports."""
    ports = (
        [
            {"name": "dns", "protocol": "UDP", "port": port, "targetPort": port},
            {"name": "dns-tcp", "protocol": "TCP", "port": port, "targetPort": port},
            {"name": "metrics", "protocol": "TCP", "port": 9153, "targetPort": 9153},
        ]
        if dns
        else [{"name": "http", "protocol": "TCP", "port": port, "targetPort": port}]
    )
    extra: dict[str, Any] = {"labels": {"k8s-app": name}}
    if annotations:
        extra["annotations"] = annotations
    spec: dict[str, Any] = {
        "ports": ports,
        "selector": selector or {"app": name},
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "type": "ClusterIP",
        "sessionAffinity": affinity,
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "internalTrafficPolicy": "Cluster",
    }
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    if affinity == "ClientIP":
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": meta(name, namespace, **extra),
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def endpoint_slice(
    name: str,
    endpoints: list[tuple[str, str, str]],
    *,
    port: int = 53,
    service: str = "kube-dns",
    ready: bool = True,
) -> dict[str, Any]:
    """The EndpointSlice of a Service; ``endpoints`` are (pod IP, pod name, node name)."""
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": meta(
            name,
            generateName=f"{service}-",
            labels={
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
                "kubernetes.io/service-name": service,
            },
            annotations={"endpoints.kubernetes.io/last-change-trigger-time": T0},
            ownerReferences=[
                {"apiVersion": "v1", "kind": "Service", "name": service, "uid": uid(NS, service), "controller": True, "blockOwnerDeletion": True}
            ],
        ),
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": NS, "name": pod, "uid": uid(NS, pod)},
                "nodeName": node_name,
            }
            for ip, pod, node_name in endpoints
        ],
        "ports": [
            {"name": "dns-tcp", "protocol": "TCP", "port": port},
            {"name": "dns", "protocol": "UDP", "port": port},
            {"name": "metrics", "protocol": "TCP", "port": 9153},
        ],
    }  # fmt: skip


def configmap(name: str, data: dict[str, str], *, namespace: str = NS) -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(name, namespace), "data": data}


def kube_proxy_configmap(mode: str) -> dict[str, Any]:
    conf = (
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
        "bindAddress: 0.0.0.0\n"
        "clusterCIDR: 10.244.0.0/16\n"
        "conntrack:\n  maxPerCore: null\n  min: null\n"
        'ipvs:\n  scheduler: ""\n  strictARP: false\n  udpTimeout: 0s\n'
        "kind: KubeProxyConfiguration\n"
        f'mode: "{mode}"\n'
    )
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: default\n"
    return configmap("kube-proxy", {"config.conf": conf, "kubeconfig.conf": kubeconfig})


def daemonset(name: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    selector = labels or {"k8s-app": name}
    return {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": meta(name, generation=1, labels=selector),
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": selector},
                "spec": {
                    "containers": [
                        {
                            "name": "node-cache",
                            "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1",
                            "args": ["-localip", "169.254.20.10,10.96.0.10", "-conf", "/etc/Corefile", "-upstreamsvc", "kube-dns-upstream"],
                            "resources": {"requests": {"cpu": "25m", "memory": "5Mi"}},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "imagePullPolicy": "IfNotPresent",
                        }
                    ],
                    "restartPolicy": "Always",
                    "dnsPolicy": "Default",
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                },
            },
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}},
            "revisionHistoryLimit": 10,
        },
        "status": {
            "currentNumberScheduled": 3,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 3,
            "numberReady": 3,
            "observedGeneration": 1,
            "updatedNumberScheduled": 3,
            "numberAvailable": 3,
        },
    }  # fmt: skip


def statefulset(name: str, *, namespace: str = "default", service_name: str | None = None) -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "replicas": 3,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"creationTimestamp": None, "labels": labels},
            "spec": {"containers": [{"name": name, "image": f"docker.io/library/{name}:7", "resources": {}}]},
        },
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    }
    if service_name is not None:
        spec["serviceName"] = service_name
    return {
        "kind": "StatefulSet",
        "apiVersion": "apps/v1",
        "metadata": meta(name, namespace, generation=1, labels=labels),
        "spec": spec,
        "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3},
    }  # fmt: skip


def network_policy(name: str, *, selector: dict[str, str], dns_port: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    }
    rule["ports"] = (
        [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
        if dns_port
        else [{"protocol": "TCP", "port": 9153}]
    )
    return {
        "kind": "NetworkPolicy",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": meta(name, generation=1),
        "spec": {"podSelector": {"matchLabels": selector}, "ingress": [rule], "policyTypes": ["Ingress"]},
    }  # fmt: skip


def disruption_budget(
    name: str, *, selector: dict[str, str], max_unavailable: int, pods: int = 2
) -> dict[str, Any]:
    """A policy/v1 PodDisruptionBudget with the status the disruption controller writes for ``pods``."""
    allowed = min(max_unavailable, pods)
    return {
        "kind": "PodDisruptionBudget",
        "apiVersion": "policy/v1",
        "metadata": meta(name, generation=1),
        "spec": {"selector": {"matchLabels": selector}, "maxUnavailable": max_unavailable},
        "status": {
            "observedGeneration": 1,
            "disruptionsAllowed": allowed,
            "currentHealthy": pods,
            "desiredHealthy": pods - max_unavailable,
            "expectedPods": pods,
            "conditions": [
                {"type": "DisruptionAllowed", "status": "True" if allowed else "False", "reason": "SufficientPods",
                 "message": "", "observedGeneration": 1, "lastTransitionTime": T0}
            ],
        },
    }  # fmt: skip
