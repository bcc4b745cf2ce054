"""Files only Pana's own user may read: the database file, generated secrets, the folder that holds them."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create the folder (and missing parents) readable by Pana's user only; tighten it when it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file 0600 when missing, or tighten an existing one (e.g. a SQLite file made 0644)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def stored_secret(path: Path) -> str:
    """A random secret kept in `path` (0600): read when it exists, created once when it does not.

    Written to a temporary file and linked into place, so a concurrent reader never sees it half-written.
    """
    private_dir(path.parent)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:  # another process won the race: its secret is the one
            pass
        finally:
            draft.unlink()
    path.chmod(FILE_MODE)
    return path.read_text(encoding="ascii").strip()
