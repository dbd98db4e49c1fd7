"""Validation helpers for the config loader.

Every helper takes the raw YAML value and the field path it came from, and
either returns a typed value or raises :class:`ConfigError` naming that path
and the reason, e.g. ``names[2].type: 'AAA' is not a DNS type``.

No default is written here or in a parser: :func:`given` parses a key only when it is
written, and otherwise hands back the dataclass's own typed default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

_T = TypeVar("_T")
_D = TypeVar("_D")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """A config value is invalid. ``str()`` gives ``<field>: <reason>``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def join(path: str, key: str | int) -> str:
    """Extend a field path: ``join("names", 2)`` is ``names[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def mapping(raw: Any, path: str, allowed: Iterable[str]) -> Mapping[str, Any]:
    """A mapping whose keys are all in ``allowed``; ``None`` reads as empty."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(path or "config", f"expected a mapping, got {_kind(raw)}")
    known = set(allowed)
    for key in raw:
        if not isinstance(key, str):
            raise ConfigError(path or "config", f"keys must be strings, got {key!r}")
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(join(path, key), f"unknown key (expected one of: {hint})")
    return raw


def given(
    doc: Mapping[str, Any], path: str, key: str, parse: Callable[[Any, str], _T], default: _D
) -> _T | _D:
    """``parse(doc[key], "<path>.<key>")`` when the key is written, else ``default`` as it is.

    ``default`` is the dataclass's own value, already typed (seconds, not ``'15s'``): every
    default is written once, in :mod:`exporter.config.model`, and no parser writes it again.
    """
    if key not in doc:
        return default
    return parse(doc[key], join(path, key))


def field_default(cls: type[Any], name: str) -> Any:
    """The declared default of one field, for a dataclass that needs arguments to be built."""
    for field in dataclasses.fields(cls):
        if field.name == name and field.default is not dataclasses.MISSING:
            return field.default
    raise LookupError(f"{cls.__name__}.{name} has no plain default")


def sequence(raw: Any, path: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ConfigError(path, f"expected a list, got {_kind(raw)}")
    return raw


def string(raw: Any, path: str, *, choices: Iterable[str] | None = None) -> str:
    if not isinstance(raw, str) or not raw:
        raise ConfigError(path, f"expected a non-empty string, got {_kind(raw)}")
    if choices is not None:
        allowed = tuple(choices)
        if raw not in allowed:
            raise ConfigError(path, f"{raw!r} is not one of: {', '.join(allowed)}")
    return raw


def boolean(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(path, f"expected true or false, got {_kind(raw)}")
    return raw


def integer(raw: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ConfigError(path, f"expected an integer, got {_kind(raw)}")
    if not low <= raw <= high:
        raise ConfigError(path, f"{raw} is out of range [{low}, {high}]")
    return raw


def number(raw: Any, path: str, *, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(path, f"expected a number, got {_kind(raw)}")
    value = float(raw)
    if not low <= value <= high:
        raise ConfigError(path, f"{raw} is out of range [{low}, {high}]")
    return value


def duration(raw: Any, path: str, *, low: float = 0.0, high: float = 86400.0) -> float:
    """Seconds from a Go-style duration string: ``5s``, ``250ms``, ``1m30s``."""
    if isinstance(raw, bool | int | float):
        raise ConfigError(path, f"{raw!r} has no unit; write it like '5s' or '250ms'")
    if not isinstance(raw, str) or not raw:
        raise ConfigError(path, f"expected a duration like '5s' or '250ms', got {_kind(raw)}")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(raw):
        raise ConfigError(path, f"{raw!r} is not a duration (use units ms, s, m, h, e.g. '5s')")
    if not low <= total <= high:
        raise ConfigError(path, f"{raw!r} is out of range [{_fmt(low)}, {_fmt(high)}]")
    return total


def within(seconds: float, path: str, *, low: float, high: float) -> float:
    """A default duration held to bounds that follow another value, as :func:`duration` holds a written one.

    The message quotes the default as it would be written: ``'5m' is out of range [600s, 86400s]``.
    """
    if not low <= seconds <= high:
        raise ConfigError(path, f"{duration_text(seconds)!r} is out of range [{_fmt(low)}, {_fmt(high)}]")
    return seconds


def duration_text(seconds: float) -> str:
    """``seconds`` written in its largest whole unit: ``300.0`` is ``5m``, ``0.25`` is ``250ms``."""
    for unit in ("h", "m", "s"):
        count = seconds / _UNIT_SECONDS[unit]
        if count >= 1 and count.is_integer():
            return f"{count:.0f}{unit}"
    return f"{seconds * 1000:g}ms"


def host_port(
    raw: Any, path: str, *, default_port: int | None = None, allow_port_zero: bool = False
) -> tuple[str, int]:
    """``IP:port``, ``[IPv6]:port``, or a bare IP when ``default_port`` is given.

    Only IP literals are accepted: probing a server by name would need DNS to
    reach DNS, which is exactly what may be broken.
    """
    if not isinstance(raw, str) or not raw:
        raise ConfigError(path, f"expected 'IP:port', got {_kind(raw)}")
    host, port_text = _split_host_port(raw)
    if port_text is None:
        if default_port is None:
            raise ConfigError(path, f"{raw!r} has no port; write it as 'IP:port'")
        port = default_port
    else:
        low = 0 if allow_port_zero else 1
        if not (port_text.isascii() and port_text.isdigit()) or not low <= int(port_text) < 65536:
            raise ConfigError(path, f"{raw!r} has an invalid port ({low}-65535)")
        port = int(port_text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(path, f"{raw!r} is not an IP address with a port") from None
    return str(address), port


def listen_address(raw: Any, path: str) -> tuple[str, int]:
    """Like :func:`host_port`; an empty host (``:9958``) means all addresses, port 0 a free one."""
    if isinstance(raw, str) and raw.startswith(":"):
        raw = "0.0.0.0" + raw  # noqa: S104 - an explicit "listen on all"
    return host_port(raw, path, allow_port_zero=True)


def _split_host_port(text: str) -> tuple[str, str | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return text, None
        rest = text[end + 1 :]
        return text[1:end], rest[1:] if rest.startswith(":") else (rest or None)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def _kind(raw: Any) -> str:
    """How a wrong value reads in a message: ``string 'x'``, ``a list``, ``nothing``."""
    if raw is None:
        return "nothing"
    if isinstance(raw, bool):
        return f"boolean {raw!r}"
    if isinstance(raw, str):
        return f"string {raw!r}"
    if isinstance(raw, int | float):
        return f"number {raw!r}"
    return (
        "a list" if isinstance(raw, list) else "a mapping" if isinstance(raw, Mapping) else type(raw).__name__
    )


def _fmt(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
