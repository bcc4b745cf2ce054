"""The Rasa project in nlu/: its own Python 3.10 venv, fingerprinted training, the server command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.errors import NluProjectError
from bot.nlu.progress import ProgressReporter, lines
from bot.settings import RasaSettings

MODEL_NAME = "nlu"
# Pana's own Rasa components, named in config.yml (Rasa imports them from the project folder)
COMPONENTS = "pana_rasa"
LAUNCHER = Path(__file__).resolve().parent / "rasa_launcher.py"
# What Rasa may see of Pana's environment: enough to run, nothing of Pana's secrets (tokens, database URLs).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass(frozen=True)
class RasaProject:
    root: Path

    @property
    def rasa(self) -> Path:
        return self.root / ".venv" / "bin" / "rasa"

    @property
    def model(self) -> Path:
        return self.root / "models" / f"{MODEL_NAME}.tar.gz"

    @property
    def fingerprint_file(self) -> Path:
        return self.root / "models" / f"{MODEL_NAME}.fingerprint"

    @property
    def duration_file(self) -> Path:
        """Seconds the last training took: the estimate of time left for the next one."""
        return self.root / "models" / f"{MODEL_NAME}.seconds"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def inputs(self) -> list[Path]:
        """Everything a trained model depends on: the config, the data, Pana's components and the pinned Rasa."""
        data = sorted(p for p in (self.root / "data").rglob("*.yml") if p.is_file())
        components = sorted(p for p in (self.root / COMPONENTS).rglob("*.py") if p.is_file())
        return [self.root / "config.yml", self.root / "requirements.txt", *components, *data]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.inputs():
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def is_trained(self) -> bool:
        return (
            self.model.exists()
            and self.fingerprint_file.exists()
            and self.fingerprint_file.read_text().strip() == self.fingerprint()
        )

    def environment(self) -> dict[str, str]:
        """A whitelisted environment: Rasa runs third-party code and must not hold the bot's credentials."""
        env = {name: os.environ[name] for name in INHERITED if name in os.environ}
        env.update(
            RASA_TELEMETRY_ENABLED="false",  # otherwise Rasa posts usage data to a third party
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONHASHSEED="0",
            RASA_CACHE_DIRECTORY=str(self.root / ".rasa" / "cache"),
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
        )
        return env

    def require_venv(self) -> None:
        if not self.rasa.exists():
            raise NluProjectError(f"{self.rasa} is missing: run `make nlu-venv` to build the Rasa environment")

    def train(self, *, force: bool = False) -> bool:
        """Train when the data or config changed; returns whether it trained."""
        if not force and self.is_trained():
            return False
        self.require_venv()
        fingerprint = self.fingerprint()
        self.log_dir.mkdir(exist_ok=True)
        started = time.monotonic()
        command = [
            str(self.rasa),
            "train",
            "nlu",
            "-c",
            "config.yml",
            "--nlu",
            "data",
            "--out",
            "models",
            "--fixed-model-name",
            MODEL_NAME,
        ]
        returncode = self._run_with_progress(command, self.log_dir / "train.log")
        if returncode != 0 or not self.model.exists():
            raise NluProjectError(f"rasa train failed (exit {returncode}); see {self.log_dir / 'train.log'}")
        self.fingerprint_file.write_text(fingerprint + "\n")
        seconds = time.monotonic() - started
        self.duration_file.write_text(f"{seconds:.1f}\n")
        print(f"Trained {self.model.name} in {seconds:.1f} s", file=sys.stderr)
        return True

    def _run_with_progress(self, command: list[str], log_path: Path) -> int:
        """Run `rasa train`, keeping its whole output in the log and showing its progress on stderr."""
        reporter = ProgressReporter(
            lambda line: print(line, file=sys.stderr, flush=True), expected=self._last_duration()
        )
        with (
            log_path.open("w") as log,
            subprocess.Popen(
                command, cwd=self.root, env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            ) as process,
        ):
            if process.stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
                raise NluProjectError("rasa train gave no output pipe")
            for line in lines(process.stdout.fileno()):
                log.write(line + "\n")
                reporter.feed(line)
            return process.wait()

    def _last_duration(self) -> float | None:
        try:
            return float(self.duration_file.read_text())
        except (OSError, ValueError):
            return None

    @property
    def python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    def serve_command(self, settings: RasaSettings) -> list[str]:
        """`rasa run` through the launcher, which reads the API's JWT secret from stdin (never argv, never a URL)."""
        if not self.model.exists():  # Rasa would silently load another model from the folder
            raise NluProjectError(f"{self.model} is missing: run `pana nlu train` first")
        return [
            str(self.python),
            str(LAUNCHER),
            "run",
            "--enable-api",
            "-m",
            str(self.model),
            "-i",
            settings.host,
            "-p",
            str(settings.port),
        ]
