"""`pana content check` counts the web console's sign-offs beside content/reviews.yml, and works without a database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.content.loader import read_catalog
from bot.content.reviews import content_version
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
