"""The built-in signal providers; importing this package registers them in the order
they run (the language first: the ones after it read the language it detected)."""

from backend.quality.providers import duplicates, language, leakage, pii, toxicity
from backend.quality.registry import register

for _provider in (
    language.provider,
    toxicity.provider,
    pii.provider,
    duplicates.provider,
    leakage.provider,
):
    register(_provider)
