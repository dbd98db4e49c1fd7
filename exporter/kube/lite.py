"""A small asyncio HTTPS client for the few Kubernetes API reads the node agent makes.

The node agent needs one EndpointSlice watch and a handful of GETs. The
``kubernetes`` package would add about 18 MiB of resident memory to an agent
whose budget is 45 MiB (see the README), so node mode speaks HTTP/1.1 itself:
one connection per request, bearer token or client certificate, chunked
transfer decoding, and a watch that yields one decoded event per line.
Cluster mode uses the ``kubernetes`` package.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from exporter import __version__
from exporter.kube.credentials import Credentials, CredentialsError

MAX_BODY = 32 * 1024 * 1024
MAX_LINE = 8 * 1024 * 1024


class ApiError(Exception):
    """The API answered with an error status (or not at all, ``status`` 0)."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message


class Gone(ApiError):
    """410: the resourceVersion asked for is too old; list again."""


class LiteClient:
    def __init__(self, credentials: Callable[[], Credentials], *, timeout: float) -> None:
        self._credentials = credentials
        self._timeout = timeout
        self._loaded: tuple[Credentials, ssl.SSLContext] | None = None
        """Loaded once; loaded again after a 401 (a kubeconfig or certificate replaced on disk)."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON object; raise :class:`ApiError` on an error status."""
        reader, writer, headers = await self._open(path, params)
        try:
            body = b"".join([part async for part in _body(reader, headers, self._timeout, MAX_BODY)])
        finally:
            writer.close()
        return _json(body)

    async def watch(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        idle: float,
        opened: Callable[[], None] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events (``{"type": ..., "object": ...}``) until the server ends the stream.

        ``idle`` bounds the wait for the next chunk, so a connection that died
        silently is noticed. An ``ERROR`` event with code 410 raises :class:`Gone`.
        ``opened`` is called once the API server has accepted the watch (its 200 answer),
        before any event: on a quiet cluster that may be the only sign it works again.
        """
        reader, writer, headers = await self._open(path, {**params, "watch": "true"})
        pending = b""
        try:
            if opened is not None:
                opened()  # inside the try: the connection is closed whatever it raises
            async for part in _body(reader, headers, idle, None):
                pending += part
                if len(pending) > MAX_LINE:
                    raise ApiError(0, "watch event too large", f"over {MAX_LINE} bytes")
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = _json(line)
                        _raise_watch_error(event)
                        yield event
        finally:
            writer.close()

    async def _open(
        self, path: str, params: Mapping[str, str] | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, str]]:
        try:
            if self._loaded is None:
                loaded = self._credentials()
                self._loaded = (loaded, loaded.ssl_context())
            credentials, context = self._loaded
            token = credentials.bearer()
        except (CredentialsError, OSError, ssl.SSLError, ValueError) as exc:
            raise ApiError(0, "no credentials", str(exc)) from None
        url = urlsplit(credentials.server)
        host = url.hostname or ""
        port = url.port or 443
        target = quote(url.path.rstrip("/") + path) + (f"?{urlencode(params)}" if params else "")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=context, server_hostname=credentials.tls_server_name or host
                ),
                self._timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ApiError(0, "unreachable", f"{credentials.server}: {exc or type(exc).__name__}") from None
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {url.netloc}",
            "Accept: application/json",
            f"User-Agent: k8s-dns-exporter/{__version__}",
            "Connection: close",
        ]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            status, reason, headers = await asyncio.wait_for(_head(reader), self._timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            writer.close()
            raise ApiError(0, "no response", f"{credentials.server}: {exc or type(exc).__name__}") from None
        if status >= 400:
            try:
                body = b"".join([p async for p in _body(reader, headers, self._timeout, 1024 * 1024)])
            except (OSError, TimeoutError, ValueError):
                body = b""
            finally:
                writer.close()
            message = _status_message(body)
            if status == 401:
                self._loaded = None
            raise (Gone if status == 410 else ApiError)(status, reason, message)
        return reader, writer, headers


async def _head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    status_line = (await reader.readline()).decode("latin-1").strip()
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not (parts[1].isascii() and parts[1].isdigit()):
        raise ValueError(f"not an HTTP status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    while True:
        line = (await reader.readline()).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


async def _body(
    reader: asyncio.StreamReader, headers: Mapping[str, str], timeout: float, limit: int | None
) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive (chunked, sized, or up to EOF), each read bounded by ``timeout``."""
    total = 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await asyncio.wait_for(reader.readline(), timeout)
            if not size_line:
                raise ApiError(0, "connection closed", "in the middle of a chunked body")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await asyncio.wait_for(reader.readexactly(size + 2), timeout)
            total += size
            if limit is not None and total > limit:
                raise ApiError(0, "response too large", f"over {limit} bytes")
            yield data[:-2]
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if limit is not None and length > limit:
            raise ApiError(0, "response too large", f"{length} bytes")
        yield await asyncio.wait_for(reader.readexactly(length), timeout)
    else:
        while data := await asyncio.wait_for(reader.read(65536), timeout):
            total += len(data)
            if limit is not None and total > limit:
                raise ApiError(0, "response too large", f"over {limit} bytes")
            yield data


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ApiError(0, "malformed response", f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(0, "malformed response", "not a JSON object")
    return value


def _status_message(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    return str(status.get("message", "")) if isinstance(status, dict) else ""


def _raise_watch_error(event: dict[str, Any]) -> None:
    if event.get("type") != "ERROR":
        return
    status = event.get("object") or {}
    code = int(status.get("code", 0)) if isinstance(status, dict) else 0
    message = str(status.get("message", "")) if isinstance(status, dict) else ""
    reason = str(status.get("reason", "watch error")) if isinstance(status, dict) else "watch error"
    raise (Gone if code == 410 else ApiError)(code, reason, message)
