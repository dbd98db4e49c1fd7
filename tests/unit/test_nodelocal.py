"""A node cache run as a node service is told from the pod's resolv.conf, never from a cloud's resolver."""

from __future__ import annotations

import pytest

from exporter.targets.nodelocal import _node_service


@pytest.mark.parametrize(
    ("nameservers", "found"),
    [
        (("169.254.10.11",), "169.254.10.11:53"),  # AKS LocalDNS
        (("10.96.0.10", "169.254.25.10"), "169.254.25.10:53"),
        (("169.254.169.253",), None),  # AWS's instance resolver: link-local, no node cache
        (("169.254.169.254",), None),  # GCE's metadata server
        (("10.96.0.10",), None),  # the cluster DNS Service itself
    ],
)
def test_a_link_local_nameserver_is_a_node_cache_unless_a_clouds_resolver(
    nameservers: tuple[str, ...], found: str | None
) -> None:
    cache = _node_service(nameservers, 53, ("10.96.0.10",))
    assert [str(s) for s in cache.servers] == ([found] if found else [])
