"""aiogram's HTTP session: response models kept alive, and requests without a file posted as JSON."""

from __future__ import annotations

from typing import Any, cast

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout

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
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)
