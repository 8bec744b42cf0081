"""The registry of quality signal providers.

A provider adapts one pure signal module (``backend.quality.signals``) to the app: it
fills its fields of a ``MessageQuality`` row for one message and says which flags the
result raises under the project's thresholds. The built-in providers are in
``backend.quality.providers`` (importing it registers them, in the order they run);
docs/quality.md "Adding a signal" shows how to add one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from backend.projects.models import Project
from backend.trees.models import Message, Role

if TYPE_CHECKING:
    from backend.quality.indexes import EvalSetMatchers, NearDuplicateIndexes
    from backend.quality.models import MessageQuality


@dataclass
class QualityContext:
    """What a provider may use besides the message: its project (the thresholds), the
    near-duplicate indexes and eval-set matchers of this process, and the time."""

    project: Project
    message: Message
    now: datetime
    near_duplicates: NearDuplicateIndexes
    eval_sets: EvalSetMatchers
    # Filled by the language provider for the ones after it: the detected language,
    # when the detector was confident.
    confident_lang: str | None = field(default=None)

    @property
    def is_initial_prompt(self) -> bool:
        return self.message.parent_id is None

    @property
    def is_prompter_text(self) -> bool:
        return self.message.role == Role.PROMPTER


class SignalProvider:
    """One signal. Subclasses set ``name``, ``fields`` and ``flags`` and implement
    ``version`` and ``compute``."""

    name: str = ""
    # The ``MessageQuality`` fields this provider writes; they are reset to their
    # defaults before it runs, so a recomputation leaves nothing stale behind.
    fields: tuple[str, ...] = ()
    # The flags it may raise (``QualityFlag`` values).
    flags: tuple[str, ...] = ()
    # True when ``compute`` changes shared state besides the row it fills (rows of its
    # own, this process's indexes): such a provider is skipped for a text that is not
    # stored as a message (``text_quality_flags``), which must leave no trace.
    stores_state: bool = False

    @property
    def version(self) -> str:
        raise NotImplementedError

    def applies_to(self, context: QualityContext) -> bool:
        """Whether the signal means anything for this message (e.g. prompts only)."""
        return True

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        """Fill this provider's fields of ``row``; return the flags the result raises."""
        raise NotImplementedError


_registry: dict[str, SignalProvider] = {}


def _builtins_load() -> None:
    """The built-in providers register themselves when their package is imported, on
    first use of the registry (their detectors' libraries are slow to import)."""
    from backend.quality import providers

    del providers


def register(provider: SignalProvider) -> SignalProvider:
    """Add a provider (it runs after the ones registered before it); names are unique."""
    _builtins_load()
    if not provider.name:
        raise ValueError("a signal provider needs a name")
    if provider.name in _registry and _registry[provider.name] is not provider:
        raise ValueError(f"signal provider {provider.name!r} is registered already")
    _registry[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    _registry.pop(name, None)


def get_provider(name: str) -> SignalProvider | None:
    _builtins_load()
    return _registry.get(name)


def all_providers() -> list[SignalProvider]:
    """Every provider, in the order they run."""
    _builtins_load()
    return list(_registry.values())


def provider_names() -> list[str]:
    _builtins_load()
    return list(_registry)
