"""What the test API server answers: get, list, watch, create, replace, delete."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.kubeapi.store import RESOURCES, Conflict, selects, selects_fields

if TYPE_CHECKING:
    from lab.kubeapi.server import KubeAPI, Request, _Handler


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def parse_path(path: str) -> tuple[str, str | None, str, str | None] | None:
    """``(groupVersion, namespace, resource, name)`` of an API path, or None."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group_version, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if len(rest) not in (1, 2):
        return None
    return group_version, namespace, rest[0], rest[1] if len(rest) == 2 else None


@dataclass
class Call:
    """One request, resolved: who answers, what it addresses, and the request itself."""

    handler: _Handler
    api: KubeAPI
    request: Request
    group_version: str
    namespace: str | None
    resource: str
    name: str | None

    @property
    def group(self) -> str:
        return self.group_version.rsplit("/", 1)[0] if "/" in self.group_version else ""

    @property
    def kind(self) -> str:
        return RESOURCES[(self.group_version, self.resource)][0]

    def reply(self, code: int, doc: dict[str, Any]) -> None:
        self.request.status = code
        self.handler.send_json(code, doc)

    def error(self, code: int, reason: str, message: str) -> None:
        self.reply(code, status_body(code, reason, message))


def handle(handler: _Handler, api: KubeAPI, request: Request, body: bytes) -> None:
    parsed = parse_path(request.path)
    if parsed is None or parsed[0] in api.faults.absent or (parsed[0], parsed[2]) not in RESOURCES:
        request.status = 404
        handler.send_text(404, "404 page not found\n")
        return
    call = Call(handler, api, request, *parsed)
    if f"{call.group}/{call.resource}" in api.faults.forbidden:
        _forbidden(call)
    elif request.method == "GET" and call.name is not None:
        obj = api.store.get(call.group_version, call.resource, call.namespace or "", call.name)
        if obj is None:
            call.error(404, "NotFound", f'{call.resource} "{call.name}" not found')
        else:
            call.reply(200, obj)
    elif request.method == "GET" and request.params.get("watch") == "true":
        _watch(call)
    elif request.method == "GET":
        _list(call)
    elif request.method == "POST":
        _create(call, json.loads(body))
    elif request.method == "PUT":
        _replace(call, json.loads(body))
    elif request.method == "DELETE":
        found = api.store.delete(call.group_version, call.resource, call.namespace or "", call.name or "")
        call.reply(
            200 if found else 404, status_body(200 if found else 404, "Success" if found else "NotFound", "")
        )


def _forbidden(call: Call) -> None:
    params = call.request.params
    verb = call.request.method.lower()
    if call.request.method == "GET":
        verb = "watch" if params.get("watch") == "true" else ("get" if call.name else "list")
    scope = f' in the namespace "{call.namespace}"' if call.namespace else " at the cluster scope"
    full = call.resource + (f".{call.group}" if call.group else "")
    message = (
        f'{full} is forbidden: User "system:serviceaccount:monitoring:k8s-dns-exporter" cannot {verb} '
        f'resource "{call.resource}" in API group "{call.group}"{scope}'
    )
    call.error(403, "Forbidden", message)


def _create(call: Call, obj: dict[str, Any]) -> None:
    store = call.api.store
    name = obj["metadata"]["name"]
    if store.get(call.group_version, call.resource, call.namespace or "", name) is not None:
        call.error(409, "AlreadyExists", f'{call.resource}.{call.group} "{name}" already exists')
        return
    obj.setdefault("apiVersion", call.group_version)
    obj.setdefault("kind", call.kind)
    obj["metadata"].setdefault("namespace", call.namespace)
    obj["metadata"].setdefault("uid", f"uid-{time.monotonic_ns()}")
    obj["metadata"].setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    call.reply(201, store.put(obj))


def _replace(call: Call, obj: dict[str, Any]) -> None:
    obj.setdefault("apiVersion", call.group_version)
    obj.setdefault("kind", call.kind)
    if call.api.store.get(call.group_version, call.resource, call.namespace or "", call.name or "") is None:
        call.error(404, "NotFound", f'{call.resource} "{call.name}" not found')
        return
    try:
        stored = call.api.store.put(obj, check_version=True)
    except Conflict:
        message = (
            f'Operation cannot be fulfilled on {call.resource}.{call.group} "{call.name}": the object has '
            "been modified; please apply your changes to the latest version and try again"
        )
        call.error(409, "Conflict", message)
        return
    call.reply(200, stored)


def _list(call: Call) -> None:
    api, params = call.api, call.request.params
    selector = params.get("labelSelector", "")
    token = params.get("continue")
    if token:
        snapshot = api.snapshot(token)
        if snapshot is None:
            message = "The provided continue parameter is too old to display a consistent list result."
            call.error(410, "Expired", message)
            return
        items, version = snapshot
    else:
        items, version = api.store.list(call.group_version, call.resource, call.namespace)
        fields = params.get("fieldSelector", "")
        items = [
            i
            for i in items
            if selects(selector, i.get("metadata", {}).get("labels") or {}) and selects_fields(fields, i)
        ]
    limit = int(params.get("limit") or 0)
    metadata: dict[str, Any] = {"resourceVersion": str(version)}
    if limit and len(items) > limit:
        rest = items[limit:]
        metadata["continue"] = api.take_snapshot(rest, version)
        if not selector:
            metadata["remainingItemCount"] = len(rest)
        items = items[:limit]
    call.reply(
        200,
        {"kind": f"{call.kind}List", "apiVersion": call.group_version, "metadata": metadata, "items": items},
    )


def _matches(call: Call, obj: dict[str, Any]) -> bool:
    if call.namespace and obj["metadata"].get("namespace") != call.namespace:
        return False
    params = call.request.params
    labels = obj["metadata"].get("labels") or {}
    return selects(params.get("labelSelector", ""), labels) and selects_fields(
        params.get("fieldSelector", ""), obj
    )


def _watch(call: Call) -> None:
    store, handler = call.api.store, call.handler
    since = int(call.request.params.get("resourceVersion") or 0)
    if since and since < store.compacted:
        call.error(410, "Expired", f"too old resource version: {since} ({store.compacted})")
        return
    call.request.status = 200
    handler.start_stream()
    try:
        sent = since
        if not since:  # no resourceVersion: the current objects first, as ADDED
            items, sent = store.list(call.group_version, call.resource, call.namespace)
            for obj in items:
                if _matches(call, obj):
                    handler.chunk({"type": "ADDED", "object": obj})
        _stream(call, sent)
        handler.end_stream()
    except OSError:
        handler.close_connection = True


def _stream(call: Call, sent: int) -> None:
    """Send events after resourceVersion ``sent`` (and bookmarks) until the watch times out or is cut."""
    api, params, store, handler = call.api, call.request.params, call.api.store, call.handler
    deadline = time.monotonic() + min(float(params.get("timeoutSeconds") or 1800), api.watch_cap)
    generation = api.watch_generation
    bookmarks = params.get("allowWatchBookmarks") == "true"
    last_bookmark = time.monotonic()
    while time.monotonic() < deadline:
        with store.lock:
            if api.watch_generation != generation:
                if store.compacted > sent:
                    gone = status_body(
                        410, "Expired", f"too old resource version: {sent} ({store.compacted})"
                    )
                    handler.chunk({"type": "ERROR", "object": gone})
                return
            if not any(e.version > sent for e in store.events):
                store.lock.wait(0.1)
            pending = [e for e in store.events if e.version > sent]
            current = store.version
        for event in pending:
            ours = (event.group_version, event.resource) == (call.group_version, call.resource)
            if ours and _matches(call, event.object):
                handler.chunk({"type": event.type, "object": event.object})
        sent = max(sent, current)
        if bookmarks and time.monotonic() - last_bookmark >= api.bookmark_every:
            mark = {
                "kind": call.kind,
                "apiVersion": call.group_version,
                "metadata": {"resourceVersion": str(sent)},
            }
            handler.chunk({"type": "BOOKMARK", "object": mark})
            call.request.bookmarks += 1
            last_bookmark = time.monotonic()
