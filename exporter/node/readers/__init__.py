"""The node's readers, one module per file group, each declaring its sources (``SOURCES``).

Like node_exporter's collectors, a reader registers itself by name: every module of this
package that declares ``SOURCES`` (a tuple of :class:`~exporter.node.source.Source`) is
found here, so adding a reader is adding its module. :data:`SOURCES` maps each collector
name to its source, in module order.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from exporter.node.source import Source


def discover() -> dict[str, Source[Any]]:
    found: dict[str, Source[Any]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for source in getattr(module, "SOURCES", ()):
            if not isinstance(source, Source):
                raise TypeError(f"{module.__name__}.SOURCES holds {source!r}, not a Source")
            if source.name in found:
                raise ValueError(f"two node sources are called {source.name!r}")
            found[source.name] = source
    return found


SOURCES: dict[str, Source[Any]] = discover()
"""Collector name (the ``collector`` label) -> its source."""
