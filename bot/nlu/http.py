"""A small HTTP/1.1 client for the one request Pana makes to Rasa: a JSON POST to a fixed URL, on kept-alive
connections.

aiohttp cost ~1.2–1.6 ms of CPU per `/model/parse` (its request, connector, reader and timer machinery,
docs/performance.md, stop 23), ten times what Pana does around the call. This client writes the request in one
`write` and reads the answer in an `asyncio.Protocol`, which is all one POST needs:

- connections kept alive and reused, one request at a time on each, as many as requests in flight; an idle one
  is dropped after `IDLE_SECONDS` (before the server's keep-alive timeout: Sanic's is 5 s);
- a reused connection that the server had closed (no byte of an answer came back) is tried once more on a new
  one: parsing is idempotent, so a retry cannot do anything twice;
- answers framed by Content-Length, chunked, or by the server closing (then the connection is not reused);
  1xx answers skipped; a malformed or oversized answer is an `HttpError`;
- `http` and `https` (the default TLS context: certificates checked), credentials in the URL sent as Basic auth;
- one deadline for the whole request (connecting included); a request timed out or cancelled closes its
  connection, so a late answer is never read as the next request's.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

IDLE_SECONDS = 4.0
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_IDLE_CONNECTIONS = 32


class HttpError(ValueError):
    """The server answered something that is not an HTTP/1.x answer we can read."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    length: int | None  # None: chunked or until the server closes
    chunked: bool
    keep_alive: bool
    body_start: int


def _read_head(buffer: bytearray) -> _Head | None:
    """The status line and framing headers at the start of `buffer`; None while they are incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise HttpError("answer head too large")
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpError("not an HTTP/1.x answer")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    keep_alive = parts[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise HttpError("malformed header line")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit() or (length is not None and length != int(value)):
                raise HttpError("malformed Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
            if not chunked:
                raise HttpError("unsupported Transfer-Encoding")
        elif name == b"connection":
            tokens = {token.strip() for token in value.lower().split(b",")}
            keep_alive = b"close" not in tokens and (keep_alive or b"keep-alive" in tokens)
    if chunked:
        length = None  # Transfer-Encoding wins over Content-Length (RFC 9112, 6.3)
    elif status in (204, 304):
        length = 0
    if length is not None and length > MAX_BODY_BYTES:
        raise HttpError("answer too large")
    return _Head(status, length, chunked, keep_alive and (chunked or length is not None), end + 4)


def _read_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """The body of a chunked answer from `start`, and where the answer ends; None while it is incomplete."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError("malformed chunk size") from None
        position = line_end + 2
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise HttpError("answer too large")
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise HttpError("malformed chunk")
        body += buffer[position : position + size]
        position += size + 2
    while True:  # trailer fields, up to the empty line
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        if line_end == position:
            return bytes(body), line_end + 2
        position = line_end + 2


class _Connection(asyncio.Protocol):
    """One connection to the server; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._answer: asyncio.Future[Answer] | None = None
        self._closed = False
        self.reusable = False
        self.received = False  # a byte of the current answer came: a failure now is no stale connection
        self.idle_since = 0.0

    @property
    def closed(self) -> bool:
        return self._closed or self.transport is None or self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        if self.transport is None:
            raise ConnectionError("not connected")
        self._buffer.clear()
        self._head = None
        self.reusable = False
        self.received = False
        self._answer = self._loop.create_future()
        self.transport.write(request)
        return self._answer

    def data_received(self, data: bytes) -> None:
        self.received = True
        if self._answer is None or self._answer.done():
            self.close()  # bytes nobody asked for: this connection's framing cannot be trusted
            return
        self._buffer += data
        try:
            self._try_complete(eof=False)
        except HttpError as error:
            self._fail(error)

    def eof_received(self) -> bool | None:
        if self._answer is None or self._answer.done():
            return None  # an idle connection closed by the server: dropped when next looked at
        try:
            self._try_complete(eof=True)
        except (HttpError, ConnectionResetError) as error:
            self._fail(error)
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _try_complete(self, eof: bool) -> None:
        buffer = self._buffer
        while self._head is None:
            head = _read_head(buffer)
            if head is None:
                if eof and buffer:
                    raise HttpError("the connection closed inside an answer's head")
                if eof:
                    raise ConnectionResetError("the server closed the connection without answering")
                return
            if 100 <= head.status < 200:  # an interim answer: the real one follows
                del buffer[: head.body_start]
                continue
            self._head = head
        head = self._head
        if head.chunked:
            read = _read_chunked(buffer, head.body_start)
            if read is None:
                if eof:
                    raise HttpError("the connection closed inside a chunked body")
                return
            body, end = read
        elif head.length is not None:
            end = head.body_start + head.length
            if len(buffer) < end:
                if eof:
                    raise HttpError("the connection closed before the body's Content-Length")
                return
            body = bytes(buffer[head.body_start : end])
        else:  # delimited by the server closing
            if len(buffer) - head.body_start > MAX_BODY_BYTES:
                raise HttpError("answer too large")
            if not eof:
                return
            body, end = bytes(buffer[head.body_start :]), len(buffer)
        self.reusable = head.keep_alive and end == len(buffer) and not eof
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(Answer(head.status, body))

    def _fail(self, error: BaseException) -> None:
        self.reusable = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self.close()

    def close(self) -> None:
        self._closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self._closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()


class JsonPoster:
    """POST bytes of JSON to one URL and return the answer, reusing connections."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the URL must be http:// or https:// with a host")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self._timeout = timeout
        authority = parts.netloc.rpartition("@")[2]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n"
            "Accept: application/json\r\nUser-Agent: pana\r\n"
        ).encode("ascii")
        self._basic: dict[str, str] = {}
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._basic = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        self._headers: dict[str, str] | None = None  # the last extra headers, and their bytes
        self._header_bytes = b""
        self._idle: list[_Connection] = []
        self._closed = False

    def _extra(self, headers: dict[str, str]) -> bytes:
        if headers != self._headers:  # the JWT changes every few minutes, not per request
            merged = {**self._basic, **headers}
            self._header_bytes = "".join(f"{name}: {value}\r\n" for name, value in merged.items()).encode("latin-1")
            self._headers = dict(headers)
        return self._header_bytes

    async def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        """The server's answer; OSError, TimeoutError or HttpError when there is none to read."""
        if self._closed:
            raise ConnectionError("the client is closed")
        request = b"%s%sContent-Length: %d\r\n\r\n%s" % (self._head, self._extra(headers), len(body), body)
        async with asyncio.timeout(self._timeout):
            connection = self._reuse()
            if connection is not None:
                try:
                    return await self._exchange(connection, request)
                except (OSError, HttpError):
                    if connection.received:
                        raise
                    # closed by the server while idle, before it read anything: once more on a new connection
            return await self._exchange(await self._connect(), request)

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        try:
            answer = await connection.send(request)
        except BaseException:
            connection.abort()  # timed out, cancelled or broken: an answer arriving later must not be read
            raise
        if connection.reusable and not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def _reuse(self) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(lambda: _Connection(loop), self._host, self._port, ssl=self._ssl)
        return connection

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
