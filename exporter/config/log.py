"""The ``log`` section: level and format of the exporter's own logs."""

from __future__ import annotations

from functools import partial
from typing import Any

from exporter.config import _reader as r
from exporter.config.model import LogConfig

_LEVELS = ("debug", "info", "warning", "error")
_FORMATS = ("auto", "json", "console")


def parse_log(raw: Any, path: str) -> LogConfig:
    doc = r.mapping(raw, path, ("level", "format"))
    base = LogConfig()
    level = r.given(doc, path, "level", partial(r.string, choices=_LEVELS), base.level)
    form = r.given(doc, path, "format", partial(r.string, choices=_FORMATS), base.format)
    return LogConfig(level=level, format=form)  # type: ignore[arg-type]
