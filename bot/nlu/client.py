"""The Rasa HTTP client: the only way the bot talks to the NLU server (`POST /model/parse`)."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from typing import Any

import orjson

from bot.core.language import LanguageDetector
from bot.core.ports import Classification, IntentScore
from bot.errors import ConfigurationError, NluUnavailable
from bot.nlu.auth import RequestSigner
from bot.nlu.http import JsonPoster
from bot.nlu.long_text import combine, question_sentence
from bot.nlu.normalize import normalize
from bot.nlu.transliterate import cyrillic_reading
from bot.settings import RasaSettings

log = logging.getLogger(__name__)

# Rasa's cost grows with the text; the question usually comes last in a long story.
MAX_PARSE_CHARS = 1000
_CONFIDENCE = operator.attrgetter("confidence")


class RasaClient:
    """Classify texts through a running Rasa server, within a timeout."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        auth: Callable[[], dict[str, str]] = dict,
        normalizer: Callable[[str], str] = normalize,
        question_weight: float = 0.0,
        latin_weight: float = 0.0,
        detector: LanguageDetector | None = None,
    ) -> None:
        self._normalize = normalizer
        self._question_weight = question_weight
        self._latin_weight = latin_weight
        self._detector = detector or LanguageDetector()
        self._auth = auth  # headers per request: the JWT expires, and a restarted server has a new secret
        try:
            self._http = JsonPoster(f"{base_url.rstrip('/')}/model/parse", timeout=timeout)
        except ValueError as error:  # a wrong RASA_URL fails the start, not every message
            raise ConfigurationError(f"RASA_URL: {error}") from None

    @classmethod
    def from_settings(
        cls,
        rasa: RasaSettings,
        normalizer: Callable[[str], str] = normalize,
        detector: LanguageDetector | None = None,
    ) -> RasaClient:
        """The server the settings name, signing each request with its current secret (a header, never a URL).

        `detector`: the process's own, so lingua's models load once per worker, not once per client too.
        The headers are signed again only when the secret changes or the token is half-way to expiry."""
        return cls(
            rasa.base_url,
            timeout=rasa.timeout,
            auth=RequestSigner(rasa).headers,
            normalizer=normalizer,
            question_weight=rasa.question_weight,
            latin_weight=rasa.latin_weight,
            detector=detector,
        )

    async def classify(self, text: str) -> Classification:
        cleaned = self._normalize(text)[-MAX_PARSE_CHARS:]
        if not cleaned:
            return Classification(ranking=())
        result = await self._classify_story(cleaned)
        # Kazakh or Russian typed in Latin letters is also read in Cyrillic, where most training rows are
        cyrillic = cyrillic_reading(cleaned, self._detector) if self._latin_weight > 0 else None
        if cyrillic is None:
            return result
        return combine(result, await self._classify_story(cyrillic), self._latin_weight)

    async def _classify_story(self, cleaned: str) -> Classification:
        whole = await self._parse(cleaned)
        question = question_sentence(cleaned) if self._question_weight > 0 else None
        if question is None:
            return whole
        return combine(whole, await self._parse(question), self._question_weight)

    async def _parse(self, cleaned: str) -> Classification:
        request = orjson.dumps({"text": cleaned})  # UTF-8, where json.dumps escapes every Cyrillic letter
        try:
            answer = await self._http.post(request, self._auth())
            if answer.status != 200:
                raise NluUnavailable(f"Rasa answered HTTP {answer.status}")
            body = orjson.loads(answer.body)
        except (TimeoutError, OSError, ValueError) as error:  # HttpError and orjson's errors are ValueErrors
            raise NluUnavailable(f"Rasa did not answer: {type(error).__name__}") from error
        return parse_response(body)

    async def close(self) -> None:
        await self._http.close()


def parse_response(body: Any) -> Classification:
    """Turn Rasa's JSON into a Classification, refusing shapes we do not understand."""
    try:
        ranking = body.get("intent_ranking") or [body["intent"]]
        scores = [
            IntentScore(name=str(item["name"]), confidence=float(item["confidence"]))
            for item in ranking
            if item and item.get("name")
        ]
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise NluUnavailable("Rasa answered with an unexpected shape") from error
    # best first; a stable sort, so equal confidences keep Rasa's order (as `key=-confidence` did)
    scores.sort(key=_CONFIDENCE, reverse=True)
    return Classification(ranking=tuple(scores))
