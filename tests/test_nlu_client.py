"""The Rasa client against the real server, and against stand-ins for its failure modes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.errors import NluUnavailable
from bot.nlu.auth import auth_headers, new_server_secret
from bot.nlu.client import RasaClient
from bot.nlu.long_text import combine
from bot.nlu.normalize import normalize
from bot.nlu.server import NluServer
from bot.settings import RasaSettings

pytestmark = pytest.mark.asyncio


async def test_real_server_ranks_intents(rasa_server: NluServer, rasa_settings: RasaSettings) -> None:
    client = RasaClient(rasa_settings.base_url, timeout=5, auth=lambda: auth_headers(rasa_settings))
    try:
        result = await client.classify("Қазақстанда баспана сұрау үшін қайда бару керек?")
    finally:
        await client.close()
    assert result.top is not None
    assert result.top.name == "asylum_apply"
    confidences = [s.confidence for s in result.ranking]
    assert confidences == sorted(confidences, reverse=True)


@pytest.fixture
async def broken_rasa() -> AsyncIterator[TestServer]:
    """A stand-in for a misbehaving Rasa: slow, failing or answering nonsense, by path."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def nonsense(request: web.Request) -> web.Response:
        return web.Response(text="<html>not json</html>")

    async def wrong_shape(request: web.Request) -> web.Response:
        return web.json_response({"intent": "greet"})

    app = web.Application()
    for name, handler in {"slow": slow, "failing": failing, "nonsense": nonsense, "shape": wrong_shape}.items():
        app.router.add_post(f"/{name}/model/parse", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.mark.parametrize("mode", ["slow", "failing", "nonsense", "shape"])
async def test_misbehaving_server_raises_nlu_unavailable(broken_rasa: TestServer, mode: str) -> None:
    client = RasaClient(str(broken_rasa.make_url(f"/{mode}")), timeout=0.5)
    try:
        with pytest.raises(NluUnavailable):
            await client.classify("hello")
    finally:
        await client.close()


async def test_server_down_raises_nlu_unavailable() -> None:
    client = RasaClient("http://127.0.0.1:9", timeout=0.5)
    try:
        with pytest.raises(NluUnavailable):
            await client.classify("hello")
    finally:
        await client.close()


async def test_conversation_survives_nlu_outage(tmp_path, detector) -> None:  # type: ignore[no-untyped-def]
    """Rasa down: the user still gets the topic menu and legal-aid contacts, never silence."""
    from bot.app import create_app
    from bot.core.messages import IncomingMessage
    from tests.conftest import make_settings

    dead = RasaSettings(url="http://127.0.0.1:9", timeout=0.5)
    app = await create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", dead), detector=detector)
    try:
        turn = await app.conversation.handle(IncomingMessage("test", "u", "Где подать на статус беженца?"))
    finally:
        await app.close()
    assert turn.intent == "nlu_unavailable"
    assert turn.language == "ru"
    text = "\n".join(r.text for r in turn.replies)
    assert "+7 727 258 45 98" in text
    assert any(o.payload.startswith("menu:") for o in turn.replies[-1].options)


async def test_a_story_is_classified_whole_and_as_its_question_on_the_real_server(
    rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    story = (
        "Мы с женой и детьми уже неделю в Алматы, приехали через Таджикистан. "
        "Визы у нас нет, денег мало. Куда нам идти, чтобы попросить защиты?"
    )

    def sign() -> dict[str, str]:
        return auth_headers(rasa_settings)

    plain = RasaClient(rasa_settings.base_url, timeout=5, auth=sign)
    weighted = RasaClient(rasa_settings.base_url, timeout=5, auth=sign, question_weight=0.5)
    try:
        whole = await plain.classify(story)
        question = await plain.classify("Куда нам идти, чтобы попросить защиты?")
        combined = await weighted.classify(story)
        one_sentence = await weighted.classify("Куда нам идти, чтобы попросить защиты?")
    finally:
        await plain.close()
        await weighted.close()
    expected = combine(whole, question, 0.5)
    assert [s.name for s in combined.ranking] == [s.name for s in expected.ranking]
    assert [s.confidence for s in combined.ranking] == pytest.approx([s.confidence for s in expected.ranking])
    assert combined.ranking != whole.ranking
    assert one_sentence == question  # a single sentence is parsed once, as it is


TEXTS = ("Как подать на статус беженца?", "Баспана қалай сұраймын?")


async def test_from_settings_posts_utf8_json_signed_once_for_many_requests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The text arrives as sent; the JWT is not re-signed per request (bot/nlu/auth.py: RequestSigner)."""
    seen: list[tuple[str, bytes, str]] = []

    async def parse(request: web.Request) -> web.Response:
        seen.append((request.content_type, await request.read(), request.headers.get("Authorization", "")))
        return web.json_response({"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": []})

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    settings = RasaSettings(url=url, secrets_dir=tmp_path, question_weight=0, latin_weight=0)
    new_server_secret(settings)
    client = RasaClient.from_settings(settings)
    try:
        for text in TEXTS:
            assert (await client.classify(text)).top is not None
    finally:
        await client.close()
        await server.close()
    assert [json.loads(body)["text"] for _, body, _ in seen] == [normalize(text) for text in TEXTS]
    assert {content_type for content_type, _, _ in seen} == {"application/json"}
    assert "как".encode() in seen[0][1]  # UTF-8, not \\u escapes: a third of the bytes
    tokens = {authorization for _, _, authorization in seen}
    assert len(tokens) == 1 and tokens.pop().startswith("Bearer ")
