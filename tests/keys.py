"""The fixed key of the test suite (a real key; fixed so a test can open what another part wrote)."""

from __future__ import annotations

import base64
import hashlib

from bot.keys import Keyring

TEST_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"pana test key").digest()).decode("ascii")
TEST_KEYRING = Keyring.parse(TEST_KEY)
