"""resolv.conf parsing and the glibc search order."""

from __future__ import annotations

import pytest

from exporter.probe.resolver import try_timeout
from exporter.resolvconf import candidates, node_local_address, parse_resolv_conf

AKS_POD = """\
search default.svc.cluster.local svc.cluster.local cluster.local 00idcnmrrm4edot5s2or1onxsc.bx.internal.cloudapp.net
nameserver 10.0.0.10
options ndots:5
"""


def test_a_pod_resolv_conf() -> None:
    conf = parse_resolv_conf(AKS_POD)
    assert conf.nameservers == ("10.0.0.10",)
    assert conf.search[:3] == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert (conf.ndots, conf.timeout, conf.attempts) == (5, 5, 2)
    assert conf.warnings == ()


def test_a_nodelocal_dnsconfig() -> None:
    conf = parse_resolv_conf(
        "nameserver 169.254.20.10\nnameserver 172.21.0.10\n"
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:3 timeout:1 attempts:2 single-request-reopen use-vc\n"
    )
    assert conf.used_nameservers == ("169.254.20.10", "172.21.0.10")
    assert (conf.ndots, conf.timeout, conf.attempts) == (3, 1, 2)
    assert conf.flags == {"single-request-reopen", "use-vc"}


def test_what_glibc_ignores_becomes_a_warning() -> None:
    conf = parse_resolv_conf(
        "# comment\n; also a comment\n"
        "nameserver 10.0.0.1\nnameserver not-an-ip\nnameserver fe80::1%eth0\n"
        "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver\n"
        "options ndots:99 timeout:0 attempts:x frobnicate\n"
        "bogus line\n"
    )
    assert conf.nameservers == ("10.0.0.1", "fe80::1", "10.0.0.2", "10.0.0.3")
    assert conf.used_nameservers == ("10.0.0.1", "fe80::1", "10.0.0.2")
    assert conf.ndots == 15  # clamped like glibc
    assert conf.timeout == 1
    assert conf.attempts == 2
    assert conf.warnings == (
        "line 4: 'not-an-ip' is not an IP address",
        "line 8: nameserver without an address",
        "line 10: unknown keyword 'bogus'",
        "4 nameservers listed; glibc uses only the first 3",
        "option 'attempts:x' has no valid number",
        "unknown option 'frobnicate'",
    )


def test_last_search_or_domain_line_wins() -> None:
    assert parse_resolv_conf("search a.example b.example\ndomain c.example\n").search == ("c.example",)
    assert parse_resolv_conf("domain c.example\nsearch a.example. b.example\n").search == (
        "a.example",
        "b.example",
    )


def test_empty_file() -> None:
    conf = parse_resolv_conf("")
    assert (conf.nameservers, conf.search, conf.ndots) == ((), (), 1)


POD = parse_resolv_conf(
    "nameserver 10.0.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n"
    "options ndots:5\n"
)


@pytest.mark.parametrize(
    ("name", "tried"),
    [
        # Fewer dots than ndots: every search domain first, the name as-is last.
        (
            "example.org",
            [
                "example.org.default.svc.cluster.local.",
                "example.org.svc.cluster.local.",
                "example.org.cluster.local.",
                "example.org.",
            ],
        ),
        (
            "kubernetes.default",
            [
                "kubernetes.default.default.svc.cluster.local.",
                "kubernetes.default.svc.cluster.local.",
                "kubernetes.default.cluster.local.",
                "kubernetes.default.",
            ],
        ),
        # As many dots as ndots: the name as-is first.
        (
            "a.b.c.d.example.org",
            [
                "a.b.c.d.example.org.",
                "a.b.c.d.example.org.default.svc.cluster.local.",
                "a.b.c.d.example.org.svc.cluster.local.",
                "a.b.c.d.example.org.cluster.local.",
            ],
        ),
        # A trailing dot: only the name itself.
        ("example.org.", ["example.org."]),
    ],
)
def test_search_order_is_glibcs(name: str, tried: list[str]) -> None:
    assert candidates(name, POD) == tuple(tried)


def test_no_tld_query_skips_single_label_as_is() -> None:
    conf = parse_resolv_conf("search svc.cluster.local\noptions ndots:1 no-tld-query\n")
    assert candidates("web", conf) == ("web.svc.cluster.local.",)
    assert candidates("web.default", conf) == ("web.default.", "web.default.svc.cluster.local.")


@pytest.mark.parametrize(
    ("timeout", "servers", "waits"),
    [
        (5, 1, [5]),
        (5, 2, [5, 5]),
        (5, 3, [5, 3, 6]),
        (1, 3, [1, 1, 1]),
        (2, 3, [2, 1, 2]),
        (30, 3, [30, 20, 40]),
    ],
)
def test_each_nameserver_waits_what_glibc_send_dg_computes(
    timeout: int, servers: int, waits: list[int]
) -> None:
    # resolv/res_send.c (2.36), send_dg: seconds = retrans << ns; if ns > 0: seconds /= nscount; at least 1.
    assert [try_timeout(timeout, ns, servers) for ns in range(servers)] == waits


@pytest.mark.parametrize(
    ("host", "node_cache"),
    [
        ("169.254.20.10", True),  # NodeLocal DNSCache
        ("169.254.25.10", True),  # kubespray's nodelocaldns
        ("169.254.10.11", True),  # AKS LocalDNS, the pods' address
        ("169.254.169.253", False),  # AWS's instance resolver: link-local, off the cluster
        ("169.254.169.254", False),  # GCE's metadata server, which answers DNS too
        ("10.96.0.10", False),
        ("not-an-address", False),
    ],
)
def test_node_cache_addresses_leave_out_the_clouds_instance_resolvers(host: str, node_cache: bool) -> None:
    assert node_local_address(host) is node_cache
