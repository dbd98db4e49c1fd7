"""What a probe returns: a frozen result with a failure reason from a closed set."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a probe failed. The ``reason`` label takes exactly these values.

    ========================  ==============================================================
    ``timeout``               no reply within the timeout (a black-holed server, lost packets)
    ``nxdomain``              the server says the name does not exist (rcode NXDOMAIN)
    ``servfail``              the server failed to answer (rcode SERVFAIL), often its upstream
    ``refused``               the server refused the query (rcode REFUSED)
    ``network_error``         the query could not be delivered: port closed (ICMP unreachable,
                              TCP reset), no route, connection closed before the reply
    ``truncated``             a UDP reply with the TC flag: the answer did not fit, clients
                              must retry over TCP
    ``wrong_answer``          a well-formed reply that is not the expected one: NOERROR with
                              too few records, other records than expected, an unexpected rcode
                              (NOERROR where NXDOMAIN was expected, FORMERR, NOTIMP, ...)
    ``malformed``             bytes that are not a reply to our query: garbage, wrong ID,
                              wrong question, bad TCP framing, records running past the end
    ========================  ==============================================================
    """

    TIMEOUT = "timeout"
    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    NETWORK_ERROR = "network_error"
    TRUNCATED = "truncated"
    WRONG_ANSWER = "wrong_answer"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe: one name and type, one server, one transport.

    For path ``resolver`` one probe is a whole lookup (search list applied), which
    may take several queries (``queries``) to several nameservers.
    """

    path: str
    server: str
    name: str
    qtype: str
    transport: str
    reason: Reason | None
    """``None`` when the probe succeeded."""
    rcode: str | None
    """The reply's rcode, ``None`` when no reply was read."""
    latency: float | None
    """Seconds from sending the query to receiving the reply; ``None`` without a reply.

    Over TCP it starts before the connect, so it includes ``connect``."""
    answers: tuple[str, ...] = ()
    """Records of the asked type in the answer section, as rdata text, sorted."""
    answer_count: int = 0
    """All records of the answer section (CNAMEs included)."""
    truncated: bool = False
    queries: int = 1
    detail: str = ""
    """A short human explanation of a failure, e.g. ``connection refused``."""
    timestamp: float = 0.0
    """Wall-clock time the probe finished (Unix seconds)."""
    connect: float | None = None
    """Over TCP: seconds the connect (the handshake) took, also when no reply followed;
    ``None`` over UDP, on path ``resolver`` and when no connection was made."""

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """The identity of the probe: path, server, name, qtype, transport."""
        return (self.path, self.server, self.name, self.qtype, self.transport)
