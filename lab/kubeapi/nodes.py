"""Nodes and metrics.k8s.io objects, as the API server and metrics-server return them."""

from __future__ import annotations

from typing import Any

from lab.kubeapi.objects import T0, meta


def node(
    name: str,
    *,
    cpu: str = "4",
    allocatable_cpu: str | None = None,
    memory: str = "16374584Ki",
    allocatable_memory: str | None = None,
    unschedulable: bool = False,
    address: str = "10.0.0.11",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    if unschedulable:
        spec["unschedulable"] = True
        spec["taints"] = [
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": T0}
        ]
    resources = {
        "ephemeral-storage": "101430960Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "110",
    }
    heartbeat = {"lastHeartbeatTime": T0, "lastTransitionTime": T0}
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": meta(
            name,
            namespace=None,
            labels={
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            annotations={
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        ),
        "spec": spec,
        "status": {
            "capacity": {**resources, "cpu": cpu, "memory": memory},
            "allocatable": {
                **resources,
                "cpu": allocatable_cpu or cpu,
                "memory": allocatable_memory or memory,
            },
            "conditions": [
                {**heartbeat, "type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
                {**heartbeat, "type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
                {**heartbeat, "type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
                {**heartbeat, "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"},
            ],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "6a1e1f7b0c2d4e5f8a9b0c1d2e3f4a5b",
                "systemUUID": "ec2b1a2c-3d4e-5f60-7182-93a4b5c6d7e8",
                "bootID": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
                "kernelVersion": "6.1.0-18-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.13",
                "kubeletVersion": "v1.30.1",
                "kubeProxyVersion": "v1.30.1",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": [
                {"names": ["registry.k8s.io/coredns/coredns:v1.11.1"], "sizeBytes": 18182961},
            ],
        },
    }  # fmt: skip


def pod_metrics(name: str, *, cpu: str, memory: str, namespace: str = "kube-system") -> dict[str, Any]:
    return {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": T0,
            "labels": {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"},
        },
        "timestamp": T0,
        "window": "10.281s",
        "containers": [{"name": "coredns", "usage": {"cpu": cpu, "memory": memory}}],
    }


def node_metrics(name: str, *, cpu: str, memory: str) -> dict[str, Any]:
    return {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name, "creationTimestamp": T0, "labels": {"kubernetes.io/hostname": name}},
        "timestamp": T0,
        "window": "20.044s",
        "usage": {"cpu": cpu, "memory": memory},
    }
