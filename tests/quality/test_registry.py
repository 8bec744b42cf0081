"""The registry of signal providers: built-ins in order, a new signal is one provider,
and a computation never stores results for a text that changed meanwhile."""

from __future__ import annotations

import pytest

from backend.quality import registry
from backend.quality.models import MessageQuality
from backend.quality.registry import SignalProvider
from backend.quality.services import message_quality_compute
from backend.trees.models import Message


class ShoutingProvider(SignalProvider):
    name = "shouting"
    fields = ()
    flags = ("shouting",)
    version = "shouting/1"  # type: ignore[assignment]

    def compute(self, row, context):
        return ["shouting"] if context.message.text.isupper() else []


@pytest.fixture
def shouting():
    provider = registry.register(ShoutingProvider())
    yield provider
    registry.unregister(provider.name)


def test_the_built_in_providers_run_in_order():
    assert registry.provider_names()[:5] == ["language", "toxicity", "pii", "duplicates", "leakage"]


def test_a_name_is_registered_once(shouting):
    with pytest.raises(ValueError, match="registered already"):
        registry.register(ShoutingProvider())
    with pytest.raises(ValueError, match="needs a name"):
        registry.register(SignalProvider())


def test_a_new_provider_runs_and_its_flag_is_stored(shouting, prompt):
    message = prompt("WHY IS EVERYONE SHOUTING IN THIS CHAT ROOM ALL THE TIME?")

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.flags == ["shouting"]
    assert row.versions["shouting"] == "shouting/1"
    assert set(row.versions) == {"language", "toxicity", "pii", "duplicates", "leakage", "shouting"}


def test_a_text_edited_while_the_signals_ran_is_not_stored(prompt):
    message = prompt("What is a good first programming language for a teenager?")

    class EditsMeanwhile(SignalProvider):
        name = "edits_meanwhile"
        version = "edit/1"  # type: ignore[assignment]

        def compute(self, row, context):
            Message.objects.filter(pk=context.message.pk).update(text="Something else entirely.")
            return []

    registry.register(EditsMeanwhile())
    try:
        assert message_quality_compute(message_id=message.pk) is None
    finally:
        registry.unregister("edits_meanwhile")
    assert not MessageQuality.objects.filter(message=message).exists()
