"""ExecStartPost of pana-rasa.service: return once Rasa answers /status with its model loaded.

systemd starts the units ordered After= pana-rasa only when this returns, so `pana serve` never finds Rasa
still loading; it would then try to start a Rasa of its own from the checkout on the same port.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bot.nlu.server import server_ready
from bot.settings import RasaSettings


async def wait(limit: float) -> int:
    settings = RasaSettings()  # RASA_HOST, RASA_PORT, RASA_TOKEN from the unit's environment
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await server_ready(settings):
            return 0
        await asyncio.sleep(2)
    print(f"Rasa at {settings.base_url} was not ready within {limit:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(wait(float(sys.argv[1]) if len(sys.argv) > 1 else 280.0)))
