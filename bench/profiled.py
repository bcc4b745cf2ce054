"""`python -m bench.profiled serve`: `pana serve` whose main thread cProfile measures between two signals.

SIGUSR1 starts the profiler (timer: the thread's CPU time, so waiting is not counted); SIGUSR2 stops it and
writes `$PANA_PROFILE_OUT.prof` (pstats) and `$PANA_PROFILE_OUT.gc.json` (time in each garbage collection
generation meanwhile). The harness sends both around a level (`python -m bench --profile`); py-spy is no help
here: on Python 3.11 with uvloop it reports suspended coroutines as running.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli import main

OUT = Path(os.environ.get("PANA_PROFILE_OUT", "var/profile/worker"))


class Profiler:
    def __init__(self) -> None:
        self._profile = cProfile.Profile(time.thread_time)
        self._on = False
        self._gc_started = 0.0
        self._gc: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}

    def start(self, *_: object) -> None:
        self._on = True
        self._profile.enable()

    def stop(self, *_: object) -> None:
        self._profile.disable()
        self._on = False
        OUT.parent.mkdir(parents=True, exist_ok=True)
        self._profile.dump_stats(f"{OUT}.prof")
        Path(f"{OUT}.gc.json").write_text(json.dumps({"gc": self._gc}))
        self._profile = cProfile.Profile(time.thread_time)  # the next level starts from nothing
        self._gc = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}

    def collection(self, phase: str, info: dict[str, Any]) -> None:
        if not self._on:
            return
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            figures = self._gc[info["generation"]]
            figures[0] += 1
            figures[1] += time.thread_time() - self._gc_started


if __name__ == "__main__":
    profiler = Profiler()
    gc.callbacks.append(profiler.collection)
    signal.signal(signal.SIGUSR1, profiler.start)
    signal.signal(signal.SIGUSR2, profiler.stop)
    sys.exit(main(sys.argv[1:]))
