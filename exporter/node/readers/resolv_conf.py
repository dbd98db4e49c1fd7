"""The node's resolver file: the servers the node, and CoreDNS through ``forward . /etc/resolv.conf``, use.

With systemd-resolved, ``/etc/resolv.conf`` lists only the local stub
(127.0.0.53); the servers behind it are in ``/run/systemd/resolve/resolv.conf``,
which is also the file kubelet hands to pods with ``dnsPolicy: Default``. So that
file is read first, and ``/etc/resolv.conf`` only when it is absent.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from exporter.node.paths import CorruptFile, NodePaths, read_text
from exporter.node.source import Source
from exporter.resolvconf import ResolvConf, parse_resolv_conf

CANDIDATES = ("/run/systemd/resolve/resolv.conf", "/etc/resolv.conf")
AZURE_DNS = "168.63.129.16"
"""Azure's platform resolver: it does not serve the zones of custom DNS servers."""


@dataclass(frozen=True, slots=True)
class NodeResolvConf:
    file: str
    """The host path read (``/run/systemd/resolve/resolv.conf`` or ``/etc/resolv.conf``)."""
    conf: ResolvConf
    modified: float
    """The file's mtime (Unix seconds): when the node's DNS settings were last written."""
    identity: tuple[int, ...] = field(default=(), compare=False, repr=False)
    """The file as read (device, inode, size, mtime and ctime in ns): unchanged, it need not be read again."""

    @property
    def azure_dns_mixed(self) -> bool:
        """Azure DNS listed beside other servers: names only the others serve fail at random."""
        servers = set(self.conf.nameservers)
        return AZURE_DNS in servers and len(servers) > 1


def read_node_resolv_conf(paths: NodePaths) -> NodeResolvConf:
    """The first candidate file that exists. Raises ``FileNotFoundError`` when none does."""
    for file in CANDIDATES:
        mounted = paths.host(file)
        try:
            text = read_text(mounted)
            stat = os.stat(mounted)
        except FileNotFoundError:
            continue
        conf = parse_resolv_conf(text)
        if "\x00" in text or (not conf.nameservers and conf.warnings):
            raise CorruptFile(mounted, "no valid nameserver line; " + "; ".join(conf.warnings[:3]))
        return NodeResolvConf(file=file, conf=conf, modified=stat.st_mtime, identity=_identity(stat))
    tried = " or ".join(paths.host(file) for file in CANDIDATES)
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), tried)


def unchanged(paths: NodePaths, last: NodeResolvConf) -> bool:
    """``last`` still holds: no earlier candidate appeared, and its file is the same inode, size
    and times (a rewrite, in place or by rename, changes them)."""
    for file in CANDIDATES:
        try:
            stat = os.stat(paths.host(file))
        except OSError:
            if file == last.file:
                return False
            continue
        return file == last.file and _identity(stat) == last.identity
    return False


def _identity(stat: os.stat_result) -> tuple[int, ...]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


RESOLV_CONF: Source[NodeResolvConf] = Source("node_resolv_conf", read_node_resolv_conf, unchanged)
SOURCES = (RESOLV_CONF,)
