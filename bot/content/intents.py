"""The intent contract (content/intents.yml, a copy of shared/spec/intents.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True, slots=True)
class IntentSpec:
    id: str
    kind: str  # "service" or "topic"
    urgent: bool = False


def load_intents(path: Path) -> dict[str, IntentSpec]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        item["id"]: IntentSpec(id=item["id"], kind=item["kind"], urgent=bool(item.get("urgent", False)))
        for item in data["intents"]
    }
