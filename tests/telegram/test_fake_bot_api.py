"""The Bot API stand-in answers as Telegram does, whichever encoding a request comes in."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("content_type", ["form", "json"])
async def test_the_bot_api_stand_in_reads_json_as_it_reads_a_form(content_type: str) -> None:
    """As Telegram does: `{"chat_id": 7}` and `chat_id=7` are one request (tests/telegram/fake_bot_api.py)."""
    api = FakeBotApi()
    await api.start()
    fields = {"chat_id": 777, "text": "Салем", "reply_markup": {"inline_keyboard": [[{"text": "a", "url": "x"}]]}}
    try:
        async with aiohttp.ClientSession() as http:
            url = f"{api.base_url}/bot{TOKEN}/sendMessage"
            if content_type == "json":
                request = http.post(url, json=fields)
            else:
                form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
                request = http.post(url, data=form)
            async with request as response:
                assert response.status == 200
                assert (await response.json())["result"]["text"] == "Салем"
    finally:
        await api.close()
    assert api.delivered() == [
        {"chat_id": "777", "text": "Салем", "reply_markup": {"inline_keyboard": [[{"text": "a", "url": "x"}]]}}
    ]
