"""The accuracy figures docs/quality.md reports, recomputed on the labelled samples.

Each figure is an exact floor (or, for a rate of wrong answers, an exact ceiling): the
values below are the ones the docs print, which ``bench/quality_eval.py`` rounds down
(rates of wrong answers: up) to 0.1 %. A change that makes a signal worse on the samples
fails here; one that makes it better should raise the figure here and in the docs.
"""

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "quality_eval.py"


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("quality_eval", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["quality_eval"] = module
    spec.loader.exec_module(module)
    return module.evaluate()  # type: ignore[no-any-return]


# (signal, figure) → the percentage docs/quality.md reports; measured ≥ reported.
FLOORS: dict[tuple[str, ...], float] = {
    ("language", "accuracy_ge20"): 98.8,
    ("language", "accuracy_lt20"): 90.8,
    ("language", "mismatch_recall_ge20"): 99.2,
    ("pii", "email", "precision"): 100.0,
    ("pii", "email", "recall"): 100.0,
    ("pii", "phone", "precision"): 100.0,
    ("pii", "phone", "recall"): 100.0,
    ("pii", "credit_card", "precision"): 100.0,
    ("pii", "credit_card", "recall"): 100.0,
    ("pii", "iban", "precision"): 100.0,
    ("pii", "iban", "recall"): 100.0,
    ("pii", "ip_address", "precision"): 100.0,
    ("pii", "ip_address", "recall"): 100.0,
    ("pii", "secret", "precision"): 100.0,
    ("pii", "secret", "recall"): 100.0,
    ("pii", "address", "precision"): 100.0,
    ("pii", "address", "recall"): 91.1,
    ("pii", "all", "precision"): 100.0,
    ("pii", "all", "recall"): 98.7,
    ("toxicity", "precision"): 99.5,
    ("toxicity", "recall"): 95.4,
    ("toxicity", "recall_explicit"): 100.0,
    ("toxicity", "recall_implicit"): 8.3,
    ("duplicates", "near_copy_rate"): 100.0,
    ("duplicates", "near_copy_lsh_rate"): 100.0,
    ("leakage", "precision"): 100.0,
    ("leakage", "recall"): 100.0,
}
# Rates of wrong answers; measured ≤ reported.
CEILINGS: dict[tuple[str, ...], float] = {
    ("language", "mismatch_false_alarm_ge20"): 0.4,
    ("duplicates", "paraphrase_rate"): 0.0,
    ("duplicates", "paraphrase_lsh_rate"): 0.0,
    ("duplicates", "unrelated_rate"): 0.0,
    ("duplicates", "unrelated_lsh_rate"): 0.0,
}


def _value(figures: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = figures
    for key in path:
        value = value[key]
    return float(value) * 100


@pytest.mark.parametrize("path", list(FLOORS), ids=lambda path: "/".join(path))
def test_figure_is_at_least_what_the_docs_report(
    figures: dict[str, Any], path: tuple[str, ...]
) -> None:
    assert _value(figures, path) >= FLOORS[path]


@pytest.mark.parametrize("path", list(CEILINGS), ids=lambda path: "/".join(path))
def test_error_rate_is_at_most_what_the_docs_report(
    figures: dict[str, Any], path: tuple[str, ...]
) -> None:
    assert _value(figures, path) <= CEILINGS[path]


def test_the_samples_are_the_size_the_docs_describe(figures: dict[str, Any]) -> None:
    language = figures["language"]
    assert language["languages"] == 33
    assert (language["n_ge20"], language["n_lt20"]) == (265, 197)
    assert figures["pii"]["texts"] == 294 and figures["pii"]["near_misses"] == 66
    assert (figures["toxicity"]["toxic"], figures["toxicity"]["benign"]) == (240, 258)
    assert figures["duplicates"]["near_copy_n"] == 44
    assert (figures["leakage"]["leaked"], figures["leakage"]["not_leaked"]) == (70, 55)


def test_targets_of_the_design_hold(figures: dict[str, Any]) -> None:
    """Language ≥ 95 % on texts of 20+ characters; PII recall ≥ 98 % for e-mails, cards,
    IBANs and IPs, ≥ 90 % for phones, precision ≥ 95 %."""
    assert figures["language"]["accuracy_ge20"] >= 0.95
    for kind in ("email", "credit_card", "iban", "ip_address"):
        assert figures["pii"][kind]["recall"] >= 0.98, kind
    assert figures["pii"]["phone"]["recall"] >= 0.90
    for kind in ("email", "phone", "credit_card", "iban", "ip_address", "secret", "all"):
        assert figures["pii"][kind]["precision"] >= 0.95, kind
