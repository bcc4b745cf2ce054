"""The whole schema: every table module imported, so `metadata` never depends on what happened to be imported first.

Migrations compare against it, key rotation walks it for sealed columns, and erasure checks scan it.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from bot.storage import handoff_tables, staff_tables  # noqa: F401  (their tables register on Base)
from bot.storage.tables import Base

metadata: MetaData = Base.metadata
