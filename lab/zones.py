"""The lab's DNS data: the cluster zone the CoreDNS stand-ins serve and the zones upstreams serve.

Addresses are from the documentation ranges (RFC 5737 / RFC 3849) and the
Service CIDR of a default cluster: they are only DNS data, nothing is sent to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Record = tuple[str, str]
"""(type, rdata text), e.g. ("A", "192.0.2.10")."""


@dataclass(frozen=True)
class Zone:
    name: str
    records: dict[str, tuple[Record, ...]] = field(default_factory=dict)
    """Owner name (absolute) -> records."""


HEADLESS_ENDPOINTS = 40
"""Enough A records that a UDP answer without EDNS (512 bytes) must be truncated."""

CLUSTER = Zone(
    "cluster.local.",
    {
        "kubernetes.default.svc.cluster.local.": (("A", "10.96.0.1"),),
        "kube-dns.kube-system.svc.cluster.local.": (("A", "10.96.0.10"),),
        "web.default.svc.cluster.local.": (("A", "10.96.12.7"),),
        "big-headless.default.svc.cluster.local.": tuple(
            ("A", f"10.244.{i // 200}.{i % 200 + 10}") for i in range(HEADLESS_ENDPOINTS)
        ),
    },
)

PUBLIC = (
    Zone(
        "example.org.",
        {
            "example.org.": (("A", "192.0.2.10"), ("AAAA", "2001:db8::10")),
            "www.example.org.": (("A", "192.0.2.11"),),
        },
    ),
    Zone("example.com.", {"example.com.": (("A", "198.51.100.20"),)}),
)

PRIVATE = Zone(
    "corp.internal.",
    {"db.corp.internal.": (("A", "10.20.0.5"),)},
)
"""A private zone that custom DNS servers serve and a cloud's default resolver does not."""

ELSEWHERE = (
    Zone(
        "example.org.",
        {
            "example.org.": (("A", "192.0.2.99"), ("AAAA", "2001:db8::99")),
            "www.example.org.": (("A", "192.0.2.99"),),
        },
    ),
    PUBLIC[1],
)
"""The public zones as a server with other data gives them (a stale copy, a hijacking resolver)."""

CHAINED = (
    Zone(
        "example.org.",
        {
            "example.org.": PUBLIC[0].records["example.org."],
            "www.example.org.": (("CNAME", "edge.example.org."),),
            "edge.example.org.": PUBLIC[0].records["www.example.org."],
        },
    ),
    PUBLIC[1],
)
"""The public zones with the same final answers, www.example.org. reached through a CNAME (as a CDN's
resolver gives it): a difference in detail, not in the answer."""
