"""resolv.conf, read the way glibc reads it.

Used three ways: the ``resolver`` probe path (a lookup with the search list and
ndots applied), the targets of a path configured as ``{resolv_conf: FILE}``,
and the node reader that watches the node's own resolver file.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAXNS = 3
"""glibc uses at most this many nameservers; later ones are ignored."""
_MAX_NDOTS = 15
_MAX_TIMEOUT = 30
_MAX_ATTEMPTS = 5
_FLAG_OPTIONS = frozenset(
    {
        "rotate",
        "use-vc",
        "single-request",
        "single-request-reopen",
        "edns0",
        "no-tld-query",
        "trust-ad",
        "no-aaaa",
        "no-reload",
        "no-check-names",
        "inet6",
        "debug",
        "ip6-bytestring",
        "ip6-dotint",
        "no-ip6-dotint",
        "insecure1",
        "insecure2",
    }
)


@dataclass(frozen=True, slots=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    """Every ``nameserver`` line with a valid IP, in order (glibc uses the first three)."""
    search: tuple[str, ...]
    """The search list (from the last ``search`` or ``domain`` line), without trailing dots."""
    ndots: int = 1
    timeout: int = 5
    attempts: int = 2
    flags: frozenset[str] = frozenset()
    """Option flags such as ``rotate``, ``use-vc``, ``single-request-reopen``."""
    options: tuple[str, ...] = ()
    """The ``options`` words as written."""
    warnings: tuple[str, ...] = ()
    """What glibc would silently ignore: bad addresses, unknown options, extra nameservers."""

    @property
    def used_nameservers(self) -> tuple[str, ...]:
        return self.nameservers[:MAXNS]


def candidates(name: str, conf: ResolvConf) -> tuple[str, ...]:
    """The absolute names a glibc lookup of ``name`` tries, in order (``__res_context_search``)."""
    if name.endswith("."):
        return (name,)
    dots = name.count(".")
    tried: list[str] = []
    if dots >= conf.ndots:
        tried.append(name + ".")
    for domain in conf.search:
        tried.append(f"{name}.{domain}.")
    if dots < conf.ndots and not (dots == 0 and "no-tld-query" in conf.flags):
        tried.append(name + ".")
    return tuple(tried)


def parse_resolv_conf(text: str) -> ResolvConf:
    """Parse resolv.conf text. Never raises: what glibc ignores becomes a warning."""
    nameservers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    warnings: list[str] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line[0] in "#;":
            continue
        keyword, *words = line.split()
        if keyword == "nameserver":
            _nameserver(words, number, nameservers, warnings)
        elif keyword == "search":
            search = [w.rstrip(".") for w in words if w != "."] or search
        elif keyword == "domain" and words:
            search = [words[0].rstrip(".")]
        elif keyword == "options":
            options.extend(words)
        elif keyword not in ("sortlist", "lookup", "family"):
            warnings.append(f"line {number}: unknown keyword {keyword!r}")
    if len(nameservers) > MAXNS:
        warnings.append(f"{len(nameservers)} nameservers listed; glibc uses only the first {MAXNS}")
    ndots, timeout, attempts, flags = _options(options, warnings)
    return ResolvConf(
        nameservers=tuple(nameservers),
        search=tuple(search),
        ndots=ndots,
        timeout=timeout,
        attempts=attempts,
        flags=flags,
        options=tuple(options),
        warnings=tuple(warnings),
    )


def _options(options: list[str], warnings: list[str]) -> tuple[int, int, int, frozenset[str]]:
    """ndots, timeout, attempts and flags, clamped to glibc's limits."""
    numbers = {"ndots": 1, "timeout": 5, "attempts": 2}
    limits = {"ndots": (0, _MAX_NDOTS), "timeout": (1, _MAX_TIMEOUT), "attempts": (1, _MAX_ATTEMPTS)}
    flags: set[str] = set()
    for option in options:
        key, _, value = option.partition(":")
        if key in numbers:
            if not (value.isascii() and value.isdigit()):
                warnings.append(f"option {option!r} has no valid number")
                continue
            low, high = limits[key]
            numbers[key] = max(low, min(int(value), high))
        elif option in _FLAG_OPTIONS:
            flags.add(option)
        else:
            warnings.append(f"unknown option {option!r}")
    return numbers["ndots"], numbers["timeout"], numbers["attempts"], frozenset(flags)


def _nameserver(words: list[str], number: int, nameservers: list[str], warnings: list[str]) -> None:
    if not words:
        warnings.append(f"line {number}: nameserver without an address")
        return
    address = words[0].split("%", 1)[0]  # drop an IPv6 zone (fe80::1%eth0)
    try:
        nameservers.append(str(ipaddress.ip_address(address)))
    except ValueError:
        warnings.append(f"line {number}: {words[0]!r} is not an IP address")


def read_resolv_conf(path: str) -> ResolvConf:
    """Read and parse a file. Raises ``OSError`` when it cannot be read."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_resolv_conf(handle.read(1 << 20))


LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
"""Where node-local DNS caches listen: NodeLocal DNSCache (169.254.20.10, kubespray's 169.254.25.10),
AKS LocalDNS (169.254.10.10 and .11). An address there is a cache on the node, not a bypass."""


def node_local_address(host: str) -> bool:
    """Whether ``host`` is a link-local address, where node-local DNS caches listen."""
    try:
        return ipaddress.ip_address(host) in LINK_LOCAL
    except ValueError:
        return False
