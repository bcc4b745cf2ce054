"""The fast layer keeps its promise: a connection attempt in a fast test fails loudly."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkUsed

pytestmark = pytest.mark.fast


def test_a_fast_test_cannot_open_a_connection() -> None:
    with socket.socket() as sock, pytest.raises(NetworkUsed):
        sock.connect(("127.0.0.1", 6379))
