"""`pana staff add|list|role|disable|enable|reset-password|totp` as an administrator runs them (password on stdin)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import PANA

PASSWORD = "a long enough password"


def _pana(tmp_path: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "LAWYER_", "PANA_CONSOLE"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'staff.db'}"
    return subprocess.run(
        [*PANA, *args],
        input=(password + "\n") if password is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_staff_accounts_share_the_lawyers_identity(tmp_path: Path) -> None:
    added = _pana(tmp_path, "lawyers", "add", "--telegram-id", "5001", "--name", "Aigerim", "--languages", "kk")
    assert added.returncode == 0
    lawyer = _pana(
        tmp_path,
        "staff",
        "add",
        "--username",
        "aigerim",
        "--role",
        "lawyer",
        "--telegram-id",
        "5001",
        "--languages",
        "kk,ru",
        password=PASSWORD,
    )
    assert lawyer.returncode == 0, lawyer.stderr
    assert "lawyer #1" in lawyer.stdout and PASSWORD not in lawyer.stdout + lawyer.stderr
    web_only = _pana(tmp_path, "staff", "add", "--username", "dana", "--role", "lawyer", password=PASSWORD)
    assert web_only.returncode == 0 and "lawyer #2" in web_only.stdout
    disabled = _pana(tmp_path, "staff", "disable", "--username", "aigerim")
    assert disabled.returncode == 0 and "0 case(s)" in disabled.stdout
    assert _pana(tmp_path, "staff", "list").stdout.splitlines() == [
        "username\tname\trole\tlanguages\ttelegram\ttotp\tstate\tlast_sign_in_utc",
        "aigerim\taigerim\tlawyer\tkk\tyes\tno\tdisabled\tnever",
        "dana\tdana\tlawyer\tru\tno\tno\tactive\tnever",
    ]
    lawyers = _pana(tmp_path, "lawyers", "list").stdout.splitlines()
    assert lawyers == ["5001\tAigerim\tkk\tinactive", "-\tdana\tru\tactive"], "one identity: off on Telegram too"


def test_weak_and_taken_are_refused(tmp_path: Path) -> None:
    weak = _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password="short")
    assert weak.returncode == 1 and "12 characters" in weak.stderr
    assert _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password=PASSWORD).returncode == 0
    taken = _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password=PASSWORD)
    assert taken.returncode == 1 and "taken" in taken.stderr


def test_totp_enrolment_prints_the_secret_once_and_stores_it_sealed(tmp_path: Path) -> None:
    assert _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password=PASSWORD).returncode == 0
    enrolled = _pana(tmp_path, "staff", "totp", "--username", "sara")
    assert enrolled.returncode == 0, enrolled.stderr
    uri = next(line for line in enrolled.stdout.splitlines() if line.startswith("otpauth://totp/"))
    secret = enrolled.stdout.split("secret: ")[1].strip()
    assert f"secret={secret}" in uri and len(secret) == 32, "160 bits in base32"
    assert secret.encode() not in (tmp_path / "staff.db").read_bytes(), "sealed at rest"
    again = _pana(tmp_path, "staff", "totp", "--username", "sara")
    assert again.returncode == 0 and secret not in again.stdout, "a new enrolment, a new secret"
    unknown = _pana(tmp_path, "staff", "totp", "--username", "nobody")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
    listed = _pana(tmp_path, "staff", "list").stdout.splitlines()
    assert listed[1].split("\t")[5] == "yes", "the list shows that sara uses one-time codes"


def test_the_last_active_admin_cannot_be_disabled(tmp_path: Path) -> None:
    assert _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password=PASSWORD).returncode == 0
    refused = _pana(tmp_path, "staff", "disable", "--username", "sara")
    assert refused.returncode == 1 and "last active admin" in refused.stderr
    assert _pana(tmp_path, "staff", "add", "--username", "omar", "--role", "admin", password=PASSWORD).returncode == 0
    assert _pana(tmp_path, "staff", "disable", "--username", "sara").returncode == 0, "another admin remains"


def _states(tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """(username, role, languages, state) of every account, from `pana staff list`."""
    rows = [line.split("\t") for line in _pana(tmp_path, "staff", "list").stdout.splitlines()[1:]]
    return [(row[0], row[2], row[3], row[6]) for row in rows]


def test_the_last_active_admin_cannot_be_demoted_and_a_role_change_keeps_the_languages(tmp_path: Path) -> None:
    assert _pana(tmp_path, "staff", "add", "--username", "sara", "--role", "admin", password=PASSWORD).returncode == 0
    refused = _pana(tmp_path, "staff", "role", "--username", "sara", "--role", "supervisor")
    assert refused.returncode == 1 and "last active admin" in refused.stderr
    assert _states(tmp_path) == [("sara", "admin", "ru", "active")]

    assert _pana(tmp_path, "staff", "add", "--username", "omar", "--role", "admin", password=PASSWORD).returncode == 0
    demoted = _pana(tmp_path, "staff", "role", "--username", "sara", "--role", "supervisor")
    assert demoted.returncode == 0, demoted.stderr
    assert "sara is now supervisor; signed out everywhere" in demoted.stdout
    assert ("sara", "supervisor", "ru", "active") in _states(tmp_path)

    to_desk = _pana(tmp_path, "staff", "role", "--username", "sara", "--role", "lawyer", "--languages", "kk,ru")
    assert to_desk.returncode == 0, to_desk.stderr
    assert ("sara", "lawyer", "kk,ru", "active") in _states(tmp_path)
    assert _pana(tmp_path, "lawyers", "list").stdout.splitlines() == ["-\tsara\tkk,ru\tactive"], "now on the desk"
    off_desk = _pana(tmp_path, "staff", "role", "--username", "sara", "--role", "supervisor")
    assert off_desk.returncode == 0 and "left the desk" in off_desk.stdout

    unknown = _pana(tmp_path, "staff", "role", "--username", "nobody", "--role", "lawyer")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
    bad = _pana(tmp_path, "staff", "role", "--username", "omar", "--role", "owner")
    assert bad.returncode == 2 and ("omar", "admin", "ru", "active") in _states(tmp_path)


def test_a_disabled_account_is_enabled_again_on_the_lawyers_desk_too(tmp_path: Path) -> None:
    added = _pana(tmp_path, "staff", "add", "--username", "dana", "--role", "lawyer", password=PASSWORD)
    assert added.returncode == 0
    assert _pana(tmp_path, "staff", "disable", "--username", "dana").returncode == 0
    assert _states(tmp_path) == [("dana", "lawyer", "ru", "disabled")]
    assert _pana(tmp_path, "lawyers", "list").stdout.splitlines() == ["-\tdana\tru\tinactive"]

    enabled = _pana(tmp_path, "staff", "enable", "--username", "dana")
    assert enabled.returncode == 0, enabled.stderr
    assert "Enabled dana" in enabled.stdout
    assert _states(tmp_path) == [("dana", "lawyer", "ru", "active")]
    assert _pana(tmp_path, "lawyers", "list").stdout.splitlines() == ["-\tdana\tru\tactive"], "back on the desk"
    unknown = _pana(tmp_path, "staff", "enable", "--username", "nobody")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
