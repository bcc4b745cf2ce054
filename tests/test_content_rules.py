"""The crisis-reading rules of `pana content check`: asylum wording, lawyer promises, short answers,
the shown review date and lawyers' sign-offs."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.content.check import ANSWER_LIMIT, check_catalog, check_ui_strings
from bot.content.loader import read_catalog
from bot.content.reviews import SignOff, content_version, sign_off
from bot.content.wording import asylum_as_housing, lawyer_promise
from bot.core.answers import Answers
from bot.i18n import Translations, catalog_strings
from tests.conftest import REPO

CONTENT = REPO / "content"
PANA = str(REPO / ".venv/bin/pana")


@pytest.mark.parametrize(
    "text",
    [
        "Баспана іздеуші куәлігін көрсетіңіз.",
        "Баспана сұрау үшін басқармаға барыңыз.",
        "Баспана және босқындар",
        "босқындар мен баспана іздеушілер тегін көмек алады",
        "Мен Қазақстандағы баспана, босқын мәртебесі туралы айтамын.",
        "саяси баспана берілмеді",
        "баспана іздеген адамның куәлігі",
        "баспана туралы өтініш",
        "Баспана ісін қарау",
        "баспана рәсімі",
        "Баспанадан бас тартылса",
    ],
)
def test_baspana_for_asylum_is_caught(text: str) -> None:
    assert asylum_as_housing(text)


@pytest.mark.parametrize(
    "text",
    [
        "Пана іздеген адамның куәлігін көрсетіңіз.",
        "Пана сұрау үшін басқармаға барыңыз.",
        "Дағдарыс орталығы уақытша баспана береді.",
        "Уақытша баспана сұраңыз.",
        "Баспананы жалға алғанда шарт жасаңыз.",
        "Пәтер не баспана іздегенде алаяқтардан сақ болыңыз.",
        "Босқындар мен пана іздеген адамдар",
    ],
)
def test_shelter_and_housing_keep_the_word_baspana(text: str) -> None:
    assert asylum_as_housing(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "You can reach a lawyer at once through Pana.",
        "Через Pana можно сразу связаться с юристом.",
        "Pana арқылы заңгермен бірден байланыса аласыз.",
        "A lawyer will answer you any time.",
        "Юрист доступен сразу через Pana.",
    ],
)
def test_a_promise_of_a_lawyer_at_once_is_caught(text: str) -> None:
    assert lawyer_promise(text)


@pytest.mark.parametrize(
    "text",
    [
        "Talk to UNHCR or a lawyer at once.",
        "Call 112 at once. A lawyer works set hours.",
        "Сразу обратитесь к юристу.",
        "Дереу 112-ге қоңырау шалыңыз. Заңгерге жазыңыз.",
    ],
)
def test_urging_someone_to_act_at_once_is_allowed(text: str) -> None:
    assert lawyer_promise(text) is None


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy)
    return copy


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def _problems(content: Path) -> list[tuple[bool, str]]:
    return [(p.is_error, p.message) for p in check_catalog(read_catalog(content))]


def test_a_main_answer_over_600_characters_is_an_error(broken: Path) -> None:
    _edit(broken / "topics/education.yml", lambda d: d["answer"].update(en="Go to the school office. " * 30))
    assert any(
        error and "education.yml: answer.en" in message and f"over the limit of {ANSWER_LIMIT}" in message
        for error, message in _problems(broken)
    )


def test_baspana_in_a_topic_a_button_and_a_contact_is_an_error(broken: Path) -> None:
    _edit(broken / "topics/education.yml", lambda d: d["answer"].update(kk=d["answer"]["kk"] + " Баспана сұраңыз."))
    _edit(broken / "menu.yml", lambda d: d["categories"][0]["label"].update(kk="Баспана және босқындар"))
    _edit(broken / "contacts.yml", lambda d: d["organisations"][0]["what"].update(kk="Баспана іздеушілерге көмек."))
    errors = [message for error, message in _problems(broken) if error and "«баспана»" in message]
    assert any(m.startswith("topics/education.yml: answer.kk") for m in errors)
    assert any(m.startswith("menu.yml: categories.") for m in errors)
    assert any(m.startswith("contacts.yml: ") for m in errors)


def test_an_urgent_topic_without_112_in_its_first_line_is_an_error(broken: Path) -> None:
    def change(d):  # type: ignore[no-untyped-def]
        d["answer"]["kk"] = "Қауіпсіз жерге барыңыз.\n" + d["answer"]["kk"]

    _edit(broken / "topics/violence_support.yml", change)
    _edit(broken / "topics/education.yml", change)  # not urgent: no such rule
    errors = [message for error, message in _problems(broken) if error and "first line" in message]
    assert errors == ["topics/violence_support.yml: answer.kk: an urgent topic gives 112 in its first line"]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_urgent_topics_and_healthcare_lead_with_the_emergency_numbers(language: str) -> None:
    topics = read_catalog(CONTENT).topics
    first = {t: topics[t].answer.get(language).splitlines()[0] for t in topics}  # type: ignore[arg-type]
    for urgent in ("emergency", "detention_deportation", "violence_support", "trafficking_forced_labour"):
        assert "112" in first[urgent]
    assert all(number in first["emergency"] for number in ("101", "102", "103", "104"))
    assert "111" in topics["violence_support"].answer.get(language)  # type: ignore[arg-type]
    assert "103" in first["healthcare"] and "112" in first["healthcare"]


def test_a_lawyer_promise_in_a_follow_up_is_an_error(broken: Path) -> None:
    def change(d):  # type: ignore[no-untyped-def]
        d["followups"][0]["text"]["ru"] += "\nЧерез Pana можно сразу связаться с юристом."

    _edit(broken / "topics/education.yml", change)
    assert any(error and "promises a lawyer at once" in message for error, message in _problems(broken))


def test_the_kazakh_ui_catalog_does_not_use_baspana_for_asylum() -> None:
    assert check_ui_strings(catalog_strings(REPO / "locales", "kk")) == []
    assert check_ui_strings({"Welcome": "Баспана іздеушілерге көмектесемін."})


@pytest.mark.parametrize(
    ("language", "line"),
    [("en", "Checked: November 2026"), ("ru", "Проверено: ноябрь 2026"), ("kk", "2026 жылғы қараша")],
)
def test_every_answer_ends_with_its_review_month_in_the_persons_language(language: str, line: str) -> None:
    catalog = read_catalog(CONTENT)
    entry = catalog.topics["education"].model_copy(update={"reviewed_on": dt.date(2026, 11, 23)})
    answers = Answers.translated(catalog, Translations(REPO / "locales"), language)  # type: ignore[arg-type]
    text = answers.topic(entry)[0].text
    main = entry.answer.get(language)  # type: ignore[arg-type]
    assert text.startswith(main)
    assert line in text[len(main) :].splitlines()[2]


def test_the_review_line_is_not_counted_in_the_answer_limit() -> None:
    catalog = read_catalog(CONTENT)
    for entry in catalog.topics.values():
        assert "Checked" not in entry.answer.en and "Проверено" not in entry.answer.ru


def _pana(content: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PANA_CONTENT_DIR": str(content)}
    return subprocess.run([PANA, "content", *args], capture_output=True, text=True, env=env)


def test_review_records_who_checked_which_version_and_check_warns_until_then(broken: Path) -> None:
    (broken / "reviews.yml").unlink(missing_ok=True)
    assert any(not e and "education.yml: never signed off" in m for e, m in _problems(broken))

    done = _pana(broken, "review", "education", "--by", "A. Lawyer", "--note", "school rules checked")
    assert done.returncode == 0, done.stderr
    catalog = read_catalog(broken)
    entry = catalog.topics["education"]
    (review,) = catalog.reviews
    assert (review.topic, review.by, review.note, review.on) == (
        "education",
        "A. Lawyer",
        "school rules checked",
        dt.date.today(),
    )
    assert review.version == content_version(entry) and review.version in done.stdout
    assert sign_off(entry, catalog.reviews) is SignOff.CURRENT
    assert not any(
        "education.yml: never signed off" in m or "education.yml: changed" in m for _, m in _problems(broken)
    )

    _edit(broken / "topics/education.yml", lambda d: d["answer"].update(en="Go to the school office first."))
    assert any(not e and "education.yml: changed since sign-off" in m for e, m in _problems(broken))


def test_re_dating_a_topic_does_not_void_its_sign_off(broken: Path) -> None:
    catalog = read_catalog(broken)
    entry = catalog.topics["education"]
    later = entry.model_copy(update={"reviewed_on": dt.date(2026, 1, 1), "review_by": dt.date(2027, 6, 1)})
    assert content_version(later) == content_version(entry)
    changed = entry.model_copy(update={"verify": (*entry.verify, "new point")})
    assert content_version(changed) != content_version(entry)


def test_review_keeps_earlier_sign_offs_and_refuses_an_unknown_topic(broken: Path) -> None:
    (broken / "reviews.yml").unlink(missing_ok=True)
    assert _pana(broken, "review", "education", "--by", "First").returncode == 0
    assert _pana(broken, "review", "education", "--by", "Second").returncode == 0
    assert [r.by for r in read_catalog(broken).reviews] == ["First", "Second"]
    missing = _pana(broken, "review", "no_such_topic", "--by", "X")
    assert missing.returncode == 1 and "no content entry" in missing.stderr


def test_review_refuses_to_overwrite_an_unreadable_log(broken: Path) -> None:
    (broken / "reviews.yml").write_text("reviews: [{topic: education}]\n")
    done = _pana(broken, "review", "education", "--by", "X")
    assert done.returncode == 1 and "cannot be read" in done.stderr
    assert (broken / "reviews.yml").read_text() == "reviews: [{topic: education}]\n"


def test_export_includes_the_version_and_the_last_sign_off(broken: Path) -> None:
    (broken / "reviews.yml").unlink(missing_ok=True)
    assert _pana(broken, "review", "education", "--by", "A. Lawyer").returncode == 0
    exported = {e["id"]: e for e in json.loads(_pana(broken, "export", "--json").stdout)}
    education = exported["education"]
    assert education["sign_off"]["state"] == "current"
    assert education["sign_off"]["last"]["by"] == "A. Lawyer"
    assert education["sign_off"]["last"]["version"] == education["version"]
    assert exported["healthcare"]["sign_off"] == {"state": "never", "last": None}
