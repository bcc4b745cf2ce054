"""A local stand-in for the Telegram Bot API: records calls, answers like Telegram, fails on demand."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.telegram.callbacks import OptionCallback, pack

BOT_ID = 123456
TOKEN = f"{BOT_ID}:TEST-token"
# Webhook mode (the only mode with a webhook route); Telegram itself is never told in tests.
WEBHOOK_URL = "http://127.0.0.1/telegram/webhook"
BOT_USERNAME = "PanaTestBot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None  # what the stand-in answered (e.g. the sent Message, with its message_id)
    at: float = field(default_factory=time.monotonic)  # when it arrived: how long a client waited between tries
    status: int = 200
    content_type: str = ""  # how the request came: a form, multipart or JSON


@dataclass
class FakeBotApi:
    """Run with `await api.start()`; point aiogram at `api.base_url`."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _server: TestServer | None = None
    _next_message_id: int = 1000
    _in_chats: set[tuple[str, str]] = field(default_factory=set)  # (chat id, message id) the bot sent, not deleted

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1) -> None:
        description = "Too Many Requests: retry later" if status == 429 else f"Error {status}"
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if status == 429:
            body["parameters"] = {"retry_after": retry_after}
        self.failures.setdefault(method, []).append((status, body))

    def outage(self, method: str, *statuses: int, retry_after: int = 1) -> None:
        """The next calls of `method` fail with these statuses in turn (a 429 asks to wait `retry_after`)."""
        for status in statuses:
            self.fail_next(method, status, retry_after)

    def delivered(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """What the stand-in accepted (failed attempts left out)."""
        return [c.params for c in self.calls if c.method == method and c.status == 200]

    def queue_update(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new_update.set()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.sent(method)) >= count:
                return self.sent(method)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{method} called {len(self.sent(method))} times, expected {count}")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        try:
            fields = await self._fields(request)
        except ValueError:
            body = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON object"}
            return web.json_response(body, status=400)
        params: dict[str, Any] = {}
        for key, text in fields.items():
            try:
                params[key] = json.loads(text) if text[:1] in "[{" else text
            except ValueError:
                params[key] = text
        call = Call(method, params, content_type=request.content_type)
        self.calls.append(call)
        if self.failures.get(method):
            status, body = self.failures[method].pop(0)
            call.status = status
            return web.json_response(body, status=status)
        if (
            method == "deleteMessage"
            and (str(params.get("chat_id")), str(params.get("message_id"))) not in self._in_chats
        ):
            body = {"ok": False, "error_code": 400, "description": "Bad Request: message to delete not found"}
            return web.json_response(body, status=400)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        call.result = self._result(method, params)
        return web.json_response({"ok": True, "result": call.result})

    @staticmethod
    async def _fields(request: web.Request) -> dict[str, str]:
        """The request's fields as text, from a form or, as Telegram also accepts, a JSON object.

        The Bot API server reads a JSON object's fields as it reads a form's: a string as it is, any other value
        as its JSON text (tdlib's `HttpReader::parse_json_parameters`), so `{"chat_id": 7}` and `chat_id=7` are
        the same request. A file cannot come as JSON.
        """
        if request.content_type == "application/json":
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
        form = await request.post()
        return {key: value if isinstance(value, str) else "" for key, value in form.items()}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(float(params.get("timeout") or 0), 2))
            except TimeoutError:
                return []
        return [u for u in self.updates if u["update_id"] >= offset]

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Pana", "username": BOT_USERNAME}
        if method == "sendMessage":
            self._next_message_id += 1
            chat_id = int(params["chat_id"])
            self._in_chats.add((str(chat_id), str(self._next_message_id)))
            return {
                "message_id": self._next_message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pana", "username": BOT_USERNAME},
                "text": params.get("text", ""),
            }
        if method == "deleteMessage":
            self._in_chats.discard((str(params["chat_id"]), str(params["message_id"])))
        return True


def private_message(
    update_id: int, text: str, *, chat_id: int = 777, language: str | None = "ru", **extra: Any
) -> dict[str, Any]:
    """A real-shaped Update with a private text message."""
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Test"}
    if language:
        user["language_code"] = language
    message: dict[str, Any] = {
        "message_id": update_id * 10,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        "from": user,
        **extra,
    }
    if text:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def signed(payload: str, chat_id: int = 777) -> str:
    """The callback data of a button Pana put into this chat (signed as the bot does)."""
    return pack(TOKEN, chat_id, payload)


def button_payload(callback_data: str) -> str:
    return OptionCallback.unpack(callback_data).payload


def button_press(update_id: int, data: str, *, chat_id: int = 777, language: str = "ru") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": language},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pana"},
                "text": "options",
            },
        },
    }
