"""The objects the test API server holds, with resourceVersions and an event history for watches."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

# (groupVersion, resource) -> (kind, namespaced)
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "pods"): ("Pod", True),
    ("v1", "services"): ("Service", True),
    ("v1", "configmaps"): ("ConfigMap", True),
    ("v1", "nodes"): ("Node", False),
    ("apps/v1", "daemonsets"): ("DaemonSet", True),
    ("apps/v1", "statefulsets"): ("StatefulSet", True),
    ("apps/v1", "deployments"): ("Deployment", True),
    ("discovery.k8s.io/v1", "endpointslices"): ("EndpointSlice", True),
    ("networking.k8s.io/v1", "networkpolicies"): ("NetworkPolicy", True),
    ("policy/v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("coordination.k8s.io/v1", "leases"): ("Lease", True),
    ("metrics.k8s.io/v1beta1", "pods"): ("PodMetrics", True),
    ("metrics.k8s.io/v1beta1", "nodes"): ("NodeMetrics", False),
}
KIND_TO_RESOURCE = {(gv, kind): resource for (gv, resource), (kind, _) in RESOURCES.items()}


class Conflict(Exception):
    pass


@dataclass
class Event:
    version: int
    group_version: str
    resource: str
    type: str
    object: dict[str, Any]


class Store:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.version = 100
        self.compacted = 0
        """Watches from a resourceVersion below this get 410 Gone."""
        self.objects: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self.events: list[Event] = []

    def put(self, obj: dict[str, Any], *, emit: bool = True, check_version: bool = False) -> dict[str, Any]:
        """Create or replace ``obj`` (its apiVersion and kind say where); returns the stored copy."""
        group_version, resource, namespace, name = self.key_of(obj)
        with self.lock:
            bucket = self.objects.setdefault((group_version, resource), {})
            old = bucket.get((namespace, name))
            if check_version and old is not None:
                sent = obj.get("metadata", {}).get("resourceVersion")
                if sent != old["metadata"]["resourceVersion"]:
                    raise Conflict(name)
            self.version += 1
            stored = copy.deepcopy(obj)
            meta = stored.setdefault("metadata", {})
            meta["resourceVersion"] = str(self.version)
            if old is not None:
                meta.setdefault("uid", old["metadata"].get("uid"))
                meta.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp"))
            bucket[(namespace, name)] = stored
            if emit:
                kind = "MODIFIED" if old is not None else "ADDED"
                self.events.append(Event(self.version, group_version, resource, kind, copy.deepcopy(stored)))
            self.lock.notify_all()
            return copy.deepcopy(stored)

    def delete(
        self, group_version: str, resource: str, namespace: str, name: str, *, emit: bool = True
    ) -> bool:
        with self.lock:
            bucket = self.objects.get((group_version, resource), {})
            old = bucket.pop((namespace, name), None)
            if old is None:
                return False
            self.version += 1
            if emit:
                gone = copy.deepcopy(old)
                gone["metadata"]["resourceVersion"] = str(self.version)
                self.events.append(Event(self.version, group_version, resource, "DELETED", gone))
            self.lock.notify_all()
            return True

    def get(self, group_version: str, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.objects.get((group_version, resource), {}).get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def list(
        self, group_version: str, resource: str, namespace: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            bucket = self.objects.get((group_version, resource), {})
            items = [copy.deepcopy(o) for (ns, _), o in sorted(bucket.items()) if namespace in (None, ns)]
            return items, self.version

    def compact(self) -> None:
        """Forget the history: every resourceVersion up to now is too old to watch from."""
        with self.lock:
            self.compacted = self.version
            self.events.clear()
            self.lock.notify_all()

    @staticmethod
    def key_of(obj: dict[str, Any]) -> tuple[str, str, str, str]:
        group_version = obj["apiVersion"]
        resource = KIND_TO_RESOURCE[(group_version, obj["kind"])]
        namespaced = RESOURCES[(group_version, resource)][1]
        meta = obj["metadata"]
        return group_version, resource, meta.get("namespace", "") if namespaced else "", meta["name"]


def selects(selector: str, labels: dict[str, str]) -> bool:
    """A label selector with ``k=v``, ``k==v``, ``k!=v``, ``k`` and ``!k`` terms."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def selects_fields(selector: str, obj: dict[str, Any]) -> bool:
    """A field selector (``spec.nodeName=node-1``, ``status.phase!=Failed``) on dotted paths."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        path, value = term.replace("!=", "=").replace("==", "=").split("=", 1)
        current: Any = obj
        for part in path.strip().split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if (str(current) if current is not None else "") == value.strip():
            if negate:
                return False
        elif not negate:
            return False
    return True
