"""The package graph of bot/ runs one way: derived from the imports (with `ast`), checked against the allowed arrows.

A new package, or a new arrow between packages, fails here until it is given a place below: that is the
moment to decide whether the lower layer should define a Protocol (in its `ports.py`) instead.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

BOT = REPO / "bot"

# Each unit (a top-level module or package of bot/) and the units it may import. Lower layers first.
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "clock": frozenset(),
    "backoff": frozenset(),
    "periodic": frozenset(),
    "faults": frozenset(),  # test-only crash points (PANA_FAULT_POINT), inert when unset
    "languages": frozenset(),
    "logs": frozenset(),  # the redacting log filter, installed first by the CLI
    "private_files": frozenset(),  # 0600 files and 0700 folders for secrets and the SQLite database
    "keys": frozenset({"private_files"}),  # encryption at rest: the key list, sealing, keyed hashes
    "hours": frozenset({"i18n"}),
    "web": frozenset(),  # the HTTP host: channels install their routes into it
    "metrics": frozenset({"core"}),  # Prometheus: the timed Dialogue and classifier, and /metrics
    "records": frozenset({"languages"}),
    "settings": frozenset({"languages", "hours", "i18n"}),
    "i18n": frozenset({"languages"}),
    "content": frozenset({"errors", "languages"}),
    "core": frozenset({"clock", "content", "errors", "faults", "i18n", "languages"}),
    "nlu": frozenset({"core", "errors", "languages", "private_files", "settings"}),
    "storage": frozenset(
        {"clock", "periodic", "core", "errors", "keys", "languages", "private_files", "records", "settings"}
    ),
    "handoff": frozenset(
        {"backoff", "clock", "periodic", "content", "core", "errors", "faults", "hours", "i18n", "languages"}
        | {"records"}
    ),
    "channels": frozenset(
        {"backoff", "clock", "core", "errors", "faults", "handoff", "i18n", "keys", "languages", "periodic"}
        | {"records", "settings", "web"}
    ),
    # the staff web console under /console/: pages over the record and the lawyers' desk
    "console": frozenset(
        {"clock", "content", "core", "handoff", "i18n", "languages", "records", "settings", "storage"}
    ),
    "app": frozenset(
        {"channels", "clock", "content", "core", "errors", "handoff", "hours", "i18n", "languages", "nlu", "records"}
        | {"keys", "metrics", "settings", "storage", "web"}
    ),
    # which channels exist, wired to the app
    "registry": frozenset({"app", "channels", "console", "private_files", "settings", "storage"}),
    "cli": frozenset(
        {"app", "channels", "clock", "content", "core", "errors", "handoff", "hours", "i18n", "languages", "logs"}
        | {"console", "keys", "metrics", "nlu", "private_files", "records", "registry", "settings", "storage", "web"}
    ),
    "__main__": frozenset({"cli"}),
}

FORBIDDEN_IN_CORE = (
    "aiogram",
    "twilio",
    "aiohttp",
    "httpx",
    "requests",
    "sqlalchemy",
    "redis",
    "yaml",
    "bot.channels",
    "bot.storage",
    "bot.nlu",
    "bot.content.loader",  # the core reads content through its ContentCatalog port
    "bot.content.catalog",
    "bot.content.intents",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement is (function-local ones too)."""
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from bot.x import y` may name a module
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in BOT.rglob("*.py")}


def _unit(module: str) -> str:
    return module.split(".")[1]


@functools.cache
def _module_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


@functools.cache
def _unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in _module_graph().items():
        if module == "bot":
            continue
        graph.setdefault(_unit(module), set()).update(_unit(t) for t in targets if t != "bot")
    return {unit: targets - {unit} for unit, targets in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return iter(found)


def test_every_package_has_a_place_in_the_layers() -> None:
    unplaced = set(_unit_graph()) - set(ALLOWED)
    assert not unplaced, f"give {sorted(unplaced)} a place (and its allowed imports) in ALLOWED"


def test_packages_import_only_downwards() -> None:
    wrong = {
        f"{unit} -> {target}"
        for unit, targets in _unit_graph().items()
        for target in targets
        if target not in ALLOWED.get(unit, frozenset())
    }
    assert not wrong, f"imports against the layers: {sorted(wrong)}"


def test_the_allowed_arrows_themselves_have_no_cycle() -> None:
    assert not list(_cycles({unit: set(targets) for unit, targets in ALLOWED.items()}))


def test_no_package_cycle() -> None:
    assert not list(_cycles(_unit_graph()))


def test_no_module_cycle() -> None:
    assert not list(_cycles(_module_graph()))


def test_core_imports_no_sdk_or_infrastructure() -> None:
    for path in (BOT / "core").rglob("*.py"):
        bad = {name for name in _imports(path) if name.startswith(FORBIDDEN_IN_CORE)}
        assert not bad, f"{path.name} imports {bad}"


def test_channels_do_not_reach_into_storage_or_nlu() -> None:
    for path in (BOT / "channels").rglob("*.py"):
        bad = {n for n in _imports(path) if n.startswith(("bot.storage", "bot.nlu", "sqlalchemy", "bot.content"))}
        assert not bad, f"{path.name} imports {bad}"


def test_the_checker_sees_a_cycle_and_a_wrong_arrow() -> None:
    """The checks above would catch a regression: fed a cycle, they report it."""
    assert list(_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]
    storage_to_handoff = {"storage": {"handoff"}}
    assert any(t not in ALLOWED["storage"] for u, ts in storage_to_handoff.items() for t in ts)
