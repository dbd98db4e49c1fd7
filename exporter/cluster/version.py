"""CoreDNS versions, read from the container image tag."""

from __future__ import annotations

import re

Version = tuple[int, int, int]

_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def image_version(image: str) -> Version | None:
    """``registry.k8s.io/coredns/coredns:v1.11.1`` -> ``(1, 11, 1)``; a digest-only image -> ``None``.

    Vendor suffixes after the numbers are ignored (``v1.9.3.10-7dfca203-aliyun`` -> 1.9.3). A tag
    that is no CoreDNS 1.x release (a distribution's own version, ``origin-coredns:v4.14``) is
    ``None``: version rules do not guess.
    """
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    match = _TAG.match(last.rsplit(":", 1)[1])
    if match is None:
        return None
    major, minor, patch = match.groups()
    if int(major) != 1:
        return None
    return int(major), int(minor), int(patch or 0)


def text(version: Version | None) -> str:
    return "unknown" if version is None else ".".join(str(part) for part in version)
