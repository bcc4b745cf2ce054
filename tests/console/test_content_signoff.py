"""Content sign-off on the web: the version a reviewer saw, recorded with who and when; never in content/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.console.content import LastSignOff, last_sign_off, state_of
from bot.content.reviews import SignOff, content_version
from bot.records.console import ContentSignOff
from bot.records.staff import Role
from bot.storage.handoff_tables import AuditRow
from bot.storage.staff_tables import ContentSignOffRow
from tests.conftest import REPO, record
from tests.console.conftest import ConsoleStack

FORM = re.compile(
    r'action="/console/content/([a-z_]+)/sign-off"[^>]*>\s*<input[^>]+>\s*'
    r'<input type="hidden" name="version" value="([0-9a-f]+)"'
)
DAY = dt.date(2026, 11, 30)


def _row(page: str, topic: str) -> str:
    return page.split(f'<small class="hint">{topic}</small>')[1].split("</tr>")[0]


@pytest.mark.fast
def test_the_newer_sign_off_decides_and_a_new_version_shows_as_changed() -> None:
    in_file = LastSignOff("Aigerim", DAY, "a" * 16, on_web=False)
    on_web = ContentSignOff("asylum_apply", "b" * 16, "Sara", dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC))
    assert last_sign_off(in_file, on_web) == in_file, "the file's is newer"
    later = ContentSignOff("asylum_apply", "b" * 16, "Sara", dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
    assert last_sign_off(in_file, later) == LastSignOff("Sara", DAY, "b" * 16, on_web=True), "same day: the web's"
    assert state_of(None, "b" * 16) is SignOff.NEVER
    assert state_of(LastSignOff("Sara", DAY, "b" * 16, True), "b" * 16) is SignOff.CURRENT
    assert state_of(LastSignOff("Sara", DAY, "b" * 16, True), "c" * 16) is SignOff.CHANGED


@pytest.mark.asyncio
async def test_a_supervisor_signs_off_the_version_they_saw(console_stack: ConsoleStack) -> None:
    stack = console_stack
    sara = await stack.add_staff("sara", Role.SUPERVISOR)
    await stack.add_staff("aigerim", Role.LAWYER)
    content_files = {path: path.stat().st_mtime_ns for path in (REPO / "content").rglob("*")}
    browser = await stack.staff("sara")
    await browser.get("/console/content")
    assert browser.status == 200 and "Applying for asylum" in browser.page, "topics by title"
    forms = FORM.findall(browser.page)
    assert forms, "some topic is not signed off in its current version"
    topic, version = forms[0]
    entry = stack.desk.catalog.topics[topic]
    assert version == content_version(entry)

    await browser.post(f"/console/content/{topic}/sign-off", version="0" * 16)
    assert browser.url.endswith("?done=changed"), "a version nobody saw is not signed off"
    await browser.post(f"/console/content/{topic}/sign-off", csrf="forged", version=version)
    assert browser.status == 403
    lawyer = await stack.staff("aigerim")
    await lawyer.post(f"/console/content/{topic}/sign-off", version=version)
    assert lawyer.status == 403, "supervisors and admins only"
    async with record(stack.app)() as session:
        assert (await session.execute(select(ContentSignOffRow))).first() is None

    await browser.get("/console/content")
    await browser.post(f"/console/content/{topic}/sign-off", version=version)
    assert browser.url.endswith("?done=signed")
    row = _row(browser.page, topic)
    assert "signed off" in row and "Sara" in row and "never signed off" not in row
    async with record(stack.app)() as session:
        signed = (await session.execute(select(ContentSignOffRow))).scalars().one()
        audit = (await session.execute(select(AuditRow).where(AuditRow.action == "content_signed_off"))).scalars().one()
    assert (signed.topic, signed.version, signed.staff_id) == (topic, version, sara.id)
    assert audit.staff_id == sara.id

    # the same topic rewritten since: its sign-off is for another version now
    async with record(stack.app)() as session:
        session.add(ContentSignOffRow(topic=topic, version="f" * 16, staff_id=sara.id, signed_at=stack.clock()))
        await session.commit()
    await browser.get("/console/content")
    assert "changed since sign-off" in _row(browser.page, topic)
    assert {path: path.stat().st_mtime_ns for path in (REPO / "content").rglob("*")} == content_files, (
        "the web never writes to content/"
    )
