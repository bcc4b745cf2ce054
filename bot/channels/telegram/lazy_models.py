"""aiogram's pydantic models, each built when first used instead of all at import: a worker's memory.

aiogram declares its ~300 Telegram types with pydantic's `defer_build`, then undoes it: `aiogram.types` ends
by calling `model_rebuild` on every type, which builds each one's validator and serializer with every type it
can nest inlined. Its ~170 methods (`aiogram.methods`) are built at class creation. Together that was ~125 MB
of a worker's RSS and ~2 s of CPU at start, for a bot that meets a dozen of them (docs/performance.md).

`import_aiogram()` imports aiogram with both deferred:

- while `aiogram.types` runs that loop, `model_rebuild` only makes the names it was given (the types each
  module imports under TYPE_CHECKING, so pydantic cannot see them) visible in each type's module, where
  pydantic looks when it builds the type later, on first use, from whichever model nests it;
- `TelegramMethod`'s config gets `defer_build` before its subclasses are created (an import hook runs right
  after `aiogram.methods.base`).

Only names a module lacks are added; no existing attribute changes. When aiogram was imported before (by
something else), it stays as it is: built eagerly, which is slower to start and larger, not wrong.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from pydantic import BaseModel

__all__ = ["build_turn_models", "import_aiogram"]

METHODS_BASE = "aiogram.methods.base"


def import_aiogram() -> None:
    """Import aiogram with its models deferred (see the module's docstring); nothing when it is imported."""
    if "aiogram" in sys.modules:
        return
    eager_rebuild = BaseModel.__dict__["model_rebuild"]
    hook = _DeferMethods()
    sys.meta_path.insert(0, hook)
    BaseModel.model_rebuild = classmethod(_deferring_rebuild(eager_rebuild.__func__))  # type: ignore[method-assign,assignment]
    try:
        importlib.import_module("aiogram")
    finally:
        BaseModel.model_rebuild = eager_rebuild  # type: ignore[method-assign]
        sys.meta_path.remove(hook)


def build_turn_models() -> None:
    """Build what every turn uses now, at start, so the first person does not wait for it (~0.1 s of CPU).

    Not `Message` on its own (2.9 MB): a turn meets messages nested in an `Update` or a `Response[Message]`.
    """
    import aiogram.methods
    import aiogram.types

    for model in (
        aiogram.types.Update,
        aiogram.types.CallbackQuery,
        aiogram.methods.SendMessage,
        aiogram.methods.AnswerCallbackQuery,
    ):
        model.model_rebuild()


def _deferring_rebuild(eager: Any) -> Any:
    def model_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Mapping[str, Any] | None = None,
    ) -> bool | None:
        deferred = cls.model_config.get("defer_build") and not cls.__pydantic_complete__
        if _types_namespace is not None and deferred and not force:  # aiogram.types' loop
            module = vars(sys.modules[cls.__module__])
            for name, value in _types_namespace.items():
                module.setdefault(name, value)
            return None
        return eager(  # type: ignore[no-any-return]
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,  # this wrapper is one frame more
            _types_namespace=_types_namespace,
        )

    return model_rebuild


class _DeferMethods(importlib.abc.MetaPathFinder):
    """Gives `TelegramMethod` `defer_build` as soon as `aiogram.methods.base` has run, before any method exists."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != METHODS_BASE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            module.TelegramMethod.model_config["defer_build"] = True

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
