"""The ``node`` section: where the node's files are read."""

from __future__ import annotations

from typing import Any

from exporter.config import _reader as r
from exporter.config.model import NodeConfig


def parse_node(raw: Any, path: str) -> NodeConfig:
    doc = r.mapping(raw, path, ("procfs", "rootfs"))
    return NodeConfig(
        procfs=r.string(doc.get("procfs", "/proc"), r.join(path, "procfs")),
        rootfs=r.string(doc.get("rootfs", "/"), r.join(path, "rootfs")),
    )
