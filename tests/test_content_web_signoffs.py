"""`pana content check` and `export` count the web console's sign-offs beside content/reviews.yml, and work without
a database."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.content.loader import read_catalog
from bot.content.reviews import content_version, record_review
from bot.keys import Keyring
from bot.records.staff import Role
from bot.settings import DatabaseSettings
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.signoffs import SqlSignOffStore
from bot.storage.staff import SqlStaffStore
from tests.conftest import PANA, REPO
from tests.keys import TEST_KEY

SIGNED_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
ON_WEB = "education"  # signed off on the web in its current version
STALE_ON_WEB = "unhcr_contact"  # signed off on the web, but in a version the content no longer has
IN_FILE = "violence_support"  # signed off with `pana content review`


@pytest.fixture
def content(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(REPO / "content", copy)
    return copy


def _check(content: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PANA_CONTENT_DIR": str(content), "DATABASE_URL": database_url}
    return subprocess.run([*PANA, "content", "check"], capture_output=True, text=True, env=env, check=False)


async def _sign_off_on_the_web(database_url: str, content: Path) -> None:
    engine = create_engine(DatabaseSettings(url=database_url), Keyring.parse(TEST_KEY))
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        sara = await SqlStaffStore(sessions).add(
            username="sara",
            name="Sara",
            role=Role.SUPERVISOR,
            password_hash="not-used",
            languages=("en",),
            telegram_id=None,
            now=SIGNED_AT,
        )
        topics = read_catalog(content).topics
        signoffs = SqlSignOffStore(sessions)
        await signoffs.sign_off(ON_WEB, content_version(topics[ON_WEB]), sara, SIGNED_AT)
        await signoffs.sign_off(STALE_ON_WEB, "0" * 16, sara, SIGNED_AT)
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_a_current_web_sign_off_counts_and_the_check_says_where_each_came_from(
    database_url: str, content: Path
) -> None:
    await _sign_off_on_the_web(database_url, content)
    reviewed = subprocess.run(
        [*PANA, "content", "review", IN_FILE, "--by", "Aigerim"],
        capture_output=True,
        text=True,
        env={**os.environ, "PANA_CONTENT_DIR": str(content)},
        check=False,
    )
    assert reviewed.returncode == 0, reviewed.stderr

    done = _check(content, database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"{ON_WEB}.yml: never signed off" not in out
    assert f"signed off: topics/{ON_WEB}.yml by Sara on 2026-11-30 (the web console)" in out
    assert f"signed off: topics/{IN_FILE}.yml by Aigerim on {dt.date.today()} (content/reviews.yml)" in out
    stale = (
        f"warning: topics/{STALE_ON_WEB}.yml: changed since sign-off by a lawyer (last: Sara, 2026-11-30, in the web"
    )
    assert stale in out
    assert "web sign-offs: read from the database (2 topic(s) signed off there)" in out
    assert database_url.split("@")[-1] not in out + done.stderr, "the check never prints where the database is"


def test_without_a_database_the_file_alone_decides_and_no_database_is_created(content: Path, tmp_path: Path) -> None:
    missing = tmp_path / "var" / "pana.db"
    done = _check(content, f"sqlite:///{missing}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"warning: topics/{ON_WEB}.yml: never signed off by a lawyer" in done.stdout
    assert "web sign-offs: none read: no database (only content/reviews.yml counts)" in done.stdout
    assert not missing.exists() and not missing.parent.exists()


def test_a_database_that_does_not_answer_leaves_the_file_to_decide(content: Path) -> None:
    done = _check(content, "postgresql://pana@127.0.0.1:9/pana")  # the discard port: nothing listens there
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"warning: topics/{ON_WEB}.yml: never signed off by a lawyer" in done.stdout
    assert "web sign-offs: none read: the database could not be read" in done.stdout


def _export(content: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PANA_CONTENT_DIR": str(content), "DATABASE_URL": database_url}
    return subprocess.run([*PANA, "content", "export", "--json"], capture_output=True, text=True, env=env, check=False)


def _sign_off_in_the_file(content: Path, topic: str, on: dt.date, note: str | None = None) -> None:
    catalog = read_catalog(content)
    record_review(content, catalog.topics[topic], catalog.reviews, "Aigerim", note, today=on)


@pytest.mark.asyncio
async def test_the_export_shows_the_sign_off_that_stands_for_each_topic_as_the_check_does(
    database_url: str, content: Path
) -> None:
    """Regression: the export showed only content/reviews.yml, so a topic signed off on the web read "never"."""
    await _sign_off_on_the_web(database_url, content)  # ON_WEB current, STALE_ON_WEB an old version; 30 November
    _sign_off_in_the_file(content, ON_WEB, dt.date(2026, 11, 1))  # older than the web's: the web's stands
    _sign_off_in_the_file(content, STALE_ON_WEB, dt.date(2026, 12, 1), note="re-read")  # newer: the file's stands
    _sign_off_in_the_file(content, IN_FILE, dt.date(2026, 12, 1))

    done = _export(content, database_url)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    exported = {entry["id"]: entry for entry in json.loads(done.stdout)}
    on_web = exported[ON_WEB]["sign_off"]
    assert on_web == {
        "state": "current",
        "last": {"by": "Sara", "on": "2026-11-30", "version": exported[ON_WEB]["version"], "where": "web"},
    }
    assert exported[STALE_ON_WEB]["sign_off"] == {
        "state": "current",
        "last": {
            "by": "Aigerim",
            "on": "2026-12-01",
            "version": exported[STALE_ON_WEB]["version"],
            "where": "file",
            "note": "re-read",
        },
    }
    assert exported["healthcare"]["sign_off"] == {"state": "never", "last": None}

    checked = _check(content, database_url).stdout
    for topic, entry in exported.items():  # one rule: what the check calls signed off, the export calls current
        mark = entry["sign_off"]["last"]
        where = {"web": "the web console", "file": "content/reviews.yml", None: None}[mark and mark["where"]]
        line = f"signed off: topics/{topic}.yml by {mark and mark['by']} on {mark and mark['on']} ({where})"
        assert (line in checked) == (entry["sign_off"]["state"] == "current"), topic


@pytest.mark.asyncio
async def test_a_stale_web_sign_off_newer_than_the_file_makes_the_export_say_changed(
    database_url: str, content: Path
) -> None:
    _sign_off_in_the_file(content, STALE_ON_WEB, dt.date(2026, 11, 1))  # the current version, in the file
    await _sign_off_on_the_web(database_url, content)  # then an older version on the web, later: it stands
    exported = {entry["id"]: entry for entry in json.loads(_export(content, database_url).stdout)}
    stale = exported[STALE_ON_WEB]["sign_off"]
    assert stale["state"] == "changed" and stale["last"]["where"] == "web" and stale["last"]["version"] == "0" * 16


def test_the_export_says_in_one_line_when_no_database_is_reachable(content: Path, tmp_path: Path) -> None:
    for database_url, why in [
        (f"sqlite:///{tmp_path / 'var' / 'pana.db'}", "no database"),
        ("postgresql://pana@127.0.0.1:9/pana", "the database could not be read"),  # nothing listens there
    ]:
        done = _export(content, database_url)
        assert done.returncode == 0, done.stderr
        (line,) = done.stderr.splitlines()  # one line
        assert line.startswith(f"pana: web sign-offs: none read: {why}"), line
        assert "127.0.0.1" not in done.stderr, "the export never prints where the database is"
        exported = {entry["id"]: entry for entry in json.loads(done.stdout)}  # stdout stays JSON
        assert exported[ON_WEB]["sign_off"] == {"state": "never", "last": None}
