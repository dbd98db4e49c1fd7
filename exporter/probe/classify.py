"""Map a reply (or its absence) to a success or one :class:`Reason`."""

from __future__ import annotations

from exporter.config import Expect
from exporter.probe.result import Reason
from exporter.probe.wire import Reply

_RCODE_REASONS = {
    "NXDOMAIN": Reason.NXDOMAIN,
    "SERVFAIL": Reason.SERVFAIL,
    "REFUSED": Reason.REFUSED,
}


def classify(reply: Reply, expect: Expect, transport: str) -> tuple[Reason | None, str]:
    """The failure reason for ``reply`` (``None`` when it is what ``expect`` asks) and a detail."""
    if reply.truncated and transport == "udp":
        return Reason.TRUNCATED, f"TC flag set with {reply.answer_count} records in the answer"
    if reply.rcode != expect.rcode:
        reason = _RCODE_REASONS.get(reply.rcode, Reason.WRONG_ANSWER)
        return reason, f"rcode {reply.rcode}, expected {expect.rcode}"
    if expect.rcode != "NOERROR":
        return None, ""
    if len(reply.answers) < expect.min_answers:
        # records of the asked type but for another name are said so
        why = f"{len(reply.answers)} records of the asked type, expected at least {expect.min_answers}"
        return Reason.WRONG_ANSWER, f"no answer: {reply.stray}" if reply.stray else why
    if expect.answers is not None and frozenset(reply.answers) != expect.answers:
        got = ", ".join(reply.answers) or "none"
        want = ", ".join(sorted(expect.answers)) or "none"
        return Reason.WRONG_ANSWER, f"answers {got}, expected {want}"
    return None, ""
