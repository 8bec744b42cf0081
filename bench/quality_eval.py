"""Accuracy and speed of the data-quality signals (backend/quality/signals).

    python bench/quality_eval.py              # accuracy tables + speed
    python bench/quality_eval.py --no-speed   # accuracy only (a few seconds)
    python bench/quality_eval.py --compare    # also: language detectors, shingle choices

Reads the labelled samples in ``tests/data/quality/`` (what they are and where they come
from: the README there) and prints, as Markdown tables:

- language: accuracy on texts of ≥ 20 and < 20 characters (and < 40 / ≥ 40), and how
  often ``is_mismatch`` fires wrongly (declared = true language) or rightly (declared =
  another language of the set);
- PII: precision and recall per type, a span counting only when type, start and end
  are exact;
- toxicity: precision and recall at ``TOXIC_THRESHOLD`` (the English scorer), and recall
  on the "implicit" insults that contain no rude word;
- duplicates: near-copy recall, paraphrase and unrelated "hit" rates, both by the
  estimated Jaccard similarity and through the LSH index;
- leakage: precision and recall at ``DEFAULT_THRESHOLD`` by kind of copy.

Then the speed of the whole per-message pipeline (language + toxicity + PII + MinHash +
leakage against a 100-prompt evaluation set) on one core, in messages per second, and
the cold import and first-call times in a fresh interpreter. ``--compare`` adds the
comparisons behind two choices: py3langid against lingua (needs
``pip install lingua-language-detector``, which Arbor does not install), and the
MinHash shingles. tests/quality/signals/test_accuracy.py recomputes the accuracy figures
with ``evaluate()`` and fails if one falls below what docs/quality.md reports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.quality.signals import duplicates, language, leakage, pii, toxicity  # noqa: E402

DATA = ROOT / "tests" / "data" / "quality"
TOXIC_THRESHOLD = 0.5
SHORT = 20


def load(name: str) -> list[Any]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


# --- language -------------------------------------------------------------------------


def evaluate_language(
    rows: list[dict[str, Any]], detect: Callable[[str], str | None] | None = None
) -> dict[str, Any]:
    """Accuracy by length; ``detect`` (text → code) replaces the module's for comparisons."""

    def guess_of(text: str) -> str | None:
        if detect is not None:
            return detect(text)
        guess = language.detect(text)
        return guess.lang if guess else None

    buckets: dict[str, list[int]] = {b: [0, 0] for b in ("lt20", "ge20", "lt40", "ge40")}
    wrong: list[tuple[str, str | None, str]] = []
    for row in rows:
        text, lang = row["text"], row["lang"]
        guess = guess_of(text)
        correct = guess is not None and language.base_language(guess) == lang
        for bucket in (
            "lt20" if len(text) < SHORT else "ge20",
            "lt40" if len(text) < 40 else "ge40",
        ):
            buckets[bucket][0] += correct
            buckets[bucket][1] += 1
        if not correct and len(text) >= SHORT:
            wrong.append((lang, guess, text))
    result: dict[str, Any] = {
        f"accuracy_{bucket}": _ratio(*counts) for bucket, counts in buckets.items()
    }
    result.update({f"n_{bucket}": counts[1] for bucket, counts in buckets.items()})
    result["languages"] = len({row["lang"] for row in rows})
    result["wrong_ge20"] = wrong
    if detect is None:
        result.update(_mismatch_rates(rows))
    return result


def _mismatch_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """is_mismatch with the defaults: wrongly (declared right) and rightly (declared wrong)."""
    codes = sorted({row["lang"] for row in rows})
    false_alarms = detected = long_rows = 0
    for position, row in enumerate(rows):
        if len(row["text"]) < SHORT:
            continue
        long_rows += 1
        guess = language.detect(row["text"])
        false_alarms += language.is_mismatch(guess, row["lang"])
        other = codes[(codes.index(row["lang"]) + 1 + position % (len(codes) - 1)) % len(codes)]
        detected += language.is_mismatch(guess, other) or language.same_language(other, row["lang"])
    return {
        "mismatch_false_alarm_ge20": _ratio(false_alarms, long_rows),
        "mismatch_recall_ge20": _ratio(detected, long_rows),
    }


# --- PII ------------------------------------------------------------------------------


def evaluate_pii(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per type: true positives, false positives, false negatives; exact spans only."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in pii.MASKS}
    misses: list[tuple[str, str]] = []
    for row in rows:
        expected = {(s["type"], s["start"], s["end"]) for s in row["spans"]}
        found = {(s.type, s.start, s.end) for s in pii.find_pii(row["text"], lang=row["lang"])}
        for kind, _start, _end in found & expected:
            counts[kind]["tp"] += 1
        for kind, start, end in found - expected:
            counts[kind]["fp"] += 1
            misses.append(("fp " + kind, row["text"][start:end]))
        for kind, start, end in expected - found:
            counts[kind]["fn"] += 1
            misses.append(("fn " + kind, row["text"][start:end]))
    result: dict[str, Any] = {}
    for kind, count in counts.items():
        result[kind] = {
            "precision": _ratio(count["tp"], count["tp"] + count["fp"]),
            "recall": _ratio(count["tp"], count["tp"] + count["fn"]),
            "n": count["tp"] + count["fn"],
            "false_positives": count["fp"],
        }
    total = sum(counts.values(), Counter())
    result["all"] = {
        "precision": _ratio(total["tp"], total["tp"] + total["fp"]),
        "recall": _ratio(total["tp"], total["tp"] + total["fn"]),
        "n": total["tp"] + total["fn"],
        "false_positives": total["fp"],
    }
    result["texts"] = len(rows)
    result["near_misses"] = sum(1 for row in rows if not row["spans"])
    result["errors"] = misses
    return result


# --- toxicity -------------------------------------------------------------------------


def evaluate_toxicity(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scorer = toxicity.scorer_for("en")
    assert scorer is not None
    tp = fp = fn = implicit_tp = implicit_n = 0
    errors: list[tuple[str, float, str]] = []
    for row in rows:
        score = scorer.score(row["text"])
        flagged = score >= TOXIC_THRESHOLD
        if row["toxic"]:
            tp += flagged
            fn += not flagged
            if row.get("note") == "implicit":
                implicit_n += 1
                implicit_tp += flagged
        else:
            fp += flagged
        if flagged != row["toxic"]:
            errors.append(("fp" if flagged else "fn", round(score, 2), row["text"]))
    explicit_n = tp + fn - implicit_n
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "recall_explicit": _ratio(tp - implicit_tp, explicit_n),
        "recall_implicit": _ratio(implicit_tp, implicit_n),
        "toxic": tp + fn,
        "benign": sum(1 for row in rows if not row["toxic"]),
        "errors": errors,
    }


# --- duplicates -----------------------------------------------------------------------


def evaluate_duplicates(
    rows: list[dict[str, Any]],
    signature: Callable[[str], list[int]] | None = None,
    threshold: float = duplicates.DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Hit rate per kind of pair, by estimated Jaccard ≥ threshold and through LSH."""
    signature = signature or duplicates.minhash_signature
    by_kind: dict[str, list[int]] = {}
    lsh_by_kind: dict[str, list[int]] = {}
    similarities: dict[str, list[float]] = {}
    for position, row in enumerate(rows):
        a, b = signature(row["a"]), signature(row["b"])
        similarity = duplicates.jaccard_estimate(a, b)
        index = duplicates.NearDuplicateIndex(threshold)
        index.add(position, a)
        hit = similarity >= threshold
        lsh_hit = position in index.query(b)
        for table, value in ((by_kind, hit), (lsh_by_kind, lsh_hit)):
            table.setdefault(row["kind"], [0, 0])
            table[row["kind"]][0] += value
            table[row["kind"]][1] += 1
        similarities.setdefault(row["kind"], []).append(similarity)
    result: dict[str, Any] = {}
    for kind, (hits, total) in by_kind.items():
        result[f"{kind}_rate"] = _ratio(hits, total)
        result[f"{kind}_lsh_rate"] = _ratio(*lsh_by_kind[kind])
        result[f"{kind}_n"] = total
        values = sorted(similarities[kind])
        result[f"{kind}_min"], result[f"{kind}_max"] = values[0], values[-1]
    return result


def _shingle_signature(kind: str, size: int) -> Callable[[str], list[int]]:
    from datasketch import MinHash

    def signature(text: str) -> list[int]:
        normal = duplicates.normalise(text)
        if kind == "char":
            grams = {normal[i : i + size] for i in range(max(1, len(normal) - size + 1))}
        else:
            words = normal.split()
            grams = {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}
        minhash = MinHash(num_perm=duplicates.NUM_PERM, seed=duplicates.SEED, scheme="affine32")
        minhash.update_batch([gram.encode() for gram in grams])
        return [int(value) for value in minhash.hashvalues]

    return signature


# --- leakage --------------------------------------------------------------------------


def evaluate_leakage(rows: list[dict[str, Any]], prompts: list[str]) -> dict[str, Any]:
    matcher = leakage.EvalSetMatcher(prompts)
    tp = fp = fn = 0
    by_kind: dict[str, list[int]] = {}
    errors: list[tuple[str, float, str]] = []
    for row in rows:
        hit = matcher.best(row["text"])
        flagged = hit is not None and hit.score >= leakage.DEFAULT_THRESHOLD
        correct_prompt = flagged and hit is not None and hit.index == row["index"]
        if row["leaked"]:
            tp += correct_prompt
            fn += not correct_prompt
        else:
            fp += flagged
        by_kind.setdefault(row["kind"], [0, 0])
        by_kind[row["kind"]][0] += correct_prompt if row["leaked"] else not flagged
        by_kind[row["kind"]][1] += 1
        if (correct_prompt if row["leaked"] else not flagged) is False:
            errors.append((row["kind"], hit.score if hit else 0.0, row["text"]))
    result: dict[str, Any] = {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "leaked": tp + fn,
        "not_leaked": sum(1 for row in rows if not row["leaked"]),
        "errors": errors,
    }
    result.update({f"correct_{kind}": _ratio(*counts) for kind, counts in by_kind.items()})
    return result


def evaluate() -> dict[str, Any]:
    """Every accuracy figure on the labelled samples."""
    return {
        "language": evaluate_language(load("languages.jsonl")),
        "pii": evaluate_pii(load("pii.jsonl")),
        "toxicity": evaluate_toxicity(load("toxicity.jsonl")),
        "duplicates": evaluate_duplicates(load("duplicates.jsonl")),
        "leakage": evaluate_leakage(load("leakage.jsonl"), load("eval_prompts.jsonl")),
    }


# --- speed ----------------------------------------------------------------------------


def eval_set_of_100() -> list[str]:
    """The 50 evaluation prompts plus the 50 first unrelated prompts of the samples."""
    others = [row["text"] for row in load("leakage.jsonl") if not row["leaked"]]
    return (load("eval_prompts.jsonl") + others)[:100]


def messages() -> list[tuple[str, str]]:
    """(text, declared language) of every sample text, a realistic mix of lengths."""
    found: list[tuple[str, str]] = [(row["text"], row["lang"]) for row in load("languages.jsonl")]
    found += [(row["text"], row["lang"]) for row in load("pii.jsonl")]
    found += [(row["text"], "en") for row in load("toxicity.jsonl")]
    found += [(row["text"], "en") for row in load("leakage.jsonl")]
    oasst = ROOT.parent / "shared" / "data" / "oasst" / "en_100_tree.jsonl"
    if oasst.exists():
        found += [(text, "en") for text in _oasst_texts(oasst)]
    return found


def _oasst_texts(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            stack = [json.loads(line)["prompt"]]
            while stack:
                node = stack.pop()
                yield node["text"]
                stack.extend(node.get("replies", []))


def pipeline(matcher: leakage.EvalSetMatcher, text: str, declared: str) -> None:
    guess = language.detect(text)
    language.is_mismatch(guess, declared)
    scorer = toxicity.scorer_for(declared)
    if scorer is not None:
        scorer.score(text)
    pii.find_pii(text, lang=declared)
    duplicates.minhash_signature(text)
    matcher.best(text)


def measure_speed() -> dict[str, Any]:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    matcher = leakage.EvalSetMatcher(eval_set_of_100())
    sample = messages()
    for text, declared in sample[:20]:
        pipeline(matcher, text, declared)
    started = time.perf_counter()
    for text, declared in sample:
        pipeline(matcher, text, declared)
    elapsed = time.perf_counter() - started
    per_signal: dict[str, float] = {}
    scorer = toxicity.scorer_for("en")
    assert scorer is not None
    steps: dict[str, Callable[[str, str], object]] = {
        "language": lambda text, declared: language.detect(text),
        "toxicity": lambda text, declared: scorer.score(text),
        "pii": lambda text, declared: pii.find_pii(text, lang=declared),
        "minhash": lambda text, declared: duplicates.minhash_signature(text),
        "leakage": lambda text, declared: matcher.best(text),
    }
    for name, step in steps.items():
        started_step = time.perf_counter()
        for text, declared in sample:
            step(text, declared)
        per_signal[name] = (time.perf_counter() - started_step) / len(sample) * 1000
    big = ("My e-mail is someone@example.com and the server is 10.0.0.1. " * 1700)[:100_000]
    big_times: dict[str, float] = {}
    for name, step in steps.items():
        started_step = time.perf_counter()
        step(big, "en")
        big_times[name] = time.perf_counter() - started_step
    return {
        "messages": len(sample),
        "mean_chars": sum(len(text) for text, _ in sample) / len(sample),
        "messages_per_second": len(sample) / elapsed,
        "ms_per_signal": per_signal,
        "seconds_for_100kb": big_times,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


_COLD = """
import time
started = time.perf_counter()
from backend.quality.signals import duplicates, language, leakage, pii, toxicity
imported = time.perf_counter()
language.detect("A first sentence to look at.")
after_language = time.perf_counter()
toxicity.scorer_for("en").score("A first sentence to look at.")
after_toxicity = time.perf_counter()
pii.find_pii("A first sentence to look at, +49 30 12345678.", lang="de")
after_pii = time.perf_counter()
duplicates.minhash_signature("A first sentence to look at.")
leakage.EvalSetMatcher(["A first sentence to look at."]).best("A first sentence to look at.")
done = time.perf_counter()
print(imported - started, after_language - imported, after_toxicity - after_language,
      after_pii - after_toxicity, done - after_pii)
"""


def measure_cold_start() -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", _COLD], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    names = ("import", "language_first_call", "toxicity_first_call", "pii_first_call", "rest")
    return dict(zip(names, (float(value) for value in output), strict=True))


# --- comparisons ----------------------------------------------------------------------


def compare_language_detectors(rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    results = []
    figures = evaluate_language(rows)
    started = time.perf_counter()
    for row in rows:
        language.detect(row["text"])
    figures["ms_per_text"] = (time.perf_counter() - started) / len(rows) * 1000
    results.append(("py3langid (chosen)", figures))
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        return results
    languages = [
        lang for lang in Language.all() if lang.iso_code_639_1.name.lower() in language.SUPPORTED
    ]
    for label, builder in (
        ("lingua high accuracy", LanguageDetectorBuilder.from_languages(*languages)),
        (
            "lingua low accuracy",
            LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode(),
        ),
    ):
        detector = builder.build()

        def detect(text: str, detector: Any = detector) -> str | None:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else None

        detect("warm up")
        started = time.perf_counter()
        figures = evaluate_language(rows, detect)
        figures["ms_per_text"] = (time.perf_counter() - started) / len(rows) * 1000
        results.append((label, figures))
    return results


def compare_shingles(rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    choices = [("char", 3), ("char", 4), ("char", 5), ("char", 7)]
    choices += [("word", 1), ("word", 2), ("word", 3)]
    return [
        (f"{kind} {size}-grams", evaluate_duplicates(rows, _shingle_signature(kind, size)))
        for kind, size in choices
    ]


# --- output ---------------------------------------------------------------------------


def _pct(value: float) -> str:
    """A percentage rounded down to 0.1, so a reported figure is a floor the tests can use."""
    return f"{math.floor(value * 1000 + 1e-9) / 10:.1f} %"


def _pct_up(value: float) -> str:
    """A rate of wrong answers rounded up to 0.1: a ceiling."""
    return f"{math.ceil(value * 1000 - 1e-9) / 10:.1f} %"


def table(headers: list[str], rows: Iterable[Iterable[object]]) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + " --- |" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def print_report(figures: dict[str, Any]) -> None:
    lang = figures["language"]
    print("### Language (py3langid)\n")
    labels = {"ge20": "≥ 20", "lt20": "< 20", "ge40": "≥ 40", "lt40": "< 40"}
    table(
        ["texts", "accuracy"],
        (
            [f"{label} chars ({lang['n_' + key]})", _pct(lang["accuracy_" + key])]
            for key, label in labels.items()
        ),
    )
    print(
        f"\n{lang['languages']} languages. is_mismatch on texts ≥ 20 chars fires wrongly on "
        f"{_pct_up(lang['mismatch_false_alarm_ge20'])} (declared = true language) and catches "
        f"{_pct(lang['mismatch_recall_ge20'])} of wrong declarations."
    )
    found = figures["pii"]
    print(f"\n### PII ({found['texts']} texts, {found['near_misses']} of them without PII)\n")
    table(
        ["type", "spans", "precision", "recall", "false positives"],
        (
            [kind, found[kind]["n"], _pct(found[kind]["precision"]), _pct(found[kind]["recall"]),
             found[kind]["false_positives"]]
            for kind in (*pii.MASKS, "all")
        ),
    )  # fmt: skip
    tox = figures["toxicity"]
    print(f"\n### Toxicity (English, alt-profanity-check, score ≥ {TOXIC_THRESHOLD})\n")
    print(
        f"{tox['toxic']} toxic and {tox['benign']} benign texts: "
        f"precision {_pct(tox['precision'])}, recall {_pct(tox['recall'])} "
        f"(with a rude word {_pct(tox['recall_explicit'])}, "
        f"implicit insults {_pct(tox['recall_implicit'])})."
    )
    dup = figures["duplicates"]

    def rounded(kind: str) -> Callable[[float], str]:
        return _pct if kind == "near_copy" else _pct_up

    print(f"\n### Duplicates (MinHash, threshold {duplicates.DEFAULT_THRESHOLD})\n")
    table(
        ["pairs", "flagged (Jaccard estimate)", "flagged (LSH)", "Jaccard range"],
        (
            [f"{kind} ({dup[kind + '_n']})", rounded(kind)(dup[kind + "_rate"]),
             rounded(kind)(dup[kind + "_lsh_rate"]),
             f"{dup[kind + '_min']:.2f}–{dup[kind + '_max']:.2f}"]
            for kind in ("near_copy", "paraphrase", "unrelated")
        ),
    )  # fmt: skip
    leak = figures["leakage"]
    print(f"\n### Leakage (sentence BLEU ≥ {leakage.DEFAULT_THRESHOLD})\n")
    print(
        f"{leak['leaked']} leaked and {leak['not_leaked']} other prompts against 50 "
        f"evaluation prompts: precision {_pct(leak['precision'])}, recall "
        f"{_pct(leak['recall'])} (copied {_pct(leak['correct_copied'])}, edited "
        f"{_pct(leak['correct_edited'])}, embedded {_pct(leak['correct_embedded'])}; "
        f"other prompts left alone {_pct(leak['correct_unrelated'])})."
    )


def print_comparisons() -> None:
    print("\n### Language detectors (same samples, same language set)\n")
    table(
        ["detector", "< 20 chars", "≥ 20 chars", "< 40 chars", "≥ 40 chars", "ms per text"],
        (
            [label, _pct(row["accuracy_lt20"]), _pct(row["accuracy_ge20"]),
             _pct(row["accuracy_lt40"]), _pct(row["accuracy_ge40"]), f"{row['ms_per_text']:.2f}"]
            for label, row in compare_language_detectors(load("languages.jsonl"))
        ),
    )  # fmt: skip
    print(f"\n### MinHash shingles (threshold {duplicates.DEFAULT_THRESHOLD})\n")
    table(
        ["shingles", "near copies flagged", "paraphrases flagged", "unrelated flagged",
         "lowest near copy", "highest unrelated"],
        (
            [label, _pct(row["near_copy_rate"]), _pct(row["paraphrase_rate"]),
             _pct(row["unrelated_rate"]), f"{row['near_copy_min']:.2f}",
             f"{row['unrelated_max']:.2f}"]
            for label, row in compare_shingles(load("duplicates.jsonl"))
        ),
    )  # fmt: skip


def print_speed() -> None:
    speed = measure_speed()
    cold = measure_cold_start()
    print("\n### Speed (one core)\n")
    print(
        f"{speed['messages']} messages (mean {speed['mean_chars']:.0f} chars): "
        f"{speed['messages_per_second']:.0f} messages/s through the whole pipeline; "
        f"peak RSS {speed['max_rss_mb']:.0f} MB.\n"
    )
    table(
        ["signal", "ms per message", "s for a 100 KB text"],
        (
            [name, f"{value:.2f}", f"{speed['seconds_for_100kb'][name]:.2f}"]
            for name, value in speed["ms_per_signal"].items()
        ),
    )
    print("\nCold start: " + ", ".join(f"{name} {value:.2f} s" for name, value in cold.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--no-speed", action="store_true", help="accuracy only")
    parser.add_argument("--compare", action="store_true", help="detector and shingle choices")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    args = parser.parse_args()
    figures = evaluate()
    print_report(figures)
    if args.errors:
        for name in ("pii", "toxicity", "leakage"):
            print(f"\n{name} errors:", *figures[name]["errors"], sep="\n  ")
        print("\nlanguage errors (≥ 20 chars):", *figures["language"]["wrong_ge20"], sep="\n  ")
    if args.compare:
        print_comparisons()
    if not args.no_speed:
        print_speed()


if __name__ == "__main__":
    main()
