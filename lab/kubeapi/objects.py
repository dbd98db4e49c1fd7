"""API objects as a kube-apiserver (v1.30) returns them, with every field the real client requires."""

from __future__ import annotations

import hashlib
from typing import Any

NS = "kube-system"
T0 = "2024-05-02T08:14:03Z"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.1"
IMAGE_DIGEST = "sha256:1eeb4c7316bacb1d4c8ead65571cd92dd21e27359f0d4917f1a5822a73b75db1"


def uid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def meta(name: str, namespace: str | None = NS, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "uid": uid(namespace or "", name), "creationTimestamp": T0}
    if namespace is not None:
        out["namespace"] = namespace
    out.update(extra)
    return out


def _condition(kind: str, ok: bool, when: str = T0) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }


def coredns_pod(
    name: str,
    *,
    node: str,
    ip: str,
    ready: bool = True,
    restarts: int = 0,
    image: str = COREDNS_IMAGE,
    waiting: str | None = None,
    last_terminated: tuple[str, str] | None = None,
    start_time: str = T0,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A CoreDNS pod of the kubeadm Deployment; ``last_terminated`` is (reason, finishedAt)."""
    template_hash = "5d78c9869d"
    state: dict[str, Any] = (
        {"waiting": {"reason": waiting, "message": "back-off 5m0s restarting failed container=coredns"}}
        if waiting
        else {"running": {"startedAt": start_time}}
    )
    last: dict[str, Any] = {}
    if last_terminated:
        reason, finished = last_terminated
        last = {
            "terminated": {
                "exitCode": 137 if reason == "OOMKilled" else 1,
                "reason": reason,
                "startedAt": start_time,
                "finishedAt": finished,
                "containerID": f"containerd://{uid(name, 'previous').replace('-', '')}",
            }
        }
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta(
            name,
            generateName=f"coredns-{template_hash}-",
            labels=labels or {"k8s-app": "kube-dns", "pod-template-hash": template_hash},
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"coredns-{template_hash}",
                    "uid": uid(NS, f"coredns-{template_hash}"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            managedFields=[
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": T0,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:generateName": {}}},
                }
            ],
        ),
        "spec": {
            "volumes": [
                {
                    "name": "config-volume",
                    "configMap": {
                        "name": "coredns",
                        "items": [{"key": "Corefile", "path": "Corefile"}],
                        "defaultMode": 420,
                    },
                },
                {
                    "name": "kube-api-access-x7k2q",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                        "defaultMode": 420,
                    },
                },
            ],
            "containers": [
                {
                    "name": "coredns",
                    "image": image,
                    "args": ["-conf", "/etc/coredns/Corefile"],
                    "ports": [
                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                    ],
                    "resources": {
                        "limits": limits if limits is not None else {"memory": "170Mi"},
                        "requests": requests if requests is not None else {"cpu": "100m", "memory": "70Mi"},
                    },
                    "volumeMounts": [
                        {"name": "config-volume", "readOnly": True, "mountPath": "/etc/coredns"},
                        {
                            "name": "kube-api-access-x7k2q",
                            "readOnly": True,
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        },
                    ],
                    "livenessProbe": {
                        "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                        "initialDelaySeconds": 60,
                        "timeoutSeconds": 5,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "failureThreshold": 5,
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
                        "timeoutSeconds": 1,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                    "securityContext": {
                        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                    },
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "Default",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "serviceAccountName": "coredns",
            "serviceAccount": "coredns",
            "nodeName": node,
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
            ],
            "priorityClassName": "system-cluster-critical",
            "priority": 2000000000,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                _condition("PodReadyToStartContainers", True),
                _condition("Initialized", True),
                _condition("Ready", ready),
                _condition("ContainersReady", ready),
                _condition("PodScheduled", True),
            ],
            "hostIP": "10.0.0.11",
            "hostIPs": [{"ip": "10.0.0.11"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": start_time,
            "containerStatuses": [
                {
                    "name": "coredns",
                    "state": state,
                    "lastState": last,
                    "ready": ready,
                    "restartCount": restarts,
                    "image": image,
                    "imageID": f"{image.rsplit(':', 1)[0]}@{IMAGE_DIGEST}",
                    "containerID": f"containerd://{uid(name).replace('-', '')}",
                    "started": waiting is None,
                }
            ],
            "qosClass": "Burstable",
        },
    }
