"""DNS messages on the wire: a pre-built query and a reply parser that reads only what a probe needs.

dnspython builds the query once (``make_query`` + ``to_wire`` costs about 70 µs);
each probe then only patches the 16-bit ID. A reply is checked and read by hand,
as strictly as dnspython's ``from_wire`` and ``resolve_chaining`` would take it:

- every length bounds-checked, every name of every section read with dnspython's
  rules (a compression pointer points strictly back, before the last one followed,
  and never into the name it continues; at most 16 of them; 255 bytes a name), and
  no bytes after the last record;
- the answer is the records of the asked type at the end of the CNAME chain from
  the question (at most 16 links); records of that type for another owner are no
  answer (a client drops them), and the reply says so (:attr:`Reply.stray`).

A probe costs a few microseconds instead of a full ``from_wire`` (about 80 µs):
A and AAAA records and the names in NS, CNAME, SOA, PTR, MX, SRV and DNAME records
are read by hand (each name of a message once), the data of other records with
dnspython's rdata parser.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.exception
import dns.ipv4
import dns.ipv6
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_QR = 0x8000
_TC = 0x0200
_OPCODE_MASK = 0x7800
_TYPE_A = 1
_TYPE_AAAA = 28
_TYPE_CNAME = 5
_CLASS_IN = 1
MAX_POINTERS = 16
"""Compression pointers one name may follow (dnspython's ``MAX_COMPRESSION_POINTER_CHAIN``)."""
MAX_CHAIN = 16
"""CNAME links from the question to the answer (dnspython's ``MAX_CHAIN``)."""
_MAX_NAME = 255
_TYPE_OPT = 41
_NAMED_RDATA = {
    2: (0, 1, 0),  # NS
    5: (0, 1, 0),  # CNAME
    6: (0, 2, 20),  # SOA: two names, five 32-bit numbers
    12: (0, 1, 0),  # PTR
    15: (2, 1, 0),  # MX
    33: (6, 1, 0),  # SRV
    39: (0, 1, 0),  # DNAME
}
"""Types read by hand when they are not what was asked: type -> (bytes before the names, names, bytes
after them)."""

Name = tuple[bytes, ...]
"""A name as compared: its labels, lowercase."""


class MalformedReply(Exception):
    """The bytes are not a well-formed reply to the query."""

    connect: float | None = None
    """Over TCP: seconds the connect took before these bytes came (set by the exchange)."""


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    rcode: str
    truncated: bool
    answer_count: int
    answers: tuple[str, ...]
    """Records of the asked type and class IN at the end of the CNAME chain from the question, rdata
    text, sorted."""
    stray: str = ""
    """Why records of the asked type in the answer section are no answer (another owner than the
    chain leads to, a CNAME loop); empty when there are none such."""


class Query:
    """A query for one name and type, built once and stamped with a fresh ID per send."""

    __slots__ = ("_qname", "_question", "_tail", "qname", "qtype", "rdtype")

    def __init__(self, qname: str, qtype: str, *, edns_payload: int | None = None) -> None:
        self.qname = qname
        self.qtype = qtype
        rdtype = dns.rdatatype.from_text(qtype)
        self.rdtype = int(rdtype)
        message = dns.message.make_query(
            qname,
            rdtype,
            use_edns=0 if edns_payload is not None else False,
            payload=edns_payload or 512,
        )
        message.id = 0
        wire = message.to_wire()
        self._tail = wire[2:]
        question_end = _skip_name(wire, _HEADER.size) + 4
        self._question = wire[_HEADER.size : question_end].lower()
        self._qname = _read_name(wire, _HEADER.size, len(wire), {})[0]

    def wire(self, query_id: int) -> bytes:
        """The query with ``query_id`` in its header."""
        return query_id.to_bytes(2, "big") + self._tail

    def parse(self, data: bytes, query_id: int) -> Reply:
        """Check ``data`` answers this query with ``query_id`` and read it.

        Raises :class:`MalformedReply` when it does not: too short, not a
        response, another ID or question, records running past the end, a
        compression pointer that loops or points forward, bytes after the last record.
        """
        if len(data) < _HEADER.size:
            raise MalformedReply(f"{len(data)} bytes is shorter than a DNS header")
        reply_id, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
        if reply_id != query_id:
            raise MalformedReply(f"reply ID {reply_id} does not match query ID {query_id}")
        if not flags & _QR:
            raise MalformedReply("the message is a query, not a response")
        if flags & _OPCODE_MASK:
            raise MalformedReply(f"unexpected opcode {(flags & _OPCODE_MASK) >> 11}")
        truncated = bool(flags & _TC)
        rcode_value = flags & 0x000F
        offset = _HEADER.size
        if qdcount == 1:
            end = _skip_name(data, offset) + 4
            if end > len(data):
                raise MalformedReply("the question runs past the end of the message")
            if data[offset:end].lower() != self._question:
                raise MalformedReply("the reply is for another question")
            offset = end
        elif qdcount != 0 or rcode_value == 0:
            raise MalformedReply(f"reply has {qdcount} questions, expected 1")
        answers, stray = self._read_records(data, offset, (ancount, nscount, arcount), truncated)
        if answers and rcode_value == dns.rcode.NXDOMAIN:  # dnspython's AnswerForNXDOMAIN
            raise MalformedReply(f"an NXDOMAIN reply with an answer for {self.qname}")
        return Reply(
            id=reply_id,
            rcode=dns.rcode.to_text(dns.rcode.Rcode(rcode_value)),
            truncated=truncated,
            answer_count=ancount,
            answers=answers,
            stray=stray,
        )

    def _read_records(
        self, data: bytes, offset: int, counts: tuple[int, int, int], truncated: bool
    ) -> tuple[tuple[str, ...], str]:
        """Read every record of the three sections; the answer and why other records are none."""
        typed: list[tuple[Name, str]] = []
        cnames: dict[Name, Name] = {}
        memo: _Memo = {}
        try:
            for section, count in enumerate(counts):
                for _ in range(count):
                    offset = self._read_record(data, offset, section == 0, typed, cnames, memo)
            if offset != len(data):
                raise MalformedReply(f"{len(data) - offset} bytes follow the last record")
        except MalformedReply:
            if not truncated:  # old servers cut a truncated reply anywhere; keep what we read
                raise
        return self._chain(typed, cnames)

    def _read_record(  # noqa: PLR0917 - the message, where, and what it gathers
        self,
        data: bytes,
        offset: int,
        in_answer: bool,
        typed: list[tuple[Name, str]],
        cnames: dict[Name, Name],
        memo: _Memo,
    ) -> int:
        """Read the record at ``offset``, gather it when it is an answer or a CNAME; the offset after it."""
        size = len(data)
        owner, offset = _read_name(data, offset, size, memo)
        if offset + _RR_FIXED.size > size:
            raise MalformedReply("a record header runs past the end of the message")
        rtype, rclass, _ttl, rdlength = _RR_FIXED.unpack_from(data, offset)
        offset += _RR_FIXED.size
        end: int = offset + rdlength
        if end > size:
            raise MalformedReply("record data runs past the end of the message")
        answer = in_answer and rclass == _CLASS_IN
        if answer and rtype == _TYPE_CNAME and self.rdtype != _TYPE_CNAME:
            target, after = _read_name(data, offset, end, memo)
            if after != end:
                raise MalformedReply(f"a CNAME record has {end - after} bytes after its target")
            cnames[owner] = target
        elif answer and rtype == self.rdtype:
            typed.append((owner, _rdata_text(data, offset, rtype, rdlength)))
        elif rtype in _NAMED_RDATA:
            _check_rdata(data, offset, end, rtype, memo)
        elif rtype != _TYPE_OPT:  # every record's data is read, as from_wire reads it
            _rdata_text(data, offset, rtype, rdlength, rclass)
        return end

    def _chain(self, typed: list[tuple[Name, str]], cnames: dict[Name, Name]) -> tuple[tuple[str, ...], str]:
        """``resolve_chaining``: from the question through CNAMEs to records of the asked type."""
        name = self._qname
        for _ in range(MAX_CHAIN):
            found = [text for owner, text in typed if owner == name]
            if found:
                return tuple(sorted(found)), ""
            target = cnames.get(name)
            if target is None or self.rdtype == _TYPE_CNAME:
                break
            name = target
        else:
            return (), f"the CNAME chain from {self.qname} is longer than {MAX_CHAIN} links (or loops)"
        if not typed:
            return (), ""
        owners = ", ".join(sorted({_text(owner) for owner, _ in typed}))
        return (), (
            f"{self.qtype} records for {owners}, which no CNAME chain from {self.qname} leads to "
            f"(the chain ends at {_text(name)})"
        )


def _rdata_text(data: bytes, offset: int, rtype: int, length: int, rclass: int = _CLASS_IN) -> str:
    if rtype == _TYPE_A:
        if length != 4:
            raise MalformedReply(f"an A record has {length} bytes of data, expected 4")
        return dns.ipv4.inet_ntoa(data[offset : offset + 4])
    if rtype == _TYPE_AAAA:
        if length != 16:
            raise MalformedReply(f"an AAAA record has {length} bytes of data, expected 16")
        return dns.ipv6.inet_ntoa(data[offset : offset + 16])
    try:
        rdata = dns.rdata.from_wire(
            dns.rdataclass.RdataClass.make(rclass), dns.rdatatype.RdataType.make(rtype), data, offset, length
        )
    except (dns.exception.DNSException, ValueError, IndexError) as exc:
        type_text = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))
        raise MalformedReply(f"cannot decode a {type_text} record: {exc}") from None
    return rdata.to_text()


def _read_name(data: bytes, offset: int, end: int, memo: _Memo) -> tuple[Name, int]:
    """The name at ``offset`` (labels, lowercase) and the offset after it, read as dnspython reads it.

    ``end``: where the name's own bytes must stop (the end of the message, or of the record
    data). ``memo``: the names of this message read so far, by offset.
    """
    if offset + 2 <= end and data[offset] >= 0xC0:  # a pointer alone, mostly to a name read before
        cached = memo.get((data[offset] & 0x3F) << 8 | data[offset + 1])
        if cached is not None and cached[3] <= offset and cached[2] < MAX_POINTERS and cached[4] <= _MAX_NAME:
            return cached[0], offset + 2  # its bytes end before this pointer, as if read again
    labels, after, _pointers, _reach, length = _name_at(data, offset, end, memo)
    if length > _MAX_NAME:
        raise MalformedReply(f"a name of {length} bytes, longer than {_MAX_NAME}")
    return labels, after


_Memo = dict[int, tuple[Name, int, int, int, int]]
"""Offset -> (labels, the offset after the name, pointers followed, the end of its own bytes, its
length on the wire uncompressed)."""


def _name_at(data: bytes, start: int, end: int, memo: _Memo) -> tuple[Name, int, int, int, int]:
    """The name at ``start``: labels up to the root or a compression pointer, then the name it points to.

    A pointer must point before ``start`` (before the part of the name it continues: no loop,
    nothing forward, nothing past the end), and the name there must end before ``start``
    (dnspython's ``restrict_end``); at most :data:`MAX_POINTERS` of them.
    """
    cached = memo.get(start)
    if cached is not None and cached[3] <= end:
        return cached
    labels: list[bytes] = []
    offset = start
    while True:
        if offset >= end:
            raise MalformedReply("a name runs past the end of the message")
        count = data[offset]
        if count == 0:
            found = (tuple(labels), offset + 1, 0, offset + 1, offset + 1 - start)
            break
        if count < 64:
            offset += 1 + count
            if offset > end:
                raise MalformedReply("a label runs past the end of the message")
            labels.append(data[offset - count : offset].lower())
            continue
        if count < 0xC0:
            raise MalformedReply(f"unknown label type 0x{count & 0xC0:02x}")
        if offset + 2 > end:
            raise MalformedReply("a compression pointer runs past the end of the message")
        target = (count & 0x3F) << 8 | data[offset + 1]
        if target >= len(data):
            raise MalformedReply(f"a compression pointer at {offset} points past the end ({target})")
        if target >= start:
            what = "loops back into the name" if target <= offset else "points forward"
            raise MalformedReply(f"a compression pointer at {offset} {what} (to {target})")
        tail, _, pointers, _, length = _name_at(data, target, start, memo)
        if pointers >= MAX_POINTERS:
            raise MalformedReply(f"a name follows more than {MAX_POINTERS} compression pointers")
        found = ((*labels, *tail), offset + 2, pointers + 1, offset + 2, offset - start + length)
        break
    memo[start] = found
    return found


def _check_rdata(data: bytes, offset: int, end: int, rtype: int, memo: _Memo) -> None:
    """Read the names in a record's data (NS, SOA, MX, ...) by hand, so a bad pointer there is seen
    as dnspython would see it, for a fraction of its cost; its length must fit exactly."""
    skip, names, fixed = _NAMED_RDATA[rtype]
    offset += skip
    for _ in range(names):
        _, offset = _read_name(data, offset, end, memo)
    if offset + fixed != end:
        type_text = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))
        raise MalformedReply(f"a {type_text} record's data does not fit its length")


def _text(name: Name) -> str:
    return ".".join(label.decode("ascii", "backslashreplace") for label in name) + "."


def _skip_name(data: bytes, offset: int) -> int:
    """The offset just after the (possibly compressed) name at ``offset``."""
    size = len(data)
    for _ in range(128):
        if offset >= size:
            raise MalformedReply("a name runs past the end of the message")
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            if offset + 2 > size:
                raise MalformedReply("a compression pointer runs past the end of the message")
            return offset + 2
        if length & 0xC0:
            raise MalformedReply(f"unknown label type 0x{length & 0xC0:02x}")
        offset += 1 + length
    raise MalformedReply("a name has more than 127 labels")
