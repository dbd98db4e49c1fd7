"""The ``node`` section: where the node's files are read."""

from __future__ import annotations

from typing import Any

from exporter.config import _reader as r
from exporter.config.model import NodeConfig


def parse_node(raw: Any, path: str) -> NodeConfig:
    doc = r.mapping(raw, path, ("procfs", "rootfs"))
    base = NodeConfig()
    return NodeConfig(
        procfs=r.given(doc, path, "procfs", r.string, base.procfs),
        rootfs=r.given(doc, path, "rootfs", r.string, base.rootfs),
    )
