"""The ``log`` section: level and format of the exporter's own logs."""

from __future__ import annotations

from typing import Any

from exporter.config import _reader as r
from exporter.config.model import LogConfig


def parse_log(raw: Any, path: str) -> LogConfig:
    doc = r.mapping(raw, path, ("level", "format"))
    return LogConfig(
        level=r.string(
            doc.get("level", "info"),
            r.join(path, "level"),  # type: ignore[arg-type]
            choices=("debug", "info", "warning", "error"),
        ),
        format=r.string(
            doc.get("format", "auto"),
            r.join(path, "format"),  # type: ignore[arg-type]
            choices=("auto", "json", "console"),
        ),
    )
