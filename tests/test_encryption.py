"""Encryption at rest: the keyring, sealed columns on SQLite and PostgreSQL, migration 0007, rotation."""

from __future__ import annotations

import datetime as dt
import logging
import stat
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from bot.console.totp import new_secret
from bot.core.messages import IncomingMessage
from bot.keys import KEY_FILE, Keyring, KeyringError, load_keyring, new_key
from bot.records.staff import Role
from bot.settings import DatabaseSettings
from bot.storage.commits import Commits
from bot.storage.database import alembic_config, create_engine, migrate, session_factory
from bot.storage.repository import SqlConversationStore
from bot.storage.rotation import rotate
from bot.storage.staff import SqlStaffStore
from bot.storage.whatsapp import SqlWhatsAppLedger
from tests.keys import TEST_KEY, TEST_KEYRING

MARKER = "Aigerim sleeps in the boiler room of school 41"
PHONE = "+77015550199"
CHAT = "987654321"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.mark.fast
def test_sealed_text_opens_only_with_a_listed_key_and_never_repeats() -> None:
    first, second = TEST_KEYRING.seal(MARKER), TEST_KEYRING.seal(MARKER)
    assert first != second and MARKER not in first
    assert TEST_KEYRING.open(first) == MARKER
    with pytest.raises(KeyringError, match="not listed"):
        Keyring.parse(new_key()).open(first)
    tampered = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
    with pytest.raises(KeyringError):
        TEST_KEYRING.open(tampered)
    with pytest.raises(KeyringError, match="not sealed"):
        TEST_KEYRING.open(MARKER)


@pytest.mark.fast
def test_rotation_writes_with_the_first_key_and_reads_with_all() -> None:
    newer = new_key()
    rotated = Keyring.parse(f"{newer}, {TEST_KEY}")
    old_token = TEST_KEYRING.seal(MARKER)
    assert rotated.open(old_token) == MARKER
    assert not rotated.sealed_with_current(old_token)
    assert rotated.sealed_with_current(rotated.seal(MARKER))
    assert rotated.blinds(PHONE) == (Keyring.parse(newer).blind(PHONE), TEST_KEYRING.blind(PHONE))
    assert rotated.blind(PHONE) != TEST_KEYRING.blind(PHONE)


@pytest.mark.fast
def test_keys_never_show_and_bad_keys_are_refused() -> None:
    assert TEST_KEY not in repr(TEST_KEYRING) and TEST_KEY not in str(TEST_KEYRING)
    with pytest.raises(KeyringError, match="32 bytes"):
        Keyring.parse("c2hvcnQ=")
    with pytest.raises(KeyringError, match="at least one"):
        Keyring.parse(" , ")


@pytest.mark.fast
def test_lookup_hash_differs_from_a_plain_hash_and_from_the_sealing_key() -> None:
    import hashlib

    assert TEST_KEYRING.blind(PHONE) != hashlib.sha256(PHONE.encode()).hexdigest()
    assert len(TEST_KEYRING.blind(PHONE)) == 64


@pytest.mark.fast
def test_a_laptop_without_keys_gets_a_private_key_file_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    var = tmp_path / "var"
    with caplog.at_level(logging.WARNING, logger="bot.keys"):
        first = load_keyring(None, var)
        again = load_keyring("", var)
    assert [r.getMessage() for r in caplog.records if "generated an encryption key" in r.getMessage()] != []
    assert len([r for r in caplog.records if "generated" in r.getMessage()]) == 1, "said once, not on every start"
    assert again.open(first.seal(MARKER)) == MARKER
    assert stat.S_IMODE((var / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert list(var.iterdir()) == [var / KEY_FILE], "no draft left behind"
    configured = load_keyring(TEST_KEY, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists(), "configured keys write no file"
    assert configured.open(TEST_KEYRING.seal(MARKER)) == MARKER


async def _raw_dump(engine_url: str) -> str:
    """Every value of every table as the database holds it, without the keyring."""
    from sqlalchemy.ext.asyncio import create_async_engine

    raw = create_async_engine(engine_url)
    try:
        async with raw.connect() as connection:
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
            dump = []
            for table in tables:
                dump.extend(str(row) for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).all())
            return "\n".join(dump)
    finally:
        await raw.dispose()


async def test_migration_0007_encrypts_what_is_in_place_and_lookups_still_find_people(database_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0006"))
    at = {"at": NOW}
    async with engine.begin() as connection:
        for statement in (
            "INSERT INTO contacts (id, channel, platform_id, language_chosen, created_at, last_seen_at) "
            f"VALUES (1, 'whatsapp', '{PHONE}', false, :at, :at), (2, 'telegram', '{CHAT}', false, :at, :at)",
            "INSERT INTO conversations (id, contact_id, started_at, last_message_at) VALUES (1, 1, :at, :at)",
            "INSERT INTO messages (conversation_id, contact_id, direction, text, turn, channel_message_id, created_at)"
            f" VALUES (1, 1, 'in', '{MARKER}', '{MARKER} turn', 'SM1', :at)",
            "INSERT INTO whatsapp_deliveries (contact_id, recipient, language, body, status, attempts, created_at,"
            f" updated_at) VALUES (1, '{PHONE}', 'ru', '{MARKER} reply', 'ready', 0, :at, :at)",
            "INSERT INTO lawyers (id, telegram_id, name, languages, active, created_at) "
            "VALUES (1, 7, 'L', 'ru', true, :at)",
            "INSERT INTO cases (id, contact_id, language, urgent, reason, summary, status, created_at, outcome) "
            f"VALUES (1, 1, 'ru', false, 'c', '{MARKER} summary', 'closed', :at, '{MARKER} outcome')",
            "INSERT INTO relays (case_id, direction, kind, text, status, attempts, next_attempt_at, created_at) "
            f"VALUES (1, 'to_user', 'answer', '{MARKER} relay', 'sent', 0, :at, :at)",
            f"INSERT INTO case_notes (case_id, lawyer_id, text, created_at) VALUES (1, 1, '{MARKER} note', :at)",
        ):
            await connection.execute(text(statement), at)

    await migrate(engine)

    raw = await _raw_dump(DatabaseSettings(url=database_url).url.get_secret_value())
    assert "s1." in raw
    for clear in (MARKER, PHONE, CHAT):
        assert clear not in raw, f"{clear!r} still readable at rest"
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    assert (await store.get_or_create_contact("whatsapp", PHONE)).id == 1
    assert (await store.get_or_create_contact("telegram", CHAT)).id == 2
    assert (await store.redelivery(1, "SM1")).turn == f"{MARKER} turn"  # type: ignore[union-attr]
    ledger = SqlWhatsAppLedger(Commits(engine, relaxed=True))
    assert await ledger.recipients_to_resume(NOW) == [PHONE]
    delivery = await ledger.claim_next(PHONE)
    assert delivery is not None and delivery.body == f"{MARKER} reply"

    async with engine.connect() as connection:  # and back: the downgrade opens every value again
        if connection.dialect.name == "sqlite":  # as in migrate(): a table rebuild must not cascade
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0006"))
        await connection.commit()
        texts = (await connection.execute(text("SELECT text FROM case_notes"))).scalars().all()
        numbers = (await connection.execute(text("SELECT platform_id FROM contacts ORDER BY id"))).scalars().all()
    assert texts == [f"{MARKER} note"] and numbers == [PHONE, CHAT]
    await engine.dispose()


def _incoming(channel: str, user_id: str, message_id: str) -> IncomingMessage:
    return IncomingMessage(channel, user_id, MARKER, channel_message_id=message_id, payload="topic:asylum_apply")


def _lease() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


async def test_rotation_reencrypts_and_rehashes_so_the_old_key_can_go(database_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    person = await store.get_or_create_contact("whatsapp", PHONE)
    await store.record_inbound(person.id, _incoming("whatsapp", PHONE, "SM1"), MARKER, lease_until=_lease())
    staff = SqlStaffStore(session_factory(engine))
    await staff.add(
        username="sara", name="Sara", role=Role.ADMIN, password_hash="x", languages=("ru",), telegram_id=None, now=NOW
    )
    secret = new_secret()
    enrolled = await staff.enrol_totp("sara", secret, NOW)
    assert enrolled is not None
    await engine.dispose()

    newer = new_key()
    both = create_engine(DatabaseSettings(url=database_url), Keyring.parse(f"{newer},{TEST_KEY}"))
    store = SqlConversationStore(Commits(both, relaxed=True), idle=dt.timedelta(hours=1))
    assert (await store.get_or_create_contact("whatsapp", PHONE)).id == person.id, "found by the old key's hash"
    done = await rotate(both)
    assert done.rows >= 2
    await both.dispose()

    only_new = create_engine(DatabaseSettings(url=database_url), Keyring.parse(newer))
    store = SqlConversationStore(Commits(only_new, relaxed=True), idle=dt.timedelta(hours=1))
    assert (await store.get_or_create_contact("whatsapp", PHONE)).id == person.id
    assert (await store.redelivery(person.id, "SM1")) is not None
    async with session_factory(only_new)() as session:
        from bot.storage.tables import MessageRow

        stored = (await session.execute(text("SELECT id FROM messages"))).scalars().all()
        row = await session.get(MessageRow, stored[0])
        assert row is not None and row.text == MARKER
    assert await SqlStaffStore(session_factory(only_new)).totp_secret(enrolled.id) == secret, "the TOTP column too"
    await only_new.dispose()


async def test_tombstones_answer_for_a_deleted_person_until_they_expire(database_url: str) -> None:
    from bot.storage.tables import TombstoneRow

    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    person = await store.get_or_create_contact("telegram", CHAT)
    await store.set_language(person.id, "kk", chosen=True)
    await store.record_inbound(person.id, _incoming("telegram", CHAT, "msg-qzx"), MARKER, lease_until=_lease())
    assert await store.forgotten("telegram", "msg-qzx") is None, "alive: nothing buried"
    await store.delete_contact(person.id)
    assert await store.forgotten("telegram", "msg-qzx") == "kk"
    assert await store.forgotten("whatsapp", "msg-qzx") is None, "per channel"
    raw = await _raw_dump(DatabaseSettings(url=database_url).url.get_secret_value())
    assert TEST_KEYRING.blind(f"telegram:{CHAT}") not in raw and TEST_KEYRING.blind(CHAT) not in raw
    assert "msg-qzx" not in raw, "the message id only as a keyed hash"
    async with session_factory(engine)() as session:
        await session.execute(text("UPDATE tombstones SET expires_at = :past"), {"past": NOW - dt.timedelta(days=1)})
        await session.commit()
    assert await store.forgotten("telegram", "msg-qzx") is None, "expired"
    assert await store.purge_tombstones(NOW) == 1
    async with session_factory(engine)() as session:
        assert (await session.execute(text("SELECT count(*) FROM tombstones"))).scalar() == 0
    assert TombstoneRow.__tablename__ == "tombstones"
    await engine.dispose()


def test_pana_keys_new_and_rotate_from_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.conftest import PANA

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANA_", "DATABASE_", "REDIS_"))}
    made = subprocess.run([*PANA, "keys", "new"], capture_output=True, text=True, timeout=120, env=env, check=True)
    newer = made.stdout.strip()
    Keyring.parse(newer)  # a usable key, and nothing else printed
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'pana.db'}", "PANA_VAR_DIR": str(tmp_path / "var")}
    env["PANA_ENCRYPTION_KEYS"] = f"{newer},{TEST_KEY}"
    rotated = subprocess.run([*PANA, "keys", "rotate"], capture_output=True, text=True, timeout=120, env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted" in rotated.stdout
    assert newer not in rotated.stdout + rotated.stderr and TEST_KEY not in rotated.stdout + rotated.stderr
    assert not (tmp_path / "var" / KEY_FILE).exists(), "configured keys: no key file"
