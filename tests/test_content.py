"""The real content/ passes the check; every kind of problem in broken content is reported."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.content.check import check_catalog
from bot.content.loader import load_catalog, read_catalog
from bot.errors import ContentInvalid
from tests.conftest import PANA, REPO

CONTENT = REPO / "content"


def test_real_content_has_no_errors() -> None:
    problems = check_catalog(read_catalog(CONTENT))
    assert [str(p) for p in problems if p.is_error] == []


def test_every_topic_intent_has_content_in_three_languages() -> None:
    catalog = load_catalog(CONTENT)
    topics = {i.id for i in catalog.intents.values() if i.kind == "topic"}
    assert set(catalog.topics) == topics
    for entry in catalog.topics.values():
        assert all(entry.answer.get(language) for language in ("kk", "ru", "en"))
        assert entry.sources


def test_intent_contract_matches_the_shared_spec() -> None:
    shared = REPO.parent / "shared" / "spec" / "intents.yml"
    if not shared.exists():
        pytest.skip("shared/spec is not beside this checkout")
    assert yaml.safe_load(shared.read_text()) == yaml.safe_load((CONTENT / "intents.yml").read_text())


def test_content_check_command_passes() -> None:
    done = subprocess.run([*PANA, "content", "check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stdout


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the real content to break in one place per test."""
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy)
    return copy


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def _errors(content: Path) -> list[str]:
    return [p.message for p in check_catalog(read_catalog(content)) if p.is_error]


def test_missing_language_is_reported(broken: Path) -> None:
    _edit(broken / "topics/asylum_apply.yml", lambda d: d["answer"].pop("kk"))
    assert any("asylum_apply.yml: answer.kk" in e for e in _errors(broken))


def test_unknown_intent_and_missing_entry_are_reported(broken: Path) -> None:
    (broken / "topics/asylum_apply.yml").rename(broken / "topics/asylum_aply.yml")
    errors = _errors(broken)
    assert any("unknown intent 'asylum_aply'" in e or "does not match" in e for e in errors)
    assert any("'asylum_apply' has no content entry" in e for e in errors)


def test_text_too_long_for_whatsapp_is_reported(broken: Path) -> None:
    _edit(broken / "topics/healthcare.yml", lambda d: d["answer"].update(ru="Очень длинный текст. " * 100))
    assert any("healthcare.yml: answer.ru" in e and "over the limit" in e for e in _errors(broken))


def test_missing_sources_are_reported(broken: Path) -> None:
    _edit(broken / "topics/education.yml", lambda d: d.update(sources=[]))
    assert any("education.yml: sources" in e for e in _errors(broken))


def test_unlisted_phone_and_url_are_reported(broken: Path) -> None:
    _edit(
        broken / "topics/education.yml",
        lambda d: d["answer"].update(en=d["answer"]["en"] + " Call +7 701 000 00 00 or see https://example.org/x"),
    )
    errors = _errors(broken)
    assert any("phone '+7 701 000 00 00'" in e for e in errors)
    assert any("https://example.org/x" in e for e in errors)


def test_placeholder_and_past_review_date_are_reported(broken: Path) -> None:
    def change(d):  # type: ignore[no-untyped-def]
        d["answer"]["kk"] += " TODO"
        d["review_by"] = dt.date(2020, 1, 1)

    _edit(broken / "topics/education.yml", change)
    errors = _errors(broken)
    assert any("placeholder 'TODO'" in e for e in errors)
    assert any("review_by 2020-01-01 has passed" in e for e in errors)


def test_review_due_soon_is_a_warning_not_an_error(broken: Path) -> None:
    soon = dt.date.today() + dt.timedelta(days=10)
    _edit(broken / "topics/education.yml", lambda d: d.update(review_by=soon))
    problems = check_catalog(read_catalog(broken))
    assert any("within 60 days" in p.message and not p.is_error for p in problems)


def test_an_overdue_review_fails_the_check_but_not_the_running_service(broken: Path) -> None:
    _edit(broken / "topics/education.yml", lambda d: d.update(review_by=dt.date(2020, 1, 1)))
    assert any("review_by 2020-01-01 has passed" in e for e in _errors(broken))
    assert "education" in load_catalog(broken).topics


def test_loader_refuses_to_start_on_broken_content(broken: Path) -> None:
    (broken / "topics/education.yml").write_text("id: [unclosed\n")
    with pytest.raises(ContentInvalid) as raised:
        load_catalog(broken)
    assert any("education.yml" in p for p in raised.value.problems)


def test_content_check_exits_non_zero_on_error(broken: Path) -> None:
    _edit(broken / "topics/education.yml", lambda d: d.update(sources=[]))
    done = subprocess.run(
        [*PANA, "content", "check"],
        capture_output=True,
        text=True,
        env={"PANA_CONTENT_DIR": str(broken), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1
    assert "ERROR" in done.stdout
