"""What requests to the test Kubernetes API asked for: in RBAC's terms (group, namespace,
resource, name and verb), and the Lease reads of standbys."""

from __future__ import annotations

from exporter.kube.rbac import Rule, allows, rules
from lab.kubeapi.handlers import parse_path
from lab.kubeapi.server import Request


def described(request: Request) -> tuple[str, str | None, str, str | None]:
    """(API group, namespace, resource, name) of one request."""
    parsed = parse_path(request.path)
    assert parsed is not None, request.path
    group_version, namespace, resource, name = parsed
    return group_version.rsplit("/", 1)[0] if "/" in group_version else "", namespace, resource, name


def verb(request: Request) -> str:
    """The RBAC verb of one request: get, list, watch, create, update or delete."""
    if request.method == "GET":
        if request.params.get("watch") == "true":
            return "watch"
        return "get" if (parse_path(request.path) or ("", None, "", None))[3] else "list"
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}[request.method]


def standby_lease_reads(requests: list[Request]) -> int:
    """How many times, at least, a standby read the Lease in ``requests``.

    The holder reads the Lease, then writes its renewal; a standby only reads. So the reads beyond
    the writes are the standbys', but for the holder's last read, whose write may not have come yet.
    """
    lease = [r.method for r in requests if "/leases/" in r.path]
    return max(0, lease.count("GET") - lease.count("PUT") - 1)


def uncovered(requests: list[Request], mode: str, granted: tuple[Rule, ...] | None = None) -> list[str]:
    """The requests the RBAC ``granted`` (default: what ``mode`` is generated) would refuse."""
    granted = rules(mode) if granted is None else granted
    missing = []
    for request in requests:
        group, namespace, resource, name = described(request)
        if not allows(
            granted, api_group=group, resource=resource, verb=verb(request), namespace=namespace, name=name
        ):
            missing.append(f"{verb(request)} {request.path}")
    return missing
