"""A strict YAML loader: safe types only, duplicate keys rejected."""

from __future__ import annotations

from typing import Any

import yaml

from exporter.config._reader import ConfigError


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mark = key_node.start_mark
        try:
            hash(key)
        except TypeError:  # a mapping or a list as a key (``{{}}``, ``? [a]``)
            raise ConfigError(
                "",
                f"YAML key at line {mark.line + 1}, column {mark.column + 1} is a "
                f"{type(key).__name__}, not a plain value",
            ) from None
        if key in result:
            raise ConfigError(
                "",
                f"duplicate key {key!r} at line {mark.line + 1}, column {mark.column + 1}",
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML text; syntax errors become a :class:`ConfigError` with line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("", f"invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError("", f"invalid YAML: {exc}") from None
