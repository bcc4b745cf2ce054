"""`pana nlu compare`: train, serve and evaluate each candidate pipeline in nlu/pipelines/ (a benchmark)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bot.core.language import LanguageDetector
from bot.core.policy import Thresholds
from bot.nlu import evaluate
from bot.nlu.client import RasaClient
from bot.nlu.evaluate import Intents
from bot.nlu.project import COMPONENTS, RasaProject
from bot.nlu.server import NluServer
from bot.nlu.testset import load_test_set
from bot.settings import RasaSettings

COMPARE_PORT = 5095
COLUMNS = ("pipeline", "train s", "ready s", "acc", "F1", "acc kk", "acc ru", "acc en", "p50 ms", "p95 ms")


def _workspace(project: RasaProject, config: Path, into: Path) -> RasaProject:
    """A throwaway copy of the project with another config; data, tests, components and venv are shared."""
    for name in ("data", "tests", COMPONENTS, ".venv", "requirements.txt"):
        (into / name).symlink_to(project.root / name)
    shutil.copy(config, into / "config.yml")
    return RasaProject(into)


async def compare(project: RasaProject, settings: RasaSettings, thresholds: Thresholds, intents: Intents) -> list[str]:
    examples = load_test_set(project.root / "tests")
    detector = LanguageDetector()
    rows = [" | ".join(COLUMNS), " | ".join("---" for _ in COLUMNS)]
    own = settings.model_copy(update={"port": COMPARE_PORT, "url": ""})
    for config in sorted((project.root / "pipelines").glob("*.yml")):
        with tempfile.TemporaryDirectory(prefix=f"pana-{config.stem}-") as folder:
            candidate = _workspace(project, config, Path(folder))
            started = time.monotonic()
            candidate.train(force=True)
            trained = time.monotonic() - started
            server = NluServer(own, candidate, quiet=True)
            await server.start()  # always a fresh server: never measure whatever already listens
            client = RasaClient.from_settings(own.model_copy(update={"timeout": 10.0}))
            try:
                await client.classify("warm up")
                outcomes = await evaluate.run(client, examples, detector)
            finally:
                await client.close()
                await server.stop()
            ready = server.start_seconds or 0.0
            figures = evaluate.build_report(outcomes, thresholds, intents).figures
            rows.append(
                " | ".join(
                    [config.stem, f"{trained:.0f}", f"{ready:.1f}"]
                    + [
                        f"{figures[k]:.3f}"
                        for k in ("accuracy", "macro_f1", "accuracy_kk", "accuracy_ru", "accuracy_en")
                    ]
                    + [f"{figures['parse_p50_ms']:.1f}", f"{figures['parse_p95_ms']:.1f}"]
                )
            )
            print(rows[-1], flush=True)
    return rows
