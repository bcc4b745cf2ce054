"""aiogram's HTTP session: response models kept alive, requests without a file posted as JSON, lean answers."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

import aiogram
import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import AnswerCallbackQuery, DeleteMessage, Response, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message
from aiohttp import ClientError, ClientSession, ClientTimeout, DummyCookieJar, hdrs
from aiohttp.http import SERVER_SOFTWARE

JSON_HEADERS = {"Content-Type": "application/json"}


class KeptResponseTypesSession(AiohttpSession):
    """An AiohttpSession whose `Response[T]` models outlive the request that built them.

    aiogram parametrizes pydantic's generic `Response` by the method's result type on every answer. Pydantic
    caches that class only weakly, so the garbage collector freed it between requests: in a profiled bench run
    129 of 311 Bot API answers rebuilt it, at ~14 ms of CPU each (docs/performance.md). One class per result
    type (a few dozen at most) is kept here.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._response_types: dict[Any, type[Response[Any]]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


class JsonSession(KeptResponseTypesSession):
    """Posts a request as one JSON object (orjson) unless it uploads a file; answers are read with orjson.

    aiogram's AiohttpSession sends every request as a url-encoded form: each nested value (a keyboard) is
    JSON-dumped into a field, then `urllib.parse.urlencode` quotes the text byte by byte, which for a long
    Cyrillic answer cost more CPU than the rest of the request (bench/turn_cpu.py). The Bot API accepts
    `application/json` bodies as well (core.telegram.org/bots/api#making-requests), and its server reads a
    JSON object's fields as it reads a form's: a string as it is, anything else as its JSON text (tdlib's
    `HttpReader::parse_json_parameters`, which telegram-bot-api uses). The fields are
    the ones the form would carry, prepared by aiogram itself (defaults such as the parse mode resolved,
    models dumped, empty values left out), so Telegram receives the same request in another encoding.
    A request with a file keeps aiogram's multipart form.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_loads", orjson.loads)
        super().__init__(**kwargs)

    async def create_session(self) -> ClientSession:
        """aiogram's client session, without what the Bot API does not use: cookies and compressed answers.

        The Bot API sets no cookie, so the jar was work on every answer; an uncompressed answer from a local
        Bot API server costs no inflating. Connections are kept alive and reused as aiogram's are.
        """
        if self._should_reset_connector:
            await self.close()
        if self._session is None or self._session.closed:
            self._session = ClientSession(
                connector=self._connector_type(**self._connector_init),
                headers={hdrs.USER_AGENT: USER_AGENT},
                cookie_jar=DummyCookieJar(),
                skip_auto_headers=(hdrs.ACCEPT_ENCODING,),
            )
            self._should_reset_connector = False
        return self._session

    def json_body(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """The request as JSON; None when it must go as a form (a file to upload, a value JSON cannot carry)."""
        files: dict[str, Any] = {}
        fields = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what aiogram's form leaves out (`if not value`, on text)
                continue
            fields[key] = prepared
        if files:
            return None
        try:
            return orjson.dumps(fields)
        except TypeError:  # a type aiogram would have turned into text: leave it to aiogram's form
            return None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        # The same request and the same errors as AiohttpSession.make_request, with a JSON body (aiohttp turns
        # aiogram's number of seconds into this ClientTimeout itself).
        total = ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.post(url, data=body, headers=JSON_HEADERS, timeout=total) as resp:
                raw_result = await resp.read()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        return self.answer(bot, method, resp.status, raw_result)

    def answer(self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: bytes) -> TelegramType:
        """The method's result: built lean when Pana reads little of it, else (and on every error) by aiogram.

        A sent message's answer is the whole message back (its text, keyboard, sender, chat): aiogram validated
        all of it into a `Message` for callers that read its `message_id` alone. A successful answer of a method
        in `LEAN_RESULTS` is built from what callers read; anything else, an answer of an unexpected shape and
        every error goes through aiogram's `check_response`, so its errors (TelegramRetryAfter, the
        migrate-to-chat one, TelegramBadRequest, TelegramForbiddenError, server errors, ClientDecodeError) are
        raised exactly as before.
        """
        lean = LEAN_RESULTS.get(type(method))
        if lean is not None and HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                answer = orjson.loads(content)
            except orjson.JSONDecodeError:
                answer = None
            if isinstance(answer, dict) and answer.get("ok") is True:
                result = lean(answer.get("result"), bot)
                if result is not None:
                    return cast(TelegramType, result)
        text = content.decode("utf-8", "replace")
        response = self.check_response(bot=bot, method=method, status_code=status_code, content=text)
        return cast(TelegramType, response.result)


USER_AGENT = f"{SERVER_SOFTWARE} aiogram/{aiogram.__version__}"  # as aiogram's own session says


def sent_message(result: Any, bot: Bot) -> Message | None:
    """The sent message as callers read it: its id and its chat (the text, keyboard and sender are not kept)."""
    if not isinstance(result, dict):
        return None
    message_id, date, chat = result.get("message_id"), result.get("date"), result.get("chat")
    if type(message_id) is not int or type(date) is not int or not isinstance(chat, dict):
        return None
    chat_id, chat_type = chat.get("id"), chat.get("type")
    if type(chat_id) is not int or not isinstance(chat_type, str):
        return None
    lean = {"message_id": message_id, "date": date, "chat": {"id": chat_id, "type": chat_type}}
    return Message.model_validate(lean, context={"bot": bot})


def plain_bool(result: Any, bot: Bot) -> bool | None:
    """True or False as sent (anything else is left to aiogram's validation)."""
    return result if type(result) is bool else None


# Methods whose answers are built from what Pana reads, and how: the ones of every turn.
LEAN_RESULTS: dict[type[TelegramMethod[Any]], Callable[[Any, Bot], Any]] = {
    SendMessage: sent_message,
    AnswerCallbackQuery: plain_bool,
    DeleteMessage: plain_bool,
}
