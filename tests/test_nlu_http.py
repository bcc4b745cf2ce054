"""The Rasa client's HTTP/1.1 (bot/nlu/http.py) against servers that write the bytes each case needs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from bot.errors import ConfigurationError, NluUnavailable
from bot.nlu.client import RasaClient
from bot.nlu.http import HttpError, JsonPoster

pytestmark = pytest.mark.asyncio

RANKING = orjson.dumps({"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": []})
Handler = Callable[["Peer", "Request"], Awaitable[None]]


@dataclass
class Request:
    head: list[str]
    body: bytes

    def header(self, name: str) -> str | None:
        for line in self.head[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class Peer:
    """One accepted connection, as the server saw it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    number: int
    served: int = 0

    async def write(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.writer.write(piece)
            await self.writer.drain()
            await asyncio.sleep(0)  # each piece its own segment, as a slow network cuts them

    def close(self) -> None:
        self.writer.close()


@dataclass
class Server:
    handler: Handler
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)  # connections the client closed or dropped
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/model/parse"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        peer = Peer(reader, writer, self.connections)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
                request = Request(head, b"")
                request.body = await reader.readexactly(int(request.header("Content-Length") or 0))
                self.requests.append(request)
                await self.handler(peer, request)
                peer.served += 1
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.ended.append(peer.number)
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> Server:
        server = Server(handler)
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=tls)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


def answer(body: bytes, status: str = "200 OK", *extra: str) -> bytes:
    head = "".join(f"{line}\r\n" for line in (f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra))
    return f"{head}\r\n".encode() + body


async def keep_alive(peer: Peer, request: Request) -> None:
    await peer.write(answer(orjson.dumps({"echo": orjson.loads(request.body)["text"]})))


def echoed(body: bytes) -> str:
    return str(orjson.loads(body)["echo"])


async def test_connections_are_kept_alive_and_the_request_is_one_json_post(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(keep_alive)
    poster = JsonPoster(server.url, timeout=2)
    try:
        for n in range(5):
            reply = await poster.post(orjson.dumps({"text": f"салем {n}"}), {"Authorization": "Bearer t"})
            assert (reply.status, echoed(reply.body)) == (200, f"салем {n}")
    finally:
        await poster.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.head[0] == "POST /model/parse HTTP/1.1"
    assert first.header("Host") == f"127.0.0.1:{server.port}"
    assert first.header("Content-Type") == "application/json"
    assert first.header("Authorization") == "Bearer t"


async def test_requests_in_flight_together_each_get_their_own_connection_and_answer(serve) -> None:  # type: ignore[no-untyped-def]
    async def slow(peer: Peer, request: Request) -> None:
        await asyncio.sleep(0.05)
        await keep_alive(peer, request)

    server = await serve(slow)
    poster = JsonPoster(server.url, timeout=2)
    try:
        texts = [f"t{n}" for n in range(6)]
        replies = await asyncio.gather(*(poster.post(orjson.dumps({"text": t}), {}) for t in texts))
        assert [echoed(r.body) for r in replies] == texts
        assert server.connections == 6
        await asyncio.gather(*(poster.post(orjson.dumps({"text": t}), {}) for t in texts))
        assert server.connections == 6  # all six kept and reused
    finally:
        await poster.close()


async def test_a_chunked_answer_cut_anywhere_is_read_whole(serve) -> None:  # type: ignore[no-untyped-def]
    async def chunked(peer: Peer, request: Request) -> None:
        body = orjson.dumps({"echo": orjson.loads(request.body)["text"]})
        wire = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x;name=value\r\n%s\r\n" % (5, body[:5])
            + b"%x\r\n%s\r\n" % (len(body) - 5, body[5:])
            + b"0\r\nX-Trailer: yes\r\n\r\n"
        )
        await peer.write(*(wire[i : i + 3] for i in range(0, len(wire), 3)))

    server = await serve(chunked)
    poster = JsonPoster(server.url, timeout=2)
    try:
        for text in ("бір", "екі"):
            assert echoed((await poster.post(orjson.dumps({"text": text}), {})).body) == text
    finally:
        await poster.close()
    assert server.connections == 1


async def test_an_answer_ended_by_the_server_closing_is_read_and_its_connection_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    async def until_close(peer: Peer, request: Request) -> None:
        await peer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", RANKING[:10], RANKING[10:])
        peer.close()

    server = await serve(until_close)
    poster = JsonPoster(server.url, timeout=2)
    try:
        for _ in range(2):
            assert (await poster.post(b'{"text":"x"}', {})).body == RANKING
    finally:
        await poster.close()
    assert server.connections == 2


async def test_an_answer_that_says_close_is_never_followed_by_a_request_on_its_connection(serve) -> None:  # type: ignore[no-untyped-def]
    reused: list[bytes] = []

    async def closing_late(peer: Peer, request: Request) -> None:
        await peer.write(answer(RANKING, "200 OK", "Connection: close"))
        # the server is slow to close: a client that reused the connection would have written here by now
        with contextlib.suppress(TimeoutError):
            reused.append(await asyncio.wait_for(peer.reader.read(1), 0.3))  # b"": the client closed it
        peer.close()

    server = await serve(closing_late)
    poster = JsonPoster(server.url, timeout=2)
    try:
        for _ in range(2):
            assert (await poster.post(b'{"text":"x"}', {})).body == RANKING
    finally:
        await poster.close()
    assert all(byte == b"" for byte in reused) and server.connections == 2


async def test_interim_answers_are_skipped_and_a_non_200_answer_keeps_its_connection(serve) -> None:  # type: ignore[no-untyped-def]
    async def busy(peer: Peer, request: Request) -> None:
        await peer.write(b"HTTP/1.1 100 Continue\r\n\r\n", answer(b"overloaded", "503 Service Unavailable"))

    server = await serve(busy)
    poster = JsonPoster(server.url, timeout=2)
    try:
        for _ in range(2):
            reply = await poster.post(b"{}", {})
            assert (reply.status, reply.body) == (503, b"overloaded")
    finally:
        await poster.close()
    assert server.connections == 1


async def test_a_kept_connection_the_server_closed_is_retried_once_on_a_new_one(serve) -> None:  # type: ignore[no-untyped-def]
    """The server closes each connection after its first answer, without saying so (as one past its keep-alive
    timeout does): the second request meets a closed connection and is sent again on a new one."""

    async def one_per_connection(peer: Peer, request: Request) -> None:
        await keep_alive(peer, request)
        peer.close()

    server = await serve(one_per_connection)
    poster = JsonPoster(server.url, timeout=2)
    try:
        await poster.post(orjson.dumps({"text": "first"}), {})
        await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        assert echoed((await poster.post(orjson.dumps({"text": "second"}), {})).body) == "second"
    finally:
        await poster.close()
    assert server.connections == 2


async def test_a_kept_connection_closed_as_the_request_is_read_is_retried_and_answered_once(serve) -> None:  # type: ignore[no-untyped-def]
    async def drops_the_second(peer: Peer, request: Request) -> None:
        if peer.served == 1:  # read the request, then closed without a byte of answer
            peer.close()
            return
        await keep_alive(peer, request)

    server = await serve(drops_the_second)
    poster = JsonPoster(server.url, timeout=2)
    try:
        await poster.post(orjson.dumps({"text": "first"}), {})
        assert echoed((await poster.post(orjson.dumps({"text": "second"}), {})).body) == "second"
    finally:
        await poster.close()
    assert [echoed_text(r) for r in server.requests] == ["first", "second", "second"]
    assert server.connections == 2


def echoed_text(request: Request) -> str:
    return str(orjson.loads(request.body)["text"])


async def test_a_new_connection_closed_without_an_answer_is_an_error_not_a_loop(serve) -> None:  # type: ignore[no-untyped-def]
    async def hang_up(peer: Peer, request: Request) -> None:
        peer.close()

    server = await serve(hang_up)
    poster = JsonPoster(server.url, timeout=2)
    try:
        with pytest.raises(ConnectionResetError):
            await poster.post(b"{}", {})
    finally:
        await poster.close()
    assert server.connections == 1


async def test_an_answer_broken_off_after_its_first_byte_is_not_sent_again(serve) -> None:  # type: ignore[no-untyped-def]
    async def half(peer: Peer, request: Request) -> None:
        if peer.served == 0:
            await keep_alive(peer, request)
            return
        await peer.write(answer(RANKING)[:30])
        peer.close()

    server = await serve(half)
    poster = JsonPoster(server.url, timeout=2)
    try:
        await poster.post(b'{"text":"a"}', {})
        with pytest.raises(HttpError):
            await poster.post(b'{"text":"b"}', {})
    finally:
        await poster.close()
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "wire",
    [
        b"<html>hello</html>\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ],
)
async def test_a_malformed_answer_is_an_http_error_and_nlu_unavailable_for_the_client(serve, wire: bytes) -> None:  # type: ignore[no-untyped-def]
    async def malformed(peer: Peer, request: Request) -> None:
        await peer.write(wire)

    server = await serve(malformed)
    poster = JsonPoster(server.url, timeout=2)
    client = RasaClient(server.url.removesuffix("/model/parse"), timeout=2)
    try:
        with pytest.raises(HttpError):
            await poster.post(b"{}", {})
        with pytest.raises(NluUnavailable):
            await client.classify("hello")
    finally:
        await poster.close()
        await client.close()


async def test_a_timed_out_request_closes_its_connection_so_its_late_answer_is_never_read(serve) -> None:  # type: ignore[no-untyped-def]
    async def late_first(peer: Peer, request: Request) -> None:
        if echoed_text(request) == "slow":
            await asyncio.sleep(0.4)
        await keep_alive(peer, request)

    server = await serve(late_first)
    poster = JsonPoster(server.url, timeout=0.2)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await poster.post(orjson.dumps({"text": "slow"}), {})
        assert asyncio.get_running_loop().time() - started < 0.35
        assert echoed((await poster.post(orjson.dumps({"text": "quick"}), {})).body) == "quick"
        for _ in range(200):  # the timed-out connection is closed by the client, not left open
            if 1 in server.ended:
                break
            await asyncio.sleep(0.01)
        assert 1 in server.ended
    finally:
        await poster.close()
    assert server.connections == 2


async def test_a_cancelled_request_closes_its_connection(serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def held(peer: Peer, request: Request) -> None:
        if echoed_text(request) == "held":
            await release.wait()
        await keep_alive(peer, request)

    server = await serve(held)
    poster = JsonPoster(server.url, timeout=2)
    try:
        task = asyncio.create_task(poster.post(orjson.dumps({"text": "held"}), {}))
        while not server.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        assert echoed((await poster.post(orjson.dumps({"text": "next"}), {})).body) == "next"
    finally:
        await poster.close()
    assert server.connections == 2


async def test_credentials_in_the_url_are_sent_as_basic_auth_and_kept_out_of_the_host(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(keep_alive)
    url = server.url.replace("http://", "http://pana:s%40cret@")
    poster = JsonPoster(url, timeout=2)
    try:
        await poster.post(b'{"text":"x"}', {})
    finally:
        await poster.close()
    request = server.requests[0]
    assert request.header("Host") == f"127.0.0.1:{server.port}"
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"pana:s@cret").decode()


@pytest.mark.parametrize("url", ["localhost:5005", "ftp://127.0.0.1/", "http:///model"])
async def test_a_rasa_url_that_is_no_http_url_fails_the_start(url: str) -> None:
    with pytest.raises(ConfigurationError, match="RASA_URL"):
        RasaClient(url, timeout=1)


async def test_a_server_that_refuses_is_an_os_error() -> None:
    poster = JsonPoster("http://127.0.0.1:9/model/parse", timeout=2)
    try:
        with pytest.raises(OSError):
            await poster.post(b"{}", {})
    finally:
        await poster.close()


def _certificate(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_https_checks_the_certificate_and_talks_tls_to_a_trusted_server(  # type: ignore[no-untyped-def]
    serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await serve(keep_alive, tls=context)
    url = server.url.replace("http://", "https://")
    untrusting = JsonPoster(url, timeout=2)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusting.post(b'{"text":"x"}', {})
    finally:
        await untrusting.close()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts what OpenSSL is told to
    trusting = JsonPoster(url, timeout=2)
    try:
        for text in ("a", "b"):
            assert echoed((await trusting.post(orjson.dumps({"text": text}), {})).body) == text
    finally:
        await trusting.close()
    assert (server.connections, len(server.requests)) == (1, 2)  # a refused handshake reaches no handler
